"""Telemetry in process, on real files and folders: settings, the ring buffer, the byte cap,
pruning and rotation, usage lines and the summary, retry episodes from the real agent, privacy,
and failure (a deleted folder, a broken event) turning telemetry off with one warning."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from scripted_server import ScriptedServer, completion, error, make_usage, rate_limited

from codex_lite import events as ev
from codex_lite import stats, telemetry
from codex_lite.agent import Agent
from codex_lite.client import Client
from codex_lite.config import Provider
from codex_lite.retry import TurnPolicy
from codex_lite.tools.shell import ShellSettings
from codex_lite.tools.toolbox import ToolBox

SECRET = "sk-test-SECRET-0123456789abcdef"


def make_config(home: Path, **table) -> SimpleNamespace:
    """The two attributes telemetry reads from a Config, plus a provider carrying the key."""
    provider = SimpleNamespace(api_key=SECRET, http_headers={"X-Team-Token": "team-header-value-42"})
    return SimpleNamespace(codex_home=str(home), telemetry=table, provider=provider, model="m1")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(telemetry.ENV_VAR, raising=False)
    return tmp_path / "home"


@pytest.fixture
def started():
    """start(...) that always closes what it opened, so no hook leaks into the next test."""
    opened = []

    def start(config, session_id="s1", enabled=None):
        tele = telemetry.start(config, session_id, enabled)
        if tele is not None:
            opened.append(tele)
        return tele

    yield start
    for tele in opened:
        tele.close()


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def all_text(path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(path.rglob("*")) if p.is_file())


def play_turn(tele, prompt="what is in the box", answer="a cat", tokens=(100, 20, 30, 10)):
    """A realistic turn: one tool call between two model requests."""
    inp, cached, out, reasoning = tokens
    usage = ev.Usage(input_tokens=inp, cached_input_tokens=cached, output_tokens=out,
                     reasoning_tokens=reasoning, latency_seconds=0.25)
    tele(ev.TurnStarted(prompt=prompt))
    tele(ev.HistoryAppend(message={"role": "user", "content": prompt}))
    tele(usage)
    tele(ev.Reasoning(text="I should look in the box"))
    tele(ev.ToolCall(call_id="c1", name="shell", arguments={"command": ["cat", "box.txt"]}))
    tele(ev.CommandStarted(call_id="c1", command="cat box.txt", cwd="/work"))
    tele(ev.ToolResult(call_id="c1", name="shell", output="meow", ok=True,
                       metadata={"exit_code": 0, "duration_seconds": 0.1, "command": "cat box.txt"}))
    tele(usage)
    tele(ev.AgentMessage(text=answer, final=True))
    tele(ev.TurnCompleted(input_tokens=2 * inp, cached_input_tokens=2 * cached, output_tokens=2 * out,
                          reasoning_tokens=2 * reasoning))


def usage_lines(*paths: Path) -> list[dict]:
    """The usage lines of these files, without each file's marker line."""
    lines = [json.loads(x) for path in paths for x in path.read_text().splitlines()]
    return [line for line in lines if line.get("type") != "file.header"]


def trace_records(logs: Path) -> list[dict]:
    out = []
    for path in sorted(logs.glob("debug-*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


# --------------------------------------------------------------------------- settings


def test_defaults_and_dir_relative_to_codex_home(home):
    table = telemetry.settings(make_config(home), env={})
    assert table["enabled"] is True and table["log_prompts"] is False
    assert table["max_total_bytes"] == 2 * 1024 * 1024 and table["ring_buffer_bytes"] == 64 * 1024
    assert table["dir"] == str(home / "logs")
    assert telemetry.settings(make_config(home, dir="/var/tmp/x"), env={})["dir"] == "/var/tmp/x"


@pytest.mark.parametrize("config_on,env,flag,expected", [
    (True, None, None, True), (False, None, None, False),
    (True, "0", None, False), (False, "1", None, True), (True, "false", None, False),
    (False, "TRUE", None, True), (False, "1", False, False), (True, "0", True, True),
    (True, "maybe", None, True),
])
def test_precedence_config_env_flag(home, config_on, env, flag, expected, capsys):
    envs = {} if env is None else {telemetry.ENV_VAR: env}
    table = telemetry.settings(make_config(home, enabled=config_on), flag, env=envs)
    assert table["enabled"] is expected
    if env == "maybe":
        assert "CODEX_LITE_TELEMETRY" in capsys.readouterr().err


def test_off_means_no_listener_and_no_folder(home, started, monkeypatch):
    assert started(make_config(home), enabled=False) is None
    monkeypatch.setenv(telemetry.ENV_VAR, "0")
    assert started(make_config(home)) is None
    assert not (home / "logs").exists()


def test_sizes_are_clamped_to_workable_minimums(home):
    table = telemetry.settings(make_config(home, max_total_bytes=10, ring_buffer_bytes=1), env={})
    assert table["max_total_bytes"] == telemetry.MIN_TOTAL_BYTES
    assert table["ring_buffer_bytes"] == telemetry.MIN_RING_BYTES


# --------------------------------------------------------------------------- ring buffer


def test_ring_drops_oldest_first_and_counts():
    ring = telemetry.Ring(4096)
    for i in range(1000):
        ring.add(json.dumps({"i": i, "pad": "x" * 20}))
    assert ring.bytes <= 4096
    kept = [json.loads(line)["i"] for line in ring.lines]
    assert kept == list(range(1000 - len(kept), 1000))  # the newest, in order
    assert ring.dropped == 1000 - len(kept) > 0
    lines, dropped = ring.drain()
    assert len(lines) == len(kept) and dropped == 1000 - len(kept)
    assert ring.bytes == 0 and ring.dropped == 0 and not ring.lines


def test_ring_replaces_an_event_larger_than_itself():
    ring = telemetry.Ring(4096)
    ring.add("y" * 10000)
    assert json.loads(ring.lines[0]) == {"event": "oversized", "bytes": 10000}


def test_flood_of_100000_events_bounded_memory_and_disk(home, started):
    """Memory stays within the ring cap plus a small constant; the folder never exceeds its cap."""
    cap, ring_cap = 64 * 1024, 16 * 1024
    tele = started(make_config(home, max_total_bytes=cap, ring_buffer_bytes=ring_cap, log_prompts=True))
    logs = home / "logs"
    events = [ev.ToolResult(call_id=f"c{i}", name="shell", output="o" * (i % 300), ok=True,
                            metadata={"exit_code": 0}) for i in range(100)]
    for n in range(5000):  # warm up: files open, caches and the interpreter's free lists filled
        tele(events[n % 100])
    play_turn(tele)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    peak_ring = 0
    for n in range(100_000):  # memory: nothing else allocates while traced
        tele(events[n % 100])
        peak_ring = max(peak_ring, tele.ring.bytes)
        if n % 5000 == 4999:
            play_turn(tele)  # a turn end writes the ring out
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak_ring <= ring_cap
    assert peak - base <= ring_cap + 48 * 1024, f"grew {peak - base} bytes for a {ring_cap} ring"
    for n in range(100_000):  # disk: checked after every turn end
        tele(events[n % 100])
        if n % 5000 == 4999:
            play_turn(tele)
            assert folder_bytes(logs) <= cap
    status = tele.status()
    assert status["enabled"] and status["dropped"] > 180_000
    tele.close()
    assert folder_bytes(logs) <= cap
    records = trace_records(logs)
    assert any(r["event"] == "dropped" for r in records)
    assert records[-1]["event"] == "run.end"


# --------------------------------------------------------------------------- files and the cap


def test_usage_lines_and_summary_across_sessions(home, started):
    config = make_config(home)
    tele = started(config, "sess-a")
    play_turn(tele)
    play_turn(tele)
    tele(ev.TurnStarted(prompt="x"))
    tele(ev.TurnFailed(message="the model gave no final answer"))
    live = telemetry.summary(config)
    assert live["enabled"] and live["session_id"] == "sess-a"
    assert live["session"]["turns"] == 3 and live["session"]["failed_turns"] == 1
    tele.close()
    tele2 = started(config, "sess-b")
    play_turn(tele2, tokens=(1, 0, 2, 0))
    tele2.close()

    logs = home / "logs"
    lines = usage_lines(logs / "usage-sess-a.jsonl")
    assert [x["status"] for x in lines] == ["completed", "completed", "failed"]
    first = lines[0]
    assert first["type"] == "turn" and first["model"] == "m1" and first["turn"] == 1
    assert (first["input_tokens"], first["cached_input_tokens"], first["output_tokens"],
            first["reasoning_tokens"]) == (200, 40, 60, 20)
    assert first["requests"] == 2 and first["tool_calls"] == 1 and first["latency_seconds"] == 0.5
    assert first["retries"] == [] and "duration_seconds" in first
    assert len(list(logs.glob("debug-*.jsonl"))) >= 1

    total = telemetry.summary(str(home))
    assert total["session"] is None and total["recorded"]
    assert total["all_time"]["turns"] == 4 and total["all_time"]["input_tokens"] == 402
    assert total["all_time"]["failed_turns"] == 1


@contextmanager
def held_by_another_run(path: Path):
    """Another running codex-lite holding `path` (its shared flock), for the length of the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import fcntl, os, sys, time\n"
                                f"fd = os.open({str(path)!r}, os.O_WRONLY | os.O_APPEND)\n"
                                "fcntl.flock(fd, fcntl.LOCK_SH)\nprint('held', flush=True)\ntime.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_startup_prunes_oldest_files_no_process_holds(home, started, tmp_path):
    logs = home / "logs"
    logs.mkdir(parents=True)
    cap = 64 * 1024
    (logs / telemetry.SUMMARY_NAME).write_text(json.dumps({"turns": 7}))
    names = ["debug-20200101T000000Z-1.jsonl", "usage-old.jsonl", "debug-20200102T000000Z-2.jsonl",
             "usage-held.jsonl", "debug-20200103T000000Z-3.jsonl"]
    for age, name in enumerate(names):  # files of earlier runs: our names, our marker
        path = logs / name
        path.write_bytes(telemetry.MARKER + b"}\n" + b"x" * 20000)
        os.utime(path, (1_600_000_000 + age, 1_600_000_000 + age))
    with held_by_another_run(logs / "usage-held.jsonl"):
        tele = started(make_config(home, max_total_bytes=cap))
        left = sorted(p.name for p in logs.iterdir())
    assert folder_bytes(logs) <= cap
    assert "usage-held.jsonl" in left and telemetry.SUMMARY_NAME in left
    assert "debug-20200101T000000Z-1.jsonl" not in left and "usage-old.jsonl" not in left
    assert "debug-20200103T000000Z-3.jsonl" in left  # newest kept once the rest fit
    assert tele.status()["enabled"]


def test_trace_rotates_and_the_run_stays_under_the_cap(home, started):
    cap = 32 * 1024
    tele = started(make_config(home, max_total_bytes=cap, ring_buffer_bytes=8 * 1024, log_prompts=True))
    logs = home / "logs"
    for i in range(200):
        play_turn(tele, prompt=f"prompt {i} " + "p" * 500, answer="a" * 500)
        assert folder_bytes(logs) <= cap
    assert tele.trace_part >= 3  # rotated at least twice
    tele.close()
    assert folder_bytes(logs) <= cap
    last = trace_records(logs)
    assert last[-1]["event"] == "run.end"  # the newest events survive rotation and pruning
    usage = usage_lines(*logs.glob("usage-s1*.jsonl"))
    assert len(usage) < 200 and max(u["turn"] for u in usage) == 200  # old lines pruned, newest kept
    assert telemetry.summary(str(home))["all_time"]["turns"] == 200  # the summary saw every turn


def test_foreign_files_neither_count_nor_get_pruned(home, started, capsys):
    """A shared folder: others' files (even named like ours, without our marker) are left alone
    and do not count against max_total_bytes."""
    logs = home / "logs"
    logs.mkdir(parents=True)
    foreign = {"someone-elses.bin": b"z" * 20000, "debug-20200101T000000Z-1.jsonl": b"{}\n" * 5000}
    for name, data in foreign.items():
        (logs / name).write_bytes(data)
        os.utime(logs / name, (1_000_000_000, 1_000_000_000))
    cap = 16 * 1024
    tele = started(make_config(home, max_total_bytes=cap))
    for _ in range(30):
        play_turn(tele)
    tele.close()
    assert "nothing will be written" not in capsys.readouterr().err
    for name, data in foreign.items():
        assert (logs / name).read_bytes() == data
    assert folder_bytes(logs) - sum(map(len, foreign.values())) <= cap
    assert tele.status()["enabled"] and trace_records(logs)


def test_logs_held_by_running_sessions_over_the_cap_stop_writing_not_the_agent(home, started, capsys):
    logs = home / "logs"
    logs.mkdir(parents=True)
    held = logs / "debug-20200101T000000Z-1.jsonl"
    held.write_bytes(telemetry.MARKER + b"}\n" + b"z" * 20000)
    with held_by_another_run(held):
        tele = started(make_config(home, max_total_bytes=16 * 1024))
        assert "nothing will be written" in capsys.readouterr().err
        play_turn(tele)
        tele.close()
    assert held.exists() and tele.status()["skipped_writes"] >= 1


def test_debug_trace_off_writes_usage_only(home, started):
    tele = started(make_config(home, debug_trace=False))
    play_turn(tele)
    tele.close()
    logs = home / "logs"
    assert not list(logs.glob("debug-*")) and (logs / "usage-s1.jsonl").exists()


def test_session_usage_off_writes_trace_only(home, started):
    tele = started(make_config(home, session_usage=False))
    for _ in range(50):
        play_turn(tele)
    assert not tele.pending_usage  # nothing piles up in memory either
    tele.close()
    logs = home / "logs"
    assert list(logs.glob("debug-*")) and not list(logs.glob("usage-*"))


# --------------------------------------------------------------------------- privacy


def test_no_prompts_or_outputs_without_log_prompts(home, started, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "env-token-value-777")
    tele = started(make_config(home))
    play_turn(tele, prompt="PRIVATE-PROMPT " + SECRET, answer="PRIVATE-ANSWER")
    tele(ev.ToolCall(call_id="c9", name="shell", arguments={"api_key": SECRET, "command": ["PRIVATE-CMD"]}))
    tele(ev.FileChange(call_id="c9", changes=[{"path": "PRIVATE-PATH.py", "kind": "add"}], diff="PRIVATE-DIFF"))
    tele(ev.Error(message=f"proxy said Authorization: Bearer {SECRET} env-token-value-777"))
    tele.close()
    text = all_text(home / "logs")
    for private in ("PRIVATE-PROMPT", "PRIVATE-ANSWER", "PRIVATE-CMD", "PRIVATE-PATH", "PRIVATE-DIFF", "meow",
                    "look in the box", SECRET, "env-token-value-777", "team-header-value-42"):
        assert private not in text, private
    records = trace_records(home / "logs")
    assert any(r["event"] == "turn_started" and r["prompt_size"] > 0 for r in records)
    tool = next(r for r in records if r["event"] == "tool_result")
    assert tool["metadata"] == {"exit_code": 0, "duration_seconds": 0.1}


def test_log_prompts_keeps_text_but_never_secrets(home, started):
    tele = started(make_config(home, log_prompts=True))
    play_turn(tele, prompt=f"PROMPT-TEXT with {SECRET}", answer="ANSWER-TEXT")
    tele(ev.HistoryAppend(message={"role": "user", "content": "hi", "api_key": "raw-key-value-123",
                                   "headers": {"Authorization": "Bearer abcdefgh12345678"}}))
    tele(ev.ToolCall(call_id="c2", name="shell", arguments={"command": ["curl", "-H",
                                                                        "Authorization: Bearer zyxwvu987654321"]}))
    tele(ev.ToolResult(call_id="c2", name="shell", output="token=team-header-value-42", ok=True))
    tele.close()
    text = all_text(home / "logs")
    assert "PROMPT-TEXT" in text and "ANSWER-TEXT" in text and "meow" in text
    for secret in (SECRET, "raw-key-value-123", "abcdefgh12345678", "zyxwvu987654321", "team-header-value-42"):
        assert secret not in text, secret
    assert telemetry.REDACTED in text


def test_model_selection_events(home, started):
    tele = started(make_config(home))
    tele(ev.ModelSelection(action="selected", model="gpt-oss-20b", reasoning_effort="high", source="/model"))
    play_turn(tele)
    tele.close()
    records = trace_records(home / "logs")
    sel = next(r for r in records if r["event"].startswith("model_selection"))
    assert sel["event"] == "model_selection.selected" and sel["model"] == "gpt-oss-20b"
    assert sel["reasoning_effort"] == "high" and sel["source"] == "/model"
    usage = usage_lines(home / "logs" / "usage-s1.jsonl")
    assert usage[0]["type"] == "model_selection" and usage[1]["model"] == "gpt-oss-20b"


# --------------------------------------------------------------------------- retries, from the real agent


@pytest.fixture(scope="module")
def server():
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


def run_agent(server, tele, tmp_path, script, prompt="go", http_retries=2, attempts=3):
    server.reset()
    server.set_script(list(script))
    bus = ev.Bus(tele)
    client = Client(Provider(id="t", base_url=server.base_url, request_max_retries=http_retries),
                    sleep=lambda s: None)
    tools = ToolBox(cwd=str(tmp_path), emit=bus, shell=ShellSettings())
    agent = Agent(client, tools, "scripted", bus, retry=TurnPolicy(attempts, 7.0), sleep=lambda s: None)
    return agent.run(prompt)


def test_retry_attempts_outcomes_and_stats(home, started, server, tmp_path):
    config = make_config(home)
    tele = started(config)
    usage = make_usage(50, 5)
    # 1: a 503 then success: one request retry, recovered at attempt 2
    assert run_agent(server, tele, tmp_path, [error(503, "busy"), completion("ok", usage=usage)]).ok
    # 2: reasoning only, then an answer: one fallback retry (7 s wait), recovered
    assert run_agent(server, tele, tmp_path, [completion(None, reasoning_content="hmm", usage=usage),
                                              completion("fine", usage=usage)]).ok
    # 3: 429 three times with two retries allowed: request retries exhausted, the turn fails
    assert not run_agent(server, tele, tmp_path, [rate_limited(2)] * 3).ok
    # 4: reasoning only every time: 3 attempts, 2 retries, not recovered
    assert not run_agent(server, tele, tmp_path,
                         [completion(None, reasoning_content="hmm", usage=usage)] * 3).ok
    tele.close()

    lines = usage_lines(home / "logs" / "usage-s1.jsonl")
    retries = [line["retries"] for line in lines]
    assert [(r["scope"], r["outcome"]) for r in retries[0]] == [("request", "recovered")]
    assert "503" in retries[0][0]["reason"]
    assert [(r["scope"], r["outcome"], r["wait_seconds"]) for r in retries[1]] == [("turn", "recovered", 7.0)]
    assert [(r["scope"], r["outcome"]) for r in retries[2]] == [("request", "retried"), ("request", "failed")]
    assert [r["wait_seconds"] for r in retries[2]] == [2.0, 2.0]
    assert [(r["scope"], r["outcome"]) for r in retries[3]] == [("turn", "retried"), ("turn", "failed")]

    total = telemetry.summary(config)["all_time"]
    assert total["retry_attempts"] == 6 and total["retry_episodes"] == 4
    assert total["recoveries"] == 2 and total["retry_failures"] == 2 and total["recovery_rate"] == 0.5
    assert total["wait_seconds"] == pytest.approx(0 + 7.0 + 4.0 + 14.0, abs=2.0)  # the 503 backoff is jittered
    assert total["recovered_at_attempt"] == {"2": 2}
    assert total["by_reason"]["http 429"]["attempts"] == 2
    assert total["by_scope"]["turn"] == {"attempts": 3, "episodes": 2, "recoveries": 1,
                                         "wait_seconds": 21.0}

    text = stats.render(telemetry.summary(config))
    assert "attempts         6" in text and "recoveries       2 of 4" in text
    assert "recovery rate    50%" in text and "time waiting" in text and "http 429" in text


def test_interrupted_wait_counts_as_interrupted(home, started):
    tele = started(make_config(home))
    tele(ev.TurnStarted(prompt="x"))
    tele(ev.HistoryAppend(message={"role": "user", "content": "x"}))
    tele(ev.Retry(attempt=1, max_attempts=3, wait_seconds=30, reason="reasoning only"))
    tele.close()  # Ctrl-C during the wait: no further event
    total = telemetry.summary(str(home))["all_time"]
    assert total["retry_attempts"] == 1 and total["retry_interrupted"] == 1
    assert total["recovery_rate"] is None


# --------------------------------------------------------------------------- failure


def test_deleted_folder_turns_telemetry_off_with_one_warning(home, started, capfd):
    import shutil

    tele = started(make_config(home))
    play_turn(tele)
    shutil.rmtree(home / "logs")
    play_turn(tele)
    play_turn(tele)
    tele.close()
    err = capfd.readouterr().err
    assert err.count("telemetry is off for this run") == 1, err
    assert "deleted" in err
    assert not tele.status()["enabled"] and not (home / "logs").exists()


def test_a_broken_event_never_raises(home, started, capfd):
    class Weird:
        @property
        def kind(self):
            raise RuntimeError("a broken event")

    tele = started(make_config(home))
    tele(Weird())  # must not raise
    play_turn(tele)  # and is a no-op from now on
    assert capfd.readouterr().err.count("telemetry is off") == 1


def test_close_during_an_exception_records_it(home, started):
    tele = started(make_config(home, debug_trace=False))
    play_turn(tele)
    try:
        raise ValueError("boom in the agent")
    except ValueError:
        tele.close()
    records = trace_records(home / "logs")  # written although debug_trace is off: it is a crash
    crash = next(r for r in records if r["event"] == "exception")
    assert crash["type"] == "ValueError" and "boom in the agent" in crash["traceback"]
    assert any(r["event"] == "turn_completed" for r in records)


def test_hooks_are_restored_after_close(home, started):
    import signal

    before_hook = sys.excepthook
    before_term = signal.getsignal(signal.SIGTERM)
    tele = started(make_config(home))
    assert sys.excepthook is not before_hook
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C untouched
    tele.close()
    assert sys.excepthook is before_hook and signal.getsignal(signal.SIGTERM) == before_term


def test_summary_without_any_data(home):
    data = telemetry.summary(str(home))
    assert data["recorded"] is False and data["all_time"]["turns"] == 0 and data["recovery_rate"] is None


def test_per_event_cost_is_small(home, started):
    """A loose guard against an accidental O(n) per event (the ring must stay O(1))."""
    tele = started(make_config(home, ring_buffer_bytes=8 * 1024))
    event = ev.Usage(input_tokens=1, latency_seconds=0.1)

    def run(n):
        t0 = time.perf_counter()
        for _ in range(n):
            tele(event)
        return time.perf_counter() - t0

    run(1000)
    small, big = run(5000), run(50000)
    assert big / small < 25, (small, big)


def test_envelope_repairs_are_counted_per_class_and_shown_by_stats(home, started):
    config = make_config(home)
    tele = started(config)
    tele(ev.TurnStarted(prompt="p"))
    tele(ev.EnvelopeRepair(recovered={"bare_json": 2, "harmony": 1}, nudged={"recipient_only": 1},
                           scrubbed={"residue": 3}))
    tele(ev.EnvelopeRepair(recovered={"bare_json": 1}, nudged={}, scrubbed={"glued_channel": 1}))
    tele(ev.TurnCompleted())
    total = telemetry.summary(config)["all_time"]["envelope"]
    assert total == {"recovered": {"bare_json": 3, "harmony": 1}, "nudged": {"recipient_only": 1},
                     "scrubbed": {"residue": 3, "glued_channel": 1}}
    tele.close()
    saved = telemetry.summary(config)["all_time"]["envelope"]  # written to the summary file
    assert saved == total
    line = json.loads((home / "logs" / "usage-s1.jsonl").read_text().splitlines()[-1])
    assert line["envelope"]["recovered"] == {"bare_json": 3, "harmony": 1}
    text = stats.render(telemetry.summary(config))
    assert "tool calls sent as text" in text
    assert "recovered        4 (bare_json 3, harmony 1)" in text
    assert "nudged           1 (recipient_only 1)" in text
    assert "scrubbed         4 (residue 3, glued_channel 1)" in text
    records = trace_records(home / "logs")
    assert any(r["event"] == "envelope_repair" and r["recovered"] == {"bare_json": 1} for r in records)
