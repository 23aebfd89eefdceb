"""End to end on a simulated router: `codex-lite exec` -> real LiteLLM proxy -> scripted model, with
PATH reduced to a folder of BusyBox applets (Debian's busybox-static) and a 128 MB address-space cap
(`prlimit --as=134217728`). Python itself is started by absolute path, as on a device where the
launcher knows where python3 lives; every command the model sends must find its tools through PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import cli_env
from support.git import make_git_repo
from scripted_server import completion

from codex_lite.tools.search_rails import HEAVY_DIRS

pytestmark = pytest.mark.e2e

BUSYBOX = shutil.which("busybox")
PRLIMIT = shutil.which("prlimit")
CAP = "--as=134217728"  # 128 MB, a router's whole RAM

if BUSYBOX is None:
    pytest.skip("apt-get install busybox-static", allow_module_level=True)


@pytest.fixture(scope="module")
def bbpath(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("busybox-bin")
    for applet in subprocess.run([BUSYBOX, "--list"], check=False, capture_output=True, text=True).stdout.split():
        os.symlink(BUSYBOX, folder / applet)
    return str(folder)


@pytest.fixture
def router_repo(tmp_path) -> Path:
    """A git checkout with a TODO in src/ and decoys in every heavy folder."""
    repo = make_git_repo(tmp_path / "repo", {"src/todo.py": "def f():\n    pass  # TODO: implement\n",
                                             "README.md": "# router project\n"})
    for heavy in HEAVY_DIRS:
        target = repo / heavy / "decoy"
        target.mkdir(parents=True, exist_ok=True)
        (target / "x.txt").write_text("TODO: decoy, must never be found\n")
    return repo


def _run(args, *, cwd, env, timeout=120.0):
    """Like conftest.run_codex, but under prlimit so the whole agent lives in 128 MB."""
    cmd = [PRLIMIT, CAP, "--", sys.executable, "-m", "codex_lite", *args] if PRLIMIT else \
        [sys.executable, "-m", "codex_lite", *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    events = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    return proc.returncode, events, out + err


def _router_env(litellm_proxy, codex_home, bbpath) -> dict:
    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, codex_home, {"PATH": bbpath})
    env.pop("SHELL", None)
    return env


def _results(model) -> dict:
    """tool_call_id -> parsed tool result, from the request after the tool calls."""
    second = model.chat_requests()[1]
    return {m["tool_call_id"]: json.loads(m["content"]) for m in second["messages"] if m.get("role") == "tool"}


def _no_heavy(text: str) -> None:
    assert "must never be found" not in text, text
    for heavy in HEAVY_DIRS:
        assert f"/{heavy}/" not in text and f"{heavy}/decoy" not in text, (heavy, text)


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) missing")
def test_exec_on_a_busybox_router(model, litellm_proxy, codex_home, bbpath, router_repo):
    model.set_script([
        completion(tool_calls=[
            ("shell", {"command": ["bash", "-lc", "grep -rn TODO ."]}, "c_grep"),
            ("shell", {"command": ["bash", "-lc", "find . -type f"]}, "c_find"),
            ("shell", {"command": ["bash", "-lc", "arr=(a b); echo ${arr[1]}"]}, "c_bashism"),
            ("shell", {"command": ["bash", "-lc", "grep -rn \"TODO: implement\" src | head -1"]}, "c_quote"),
            ("shell", {"command": ["grep", "-rln", "no such text", "."]}, "c_nomatch"),
        ]),
        completion("Found the TODO in src/todo.py."),
    ])
    rc, events, output = _run(["exec", "--json", "-m", "scripted", "-c", "retry.wait_seconds=0",
                               "find the TODOs"], cwd=router_repo,
                              env=_router_env(litellm_proxy, codex_home, bbpath))
    assert rc == 0, output
    assert "Traceback (most recent call last)" not in output, output
    assert events[-1]["type"] == "turn.completed", output

    results = _results(model)
    grep = results["c_grep"]
    assert grep["metadata"]["exit_code"] == 0, grep
    assert "./src/todo.py:2:    pass  # TODO: implement" in grep["output"]
    assert "ash" in grep["output"] and "bash is not installed" in grep["output"]  # told which shell ran
    _no_heavy(grep["output"])

    find = results["c_find"]
    assert find["metadata"]["exit_code"] == 0 and "./src/todo.py" in find["output"], find
    _no_heavy(find["output"])

    bashism = results["c_bashism"]
    assert bashism["metadata"]["exit_code"] != 127, bashism
    assert "bash is not installed" in bashism["output"] and "POSIX sh" in bashism["output"]

    quoted = results["c_quote"]
    assert quoted["metadata"]["exit_code"] == 0 and "src/todo.py:2:" in quoted["output"], quoted

    nomatch = results["c_nomatch"]
    assert nomatch["metadata"]["exit_code"] == 1, nomatch

    first = model.chat_requests()[0]
    system = json.dumps(first["messages"])
    assert "bash is not installed" in system and "BusyBox" in system  # the environment context
    assert "rg: no" in system


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) missing")
def test_exec_agent_fits_in_128_mb(model, litellm_proxy, codex_home, bbpath, tmp_path):
    repo = make_git_repo(tmp_path / "small", {"a.txt": "hello\n"})
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["bash", "-lc", "cat a.txt && free -m | head -2"]}, "c")]),
        completion("ok"),
    ])
    rc, events, output = _run(["exec", "--json", "-m", "scripted", "-c", "retry.wait_seconds=0", "hi"],
                              cwd=repo, env=_router_env(litellm_proxy, codex_home, bbpath))
    assert rc == 0 and events[-1]["type"] == "turn.completed", output
    assert "hello" in _results(model)["c"]["output"]
