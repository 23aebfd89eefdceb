"""Signals to `codex-lite exec` while a command runs: Ctrl-C, SIGTERM and SIGHUP end the run with
one line and the command's process group killed; after SIGKILL of the agent its watchdog kills the
group. A closed stdout (`| head`) ends quietly."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from command_support import (
    cli_command,
    group_gone,
    kill_group,
    pid_gone,
    shell_call,
    wait_for_file,
    watchdogs_of,
    workspace,
)
from scripted_server import completion

pytestmark = pytest.mark.e2e
__all__ = ["workspace"]

SLOW = "echo $$ > {pidfile}; echo working; sleep 300; touch {late}"


def start_slow_command(workspace, *args: str):
    """exec running `sleep 300` under bash (bash waits: the sleep is its child, one group)."""
    pidfile, late = workspace.repo / "cmd.pid", workspace.repo / "late"
    workspace.model.set_script([shell_call(["bash", "-c", SLOW.format(pidfile=pidfile, late=late)]),
                                completion("never")])
    agent = workspace.exec(*args, "run the slow thing")
    pgid = int(wait_for_file(pidfile))
    time.sleep(0.3)  # the runner is pumping the command's output by now
    return agent, pgid


@pytest.mark.parametrize("signame, code, said", [
    ("SIGINT", 130, "interrupted"),
    ("SIGTERM", 143, "terminated by SIGTERM"),
    ("SIGHUP", 129, "hung up (SIGHUP)"),
])
def test_signal_kills_the_running_command_with_one_line(workspace, signame, code, said):
    agent, pgid = start_slow_command(workspace)
    try:
        agent.signal(getattr(signal, signame))
        done = agent.finish(timeout=30)
        assert group_gone(pgid), f"the command survived {signame} of the agent"
    finally:
        kill_group(pgid)
    assert done.code == code, done.stderr
    assert done.wall < 30
    assert len(done.lines(said)) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not watchdogs_of(agent.pid), "the watchdog outlived the agent"


def test_sigterm_in_json_mode_ends_the_turn_as_failed(workspace):
    agent, pgid = start_slow_command(workspace, "--json")
    try:
        agent.signal(signal.SIGTERM)
        done = agent.finish(timeout=30)
        assert group_gone(pgid)
    finally:
        kill_group(pgid)
    assert done.code == 143, done.stderr
    assert '"type": "turn.failed"' in done.stdout and "terminated by SIGTERM" in done.stdout
    assert "Traceback" not in done.stderr


def test_sigkill_of_the_agent_leaves_no_command_behind(workspace):
    """Nothing of the agent runs after SIGKILL: its watchdog (a tiny shell in a session of its own)
    notices and kills the command's process group, then goes away too."""
    agent, pgid = start_slow_command(workspace)
    try:
        guards = watchdogs_of(agent.pid)
        assert guards, "no watchdog is guarding the running command"
        agent.signal(signal.SIGKILL)
        done = agent.finish(timeout=30)
        assert group_gone(pgid, within=10), "the command survived SIGKILL of the agent"
        assert all(pid_gone(g, within=10) for g in guards), "the watchdog outlived the agent"
    finally:
        kill_group(pgid)
    assert done.code == -signal.SIGKILL
    assert not (workspace.repo / "late").exists()
    assert not watchdogs_of(agent.pid), "the watchdog outlived the agent"


def test_normal_exit_leaves_no_watchdog(workspace):
    workspace.model.set_script([shell_call(["true"]), completion("ok")])
    agent = workspace.exec("run true")
    done = agent.finish(timeout=60)
    assert done.code == 0, done.stderr
    deadline = time.monotonic() + 10
    while watchdogs_of(agent.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not watchdogs_of(agent.pid)


def test_answer_piped_into_head_exits_quietly(workspace):
    """`codex-lite exec ... | head -1`: the reader goes away after one line of a long answer."""
    answer = "\n".join(f"line {i} of a long answer" for i in range(20000))
    workspace.model.set_script([completion(answer)])
    cli = " ".join(cli_command())
    started = time.monotonic()
    pipeline = (f'{cli} exec --skip-git-repo-check -m scripted "talk" | head -1; '
                'echo "exit=${PIPESTATUS[0]}" >&2')
    done = subprocess.run(["bash", "-c", pipeline], cwd=workspace.repo, env=workspace.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert time.monotonic() - started < 60
    assert done.stdout == "line 0 of a long answer\n"
    assert "exit=0" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr


def test_progress_piped_into_head_exits_quietly(workspace):
    """`2>&1 | head -2`: the progress on stderr goes to a closed pipe mid-run; the task still ends
    (its answer goes nowhere) without a traceback."""
    workspace.model.set_script([shell_call(["sh", "-c", "seq 1 50"]), shell_call(["true"], call_id="c2"),
                                completion("finished")])
    cli = " ".join(cli_command())
    pipeline = (f'{cli} exec --skip-git-repo-check -m scripted "count" 2>&1 | head -2; '
                'echo "exit=${PIPESTATUS[0]}"')
    done = subprocess.run(["bash", "-c", pipeline], cwd=workspace.repo, env=workspace.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert "exit=0" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert len(workspace.model.chat_requests()) == 3  # the run went on to its end


def test_json_events_piped_into_head_say_one_line(workspace):
    """`exec --json | head -1`: the reader left after the first event; the task goes on (the Bus
    drops the printer) with one warning, and the run ends quietly."""
    workspace.model.set_script([shell_call(["sh", "-c", "seq 1 3"]), completion("x\n" * 30000)])
    cli = " ".join(cli_command())
    pipeline = (f'{cli} exec --json --skip-git-repo-check -m scripted "go" | head -1; '
                'echo "exit=${PIPESTATUS[0]}" >&2')
    done = subprocess.run(["bash", "-c", pipeline], cwd=workspace.repo, env=workspace.env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert '"thread.started"' in done.stdout and len(done.stdout.splitlines()) == 1
    lines = done.stderr.strip().splitlines()
    assert lines == ["codex-lite: warning: JsonlPrinter stopped: [Errno 32] Broken pipe", "exit=0"], lines
