"""Telemetry in a real child process: crash, SIGTERM/SIGHUP (chained to earlier handlers), Ctrl-C left
alone, a really full file system (a 64 KiB tmpfs: ENOSPC) and a read-only one (a read-only tmpfs).

The small file systems are mounted inside `unshare -rm` (a private mount namespace, as root or as an
unprivileged user), so nothing is left mounted and no test needs to be skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, signal, sys, time
from types import SimpleNamespace
from codex_lite import events as ev, telemetry

home, table, action = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
for name in ("SIGTERM", "SIGHUP"):  # a suite started under nohup ignores SIGHUP: start from the default
    signal.signal(getattr(signal, name), signal.SIG_DFL)
if action == "chained":
    def own(signum, frame):
        print("own handler", signum, flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, own)
config = SimpleNamespace(codex_home=home, telemetry=table, provider=None, model=None)
tele = telemetry.start(config, "child")
print("started", tele is not None, flush=True)
bus = ev.Bus(tele) if tele is not None else ev.Bus()

def turn(i, size=200):
    bus(ev.TurnStarted(prompt="p" * size))
    bus(ev.Usage(input_tokens=10, output_tokens=2, latency_seconds=0.1))
    bus(ev.AgentMessage(text="a" * size, final=True))
    bus(ev.TurnCompleted(input_tokens=10, output_tokens=2))

turn(0)
bus(ev.TurnStarted(prompt="the last turn"))
bus(ev.ToolCall(call_id="last-call", name="shell", arguments={"command": ["ls"]}))
if action == "crash":
    raise RuntimeError("kaboom in the agent")
if action in ("term", "chained", "int"):
    print("ready", flush=True)
    try:
        time.sleep(30)
    except KeyboardInterrupt:
        print("interrupted as usual", flush=True)
        if tele is not None:
            tele.close()
        sys.exit(0)
if action == "fill":
    session = open(sys.argv[4], "w")  # the agent's own file, elsewhere: it must lose nothing
    for i in range(400):
        turn(i, size=3000)
        session.write(f"turn {i}\n")
    session.close()
    print("carried on", tele.status()["enabled"] if tele else None, flush=True)
if tele is not None:
    tele.close()
print("done", flush=True)
"""


def spawn(home: Path, table: dict, action: str, *extra: str, mount: str | None = None,
          mount_at: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", CHILD, str(home), json.dumps(table), action, *extra]
    if mount:
        cmd = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"',
               "sh", mount, str(mount_at)] + cmd
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CODEX_LITE_TELEMETRY", None)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return proc.returncode, out, err


def wait_ready(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        if line.strip() == "ready":
            return
    raise AssertionError(f"child never got ready: {proc.stderr.read()}")


def records(home: Path) -> list[dict]:
    out = []
    for path in sorted((home / "logs").glob("debug-*.jsonl")):
        out += [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return out


@pytest.mark.parametrize("debug_trace", [True, False], ids=["trace-on", "trace-off"])
def test_crash_writes_the_last_events_and_the_traceback(tmp_path, debug_trace):
    code, _out, err = finish(spawn(tmp_path, {"debug_trace": debug_trace}, "crash"))
    assert code == 1 and "Traceback" in err and "kaboom in the agent" in err  # the usual report still
    recs = records(tmp_path)
    crash = next(r for r in recs if r["event"] == "crash")
    assert crash["type"] == "RuntimeError" and "kaboom" in crash["traceback"]
    assert any(r["event"] == "tool_call" and r["call_id"] == "last-call" for r in recs)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_flushes_then_dies_by_the_signal(tmp_path, signame):
    proc = spawn(tmp_path, {}, "term")
    wait_ready(proc)
    signum = getattr(signal, signame)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == -signum, err  # the default action still happens
    recs = records(tmp_path)
    assert any(r["event"] == "signal" and r["signal"] == signum for r in recs)
    assert any(r["event"] == "tool_call" and r["call_id"] == "last-call" for r in recs)


def test_signal_chains_to_the_previous_handler(tmp_path):
    proc = spawn(tmp_path, {}, "chained")
    wait_ready(proc)
    proc.send_signal(signal.SIGTERM)
    code, out, _ = finish(proc)
    assert code == 3 and "own handler" in out
    assert any(r["event"] == "signal" for r in records(tmp_path))


def test_ctrl_c_is_left_alone(tmp_path):
    proc = spawn(tmp_path, {}, "int")
    wait_ready(proc)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0 and "interrupted as usual" in out, err
    assert records(tmp_path)[-1]["event"] == "run.end"


def test_full_file_system_turns_telemetry_off_once(tmp_path):
    """A 64 KiB tmpfs under a 2 MiB cap: writes really fail with ENOSPC mid-run."""
    logs = tmp_path / "logs"
    logs.mkdir()
    session = tmp_path / "session.txt"
    code, out, err = finish(spawn(tmp_path, {"log_prompts": True}, "fill", str(session),
                                  mount="size=64k", mount_at=logs))
    assert code == 0, err
    assert "carried on False" in out and "done" in out
    assert err.count("telemetry is off for this run") == 1 and "disk is full" in err, err
    assert len(session.read_text().splitlines()) == 400  # the agent's own data is complete
    assert "Traceback" not in err


def test_read_only_codex_home(tmp_path):
    code, out, err = finish(spawn(tmp_path, {}, "plain", mount="ro,size=64k", mount_at=tmp_path))
    assert code == 0 and "started False" in out and "done" in out, err
    assert err.count("telemetry is off for this run") == 1 and "read-only" in err, err


def test_read_only_log_folder(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    code, out, err = finish(spawn(tmp_path, {}, "plain", mount="ro,size=64k", mount_at=logs))
    assert code == 0 and "started False" in out and "done" in out, err
    assert err.count("telemetry is off for this run") == 1 and "read-only" in err, err
