"""`codex-lite exec resume` through the real CLI and a real LiteLLM proxy: the second run continues
the first one's history and appends to the same session file."""

from __future__ import annotations

import json

import pytest
from scripted_server import completion

from codex_lite import rollout

pytestmark = pytest.mark.e2e

BASE = ("exec", "--json", "-m", "scripted", "-c", "retry.wait_seconds=0")


def test_exec_resume_last_and_by_id(model, run_cli, codex_home):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["cat", "notes.txt"]}, "call_1")]),
        completion("notes has two lines"),
        completion("still two lines"),
        completion("third answer"),
    ])
    first = run_cli(*BASE, "how many lines in notes.txt?")
    assert first.returncode == 0, first.describe()
    thread_id = first.events[0]["thread_id"]

    second = run_cli("exec", "resume", "--last", "--json", "-m", "scripted", "and now?")
    assert second.returncode == 0, second.describe()
    assert second.events[0]["thread_id"] == thread_id
    msgs = model.chat_requests()[2]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert msgs[3]["tool_call_id"] == "call_1" and msgs[-1]["content"] == "and now?"

    third = run_cli("exec", "resume", thread_id, "--json", "-m", "scripted", "once more")
    assert third.returncode == 0, third.describe()
    assert len(model.chat_requests()[3]["messages"]) == 8

    [path] = rollout.list_sessions(str(codex_home))
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    assert [r["event"] for r in lines].count("session_resumed") == 2


def test_exec_resume_without_sessions_fails_clearly(model, run_cli):
    r = run_cli("exec", "resume", "--last", "-m", "scripted", "hello")
    assert r.returncode == 1
    assert "cannot resume" in r.stderr and "Traceback" not in r.stderr
    assert model.requests() == []
