"""End to end: the real `codex-lite exec` -> the real LiteLLM proxy -> the scripted model, with
telemetry on. Every file written under CODEX_HOME is searched for the API key and the Authorization
header; `codex-lite stats` after runs with retries shows attempts and recoveries; a full log folder and
a read-only CODEX_HOME cost the telemetry, never the answer or the session file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from scripted_server import completion, make_usage, rate_limited

pytestmark = pytest.mark.e2e

RUN = ("exec", "--json", "-m", "scripted", "-c", "retry.wait_seconds=0",
       "-c", "model_providers.litellm.request_max_retries=2")
HEADER_SECRET = "hdr-secret-value-5c0ffee5"


def every_file(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_no_credential_in_any_file(model, run_cli, codex_home, proxy_key):
    model.set_script([
        rate_limited(1),
        completion(tool_calls=[("shell", {"command": ["ls"]})], reasoning_content="look first",
                   usage=make_usage(120, 30, cached_tokens=20, reasoning_tokens=12)),
        completion("There are three files.", usage=make_usage(150, 10)),
    ])
    r = run_cli(*RUN, "--telemetry", "-c", "telemetry.log_prompts=true",
                "-c", f'model_providers.litellm.http_headers={{"X-Extra-Auth"="{HEADER_SECRET}"}}',
                "list the files and tell me how many there are")
    assert r.returncode == 0, r.describe()
    files = every_file(codex_home)
    logs = [name for name in files if name.startswith("logs/")]
    assert any("debug-" in n for n in logs) and any("usage-" in n for n in logs), files.keys()
    assert "logs/usage-summary.json" in files
    trace = b"".join(v for k, v in files.items() if "debug-" in k)
    assert b"list the files" in trace  # log_prompts was on: the content is there...
    for name, data in files.items():  # ...but never a credential
        low = data.lower()
        assert proxy_key.encode() not in data, name
        assert HEADER_SECRET.encode() not in data, name
        assert b"authorization" not in low and b"bearer" not in low, name
    usage = [json.loads(x) for k, v in files.items() if k.startswith("logs/usage-") and k.endswith(".jsonl")
             for x in v.decode().splitlines()]
    assert usage[0]["type"] == "file.header" and usage[0]["writer"] == "codex-lite telemetry"
    turn = usage[-1]
    assert turn["status"] == "completed" and turn["requests"] == 2 and turn["tool_calls"] == 1
    assert turn["input_tokens"] == 270 and turn["cached_input_tokens"] == 20 and turn["reasoning_tokens"] == 12
    assert [(a["scope"], a["outcome"]) for a in turn["retries"]] == [("request", "recovered")]


def test_stats_after_runs_with_retries(model, run_cli):
    model.set_script([rate_limited(1), completion("after the rate limit")])
    assert run_cli(*RUN, "one").returncode == 0
    model.set_script([completion(None, reasoning_content="only thinking"), completion("second try")])
    assert run_cli(*RUN, "two").returncode == 0
    model.set_script([completion(None, reasoning_content="still thinking")] * 2)
    assert run_cli(*RUN, "-c", "retry.max_attempts=2", "three").returncode == 1

    r = run_cli("stats", "--json")
    assert r.returncode == 0, r.describe()
    data = json.loads(r.stdout)
    total = data["all_time"]
    assert total["turns"] == 3 and total["failed_turns"] == 1
    assert total["retry_attempts"] == 3 and total["retry_episodes"] == 3
    assert total["recoveries"] == 2 and total["retry_failures"] == 1
    assert data["recovery_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert data["wait_seconds"] > 0  # the 429's wait
    assert set(total["by_scope"]) == {"request", "turn"}

    r = run_cli("stats")
    assert r.returncode == 0, r.describe()
    for text in ("attempts         3", "recoveries       2 of 3", "recovery rate    67%", "time waiting",
                 "http 429", "reasoning only"):
        assert text in r.stdout, r.stdout


def test_no_telemetry_flag_and_env(model, run_cli, codex_home):
    model.set_script([completion("hi")])
    assert run_cli(*RUN, "--no-telemetry", "hello").returncode == 0
    model.set_script([completion("hi")])
    assert run_cli(*RUN, "hello", env={"CODEX_LITE_TELEMETRY": "0"}).returncode == 0
    assert not (codex_home / "logs").exists()
    r = run_cli("stats")
    assert r.returncode == 1 and "no telemetry recorded" in r.stderr
    model.set_script([completion("hi")])
    assert run_cli(*RUN, "--telemetry", "hello", env={"CODEX_LITE_TELEMETRY": "0"}).returncode == 0
    assert (codex_home / "logs" / "usage-summary.json").exists()


MOUNT = 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"'
MOUNT_FULL = ('mount -t tmpfs -o "$1" tmpfs "$2" && { dd if=/dev/zero of="$2/filler" bs=1k 2>/dev/null; '
              'shift 2 && exec "$@"; }')


def unshare_exec(cli_environment, mount: str, mount_at: Path, cwd: Path, *args: str, script: str = MOUNT):
    """`codex-lite ARGS` with a small tmpfs mounted at `mount_at` in a private mount namespace."""
    cmd = ["unshare", "-rm", "sh", "-c", script,
           "sh", mount, str(mount_at), sys.executable, "-m", "codex_lite", *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=cli_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.returncode, out, err


def test_full_log_folder_costs_telemetry_not_the_session(model, cli_environment, codex_home, git_repo):
    logs = codex_home / "logs"
    logs.mkdir()
    model.set_script([completion("the answer")])
    # a 64 KiB file system filled to the last block before codex-lite starts: ENOSPC on the first write
    code, out, err = unshare_exec(cli_environment, "size=64k", logs, git_repo, *RUN, "answer me",
                                  script=MOUNT_FULL)
    assert code == 0, err
    assert err.count("telemetry is off for this run") == 1 and "disk is full" in err, err
    assert "the answer" in out and "Traceback" not in err
    sessions = list((codex_home / "sessions").rglob("*.jsonl"))
    assert len(sessions) == 1 and b"the answer" in sessions[0].read_bytes()


def test_read_only_codex_home(model, cli_environment, codex_home, git_repo):
    model.set_script([completion("still answered")])
    code, out, err = unshare_exec(cli_environment, "ro,size=64k", codex_home, git_repo, *RUN, "hello")
    assert code == 0 and "still answered" in out, err
    assert err.count("telemetry is off for this run") == 1 and "read-only" in err, err
