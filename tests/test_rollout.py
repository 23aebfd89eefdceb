"""Session files: written as events happen, survive kill -9, replay the exact history."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from codex_lite import events as ev
from codex_lite import rollout

REPO = Path(__file__).resolve().parent.parent


def record(home: Path, sid: str, events: list[ev.Event], path: str | None = None) -> str:
    rec = rollout.Recorder.create(str(home), sid, "/work/x", "m1", path=path)
    assert rec is not None
    for e in events:
        rec(e)
    rec.close()
    return rec.path


def test_file_layout_header_and_mode(tmp_path):
    path = record(tmp_path, "abc-123", [ev.TurnStarted(prompt="hi")])
    rel = Path(path).relative_to(tmp_path / "sessions")
    y, m, d, name = rel.parts
    assert len(y) == 4 and len(m) == 2 and len(d) == 2 and name.endswith("-abc-123.jsonl")
    lines = Path(path).read_text().splitlines()
    header = json.loads(lines[0])
    assert header["event"] == "session_meta" and header["session_id"] == "abc-123"
    assert header["cwd"] == "/work/x" and header["model"] == "m1"
    assert json.loads(lines[1]) == {"event": "turn_started", "prompt": "hi", "attempt": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_history_replays_appends_and_rewinds(tmp_path):
    sys_msg = {"role": "system", "content": "rules"}
    path = record(tmp_path, "s1", [
        ev.HistoryAppend(message=sys_msg),
        ev.TurnStarted(prompt="p"),
        ev.HistoryAppend(message={"role": "user", "content": "p"}),
        ev.HistoryAppend(message={"role": "assistant", "content": None}),
        ev.HistoryRewind(length=1),
        ev.Retry(attempt=1, max_attempts=5, wait_seconds=0, reason="reasoning only"),
        ev.HistoryAppend(message={"role": "user", "content": "p"}),
        ev.HistoryAppend(message={"role": "assistant", "content": "answer"}),
        ev.Usage(input_tokens=10, cached_input_tokens=4, output_tokens=3, reasoning_tokens=1),
        ev.AgentMessage(text="answer", final=True),
        ev.TurnCompleted(input_tokens=10),
    ])
    saved = rollout.load(path)
    assert saved.session_id == "s1" and saved.cwd == "/work/x" and saved.model == "m1"
    assert saved.history == [sys_msg, {"role": "user", "content": "p"},
                             {"role": "assistant", "content": "answer"}]
    kinds = [e.kind for e in saved.events]
    assert kinds == ["turn_started", "retry", "agent_message", "turn_completed"]
    assert saved.usage.as_dict() == {"input_tokens": 10, "cached_input_tokens": 4, "output_tokens": 3,
                           "reasoning_tokens": 1}


def test_damaged_last_line_is_skipped_and_resume_appends_cleanly(tmp_path):
    path = record(tmp_path, "s2", [ev.HistoryAppend(message={"role": "user", "content": "a"})])
    with open(path, "a") as f:
        f.write('{"event": "history_append", "message": {"role": "assis')  # kill -9 mid-write
    saved = rollout.load(path)
    assert saved.history == [{"role": "user", "content": "a"}]
    record(tmp_path, "s2", [ev.HistoryAppend(message={"role": "assistant", "content": "b"})], path=path)
    saved = rollout.load(path)
    assert saved.history == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_dangling_calls_get_an_interrupted_result_at_the_resume_point(tmp_path):
    call = {"role": "assistant", "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "shell", "arguments": "{}"}}]}
    path = record(tmp_path, "s3", [ev.HistoryAppend(message={"role": "user", "content": "go"}),
                                   ev.HistoryAppend(message=call)])
    saved = rollout.load(path)
    assert [m["role"] for m in saved.history] == ["user", "assistant", "tool"]
    assert saved.history[2]["tool_call_id"] == "c1"
    # the resumed agent continues from the repaired history; a rewind to its length replays right
    record(tmp_path, "s3", [ev.HistoryAppend(message={"role": "user", "content": "next"}),
                            ev.HistoryRewind(length=3),
                            ev.HistoryAppend(message={"role": "user", "content": "again"})], path=path)
    again = rollout.load(path)
    assert [m.get("content") for m in again.history][-1] == "again"
    assert [m["role"] for m in again.history] == ["user", "assistant", "tool", "user"]


def test_find_session_newest_id_and_prefix(tmp_path):
    old = record(tmp_path, "aaaa-1111", [])
    new = record(tmp_path, "bbbb-2222", [])
    os.utime(old, (1, 1))
    assert rollout.find_session(str(tmp_path)) == new
    assert rollout.find_session(str(tmp_path), "aaaa-1111") == old
    assert rollout.find_session(str(tmp_path), "bbbb") == new
    assert rollout.find_session(str(tmp_path), "zzzz") is None
    assert rollout.find_session(str(tmp_path / "nothing")) is None


def test_kill_9_loses_at_most_the_event_in_flight(tmp_path):
    """A real process writes events and is killed with SIGKILL: every event it finished is there."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from codex_lite import events as ev, rollout
        rec = rollout.Recorder.create({str(tmp_path)!r}, "k9", "/x", "m")
        for i in range(100000):
            rec(ev.HistoryAppend(message={{"role": "user", "content": "x" * 500 + str(i)}}))
            if i == 50:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    path = rollout.find_session(str(tmp_path), "k9")
    saved = rollout.load(path)
    n = len(saved.history)
    assert n > 50
    assert [m["content"][500:] for m in saved.history] == [str(i) for i in range(n)]
