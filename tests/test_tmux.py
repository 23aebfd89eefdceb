"""The REPL in a real terminal: tmux runs `codex-lite` against the real LiteLLM proxy in front of
the scripted model; send-keys types, capture-pane reads the screen.

Each test has its own tmux server (a private socket, `tmux -L`), killed at the end together with
every process the pane started, so nothing outlives the test.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from processes import pgroup_alive
from support.cli import CODEX
from support.tmux import WAIT
from scripted_server import completion

pytestmark = pytest.mark.e2e

def test_onboarding_turn_status_interrupt_quit_and_resume(term, model, litellm_proxy, codex_home, git_repo):
    pidfile = git_repo / "long.pid"
    model.set_script([
        completion("OK"),  # onboarding's test request
        completion(tool_calls=[("shell", {"command": ["touch", "from_tmux.txt"]}, "call_touch")]),
        completion("Created from_tmux.txt for you."),
        completion(tool_calls=[("shell", {"command": ["sh", "-c", f"echo $$ > {pidfile}; sleep 300"]},
                                "call_long")]),
        completion("back after the interrupt"),
    ])
    term.start([*CODEX, "-c", "retry.wait_seconds=0"])

    # onboarding: URL (pre-filled default replaced), hidden key, model, effort, test request
    term.wait_for("Welcome to codex-lite")
    term.wait_for("LiteLLM base URL")
    term.keys("C-u")
    term.type(litellm_proxy.url)
    term.wait_for("API key>")
    term.type(litellm_proxy.master_key)
    screen = term.wait_for("on the proxy")
    assert litellm_proxy.master_key not in screen  # hidden input
    term.keys("Enter")  # the default (only) model
    term.wait_for("Reasoning effort:")
    term.type("low")
    term.wait_for("answered in")
    term.wait_for("/help for commands")
    config = (codex_home / "config.toml").read_text()
    assert 'model = "scripted"' in config and 'model_reasoning_effort = "low"' in config

    # one turn with a command approval
    term.type("create from_tmux.txt")
    term.wait_for("Allow this command?")
    term.type("y")
    screen = term.wait_for("Created from_tmux.txt for you.")
    assert (git_repo / "from_tmux.txt").exists()
    assert "exit 0" in screen and "tool_calls" not in screen

    # /status
    term.type("/status")
    screen = term.wait_for("telemetry")
    assert "reasoning  low" in screen and "approvals  on-request" in screen
    assert "MB RSS" in screen

    # Ctrl-C during a long command: back at the prompt, the command's process group is gone
    term.type("run the long thing")
    term.wait_for("Allow this command?")
    term.type("y")
    deadline = time.monotonic() + WAIT
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.1)
    pgid = int(pidfile.read_text())
    assert pgroup_alive(pgid)
    term.keys("C-c")
    term.wait_for("interrupted")
    deadline = time.monotonic() + 10
    while pgroup_alive(pgid):
        assert time.monotonic() < deadline, f"process group {pgid} still alive"
        time.sleep(0.1)
    term.type("are you there?")
    term.wait_for("back after the interrupt")
    last = model.chat_requests()[-1]["messages"]
    assert any(m.get("tool_call_id") == "call_long" for m in last)

    term.type("/quit")
    assert term.wait_dead() == "0"

    # resume --last shows the earlier turn and continues with its history
    model.set_script([completion("resumed answer")])
    term.start([*CODEX, "resume", "--last"])
    screen = term.wait_for("resumed session")
    term.wait_for("Created from_tmux.txt for you.")
    assert "create from_tmux.txt" in term.screen(joined=True)
    term.type("and now?")
    term.wait_for("resumed answer")
    msgs = model.chat_requests()[-1]["messages"]
    assert any(m.get("content") == "create from_tmux.txt" for m in msgs)
    term.type("/exit")
    assert term.wait_dead() == "0"


def test_forty_columns(term, model, litellm_proxy, codex_home, git_repo):
    """A phone screen: nothing we print relies on the terminal wrapping it."""
    (codex_home / "config.toml").write_text(
        f'model = "scripted"\napproval_policy = "untrusted"\n\n[model_providers.litellm]\n'
        f'base_url = "{litellm_proxy.url}"\napi_key = "{litellm_proxy.master_key}"\n')
    long_text = ("A fairly long answer that certainly needs wrapping on a narrow phone screen, with "
                 "a list:\n- first item of the list that is also quite long indeed\n- second")
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["sh", "-c", "seq 1 50; echo done > forty.txt"]})]),
        completion(long_text),
    ])
    term.start([*CODEX, "-c", "retry.wait_seconds=0"], width=40, height=24)
    term.wait_for("/help for commands")
    term.type("go")
    term.wait_for("Allow this command?")
    term.type("y")
    term.wait_for("second")
    term.tmux("send-keys", "-t", "main", "-l", "/sta")  # Tab completes the command
    time.sleep(0.5)
    term.keys("Tab")
    time.sleep(0.5)
    term.keys("Enter")
    term.wait_for("telemetry")
    screen = term.screen(joined=True)
    too_wide = [line for line in screen.splitlines() if len(line.rstrip()) > 40]
    assert not too_wide, "\n".join(too_wide) + "\n---\n" + screen
    assert "more lines" in screen  # the 50 lines of seq were cut to a head and tail
    assert (git_repo / "forty.txt").exists()
    term.keys("C-d")
    assert term.wait_dead() == "0"
    sessions = list((codex_home / "sessions").rglob("*.jsonl"))
    assert len(sessions) == 1
    kinds = [json.loads(line)["event"] for line in sessions[0].read_text().splitlines()]
    assert "command_started" in kinds and "turn_completed" in kinds


def test_dropped_connection_kills_the_command_and_keeps_the_session(term, model, litellm_proxy,
                                                                    codex_home, git_repo):
    """The SSH connection drops (the terminal hangs up) during a long command: the command's process
    group dies with codex-lite, the session file holds the turn, and `resume --last` continues it."""
    (codex_home / "config.toml").write_text(
        f'model = "scripted"\napproval_policy = "never"\n\n[model_providers.litellm]\n'
        f'base_url = "{litellm_proxy.url}"\napi_key = "{litellm_proxy.master_key}"\n')
    pidfile = git_repo / "hup.pid"
    model.set_script([completion(tool_calls=[("shell", {"command": ["sh", "-c", f"echo $$ > {pidfile}; sleep 300"]},
                                              "call_hup")])])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.type("start the long job")
    deadline = time.monotonic() + WAIT
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.1)
    pgid, repl_pid = int(pidfile.read_text()), term.pane_pids[-1]
    term.tmux("kill-server")  # the terminal goes away: SIGHUP
    deadline = time.monotonic() + 15
    while pgroup_alive(pgid) or os.path.exists(f"/proc/{repl_pid}"):
        assert time.monotonic() < deadline, "codex-lite or its command survived the hang-up"
        time.sleep(0.1)

    model.set_script([completion("picked up where we left off")])
    term.start([*CODEX, "resume", "--last"])
    term.wait_for("start the long job")
    term.type("continue")
    term.wait_for("picked up where we left off")
    msgs = model.chat_requests()[-1]["messages"]
    [result] = [m for m in msgs if m.get("tool_call_id") == "call_hup"]
    assert "interrupted" in result["content"]
    assert msgs[-1]["content"] == "continue"
    term.type("/quit")
    assert term.wait_dead() == "0"
