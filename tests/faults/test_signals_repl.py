"""Signals to the REPL (a real terminal: tmux) while a command runs: SIGTERM and SIGHUP end the
REPL with the command's process group killed and one line on the screen; after SIGKILL the
watchdog kills the group."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from command_support import group_gone, kill_group, pid_gone, shell_call, wait_for_file, watchdogs_of
from scripted_server import completion

pytestmark = pytest.mark.e2e


@pytest.fixture
def repl(term, litellm_proxy, codex_home):
    """A tmux pane for the REPL, with a config that needs no onboarding and asks nothing."""
    (codex_home / "config.toml").write_text(
        f'model = "scripted"\napproval_policy = "never"\n\n[model_providers.litellm]\n'
        f'base_url = "{litellm_proxy.url}"\napi_key = "{litellm_proxy.master_key}"\n')
    return term


def start_slow_command(repl, model, repo) -> tuple[int, int]:
    """The REPL running `sleep 300` under bash; (its process group, the REPL's PID)."""
    pidfile = repo / "cmd.pid"
    model.set_script([shell_call(["bash", "-c", f"echo $$ > {pidfile}; sleep 300; touch {repo / 'late'}"]),
                      completion("never")])
    repl.start([sys.executable, "-m", "codex_lite"])
    repl.wait_for("/help for commands")
    repl.type("run the slow thing")
    pgid = int(wait_for_file(pidfile))
    time.sleep(0.3)
    return pgid, repl.pane_pids[-1]


@pytest.mark.parametrize("signame, status, said", [
    ("SIGTERM", "143", "terminated by SIGTERM"),
    ("SIGHUP", "129", None),  # the terminal is gone: nobody to tell
])
def test_signal_to_the_repl_kills_the_running_command(repl, model, git_repo, signame, status, said):
    pgid, pid = start_slow_command(repl, model, git_repo)
    started = time.monotonic()
    try:
        os.kill(pid, getattr(signal, signame))
        assert repl.wait_dead(timeout=30) == status, repl.screen()
        assert group_gone(pgid), f"the command survived {signame} of the REPL"
    finally:
        kill_group(pgid)
    assert time.monotonic() - started < 30
    screen = repl.screen(joined=True)
    if said:
        assert screen.count(said) == 1, screen
    assert "Traceback" not in screen, screen
    assert not (git_repo / "late").exists()


def test_sigkill_of_the_repl_leaves_no_command_behind(repl, model, git_repo):
    pgid, pid = start_slow_command(repl, model, git_repo)
    try:
        guards = watchdogs_of(pid)
        assert guards, "no watchdog is guarding the running command"
        os.kill(pid, signal.SIGKILL)
        assert group_gone(pgid, within=10), "the command survived SIGKILL of the REPL"
        assert all(pid_gone(g, within=10) for g in guards), "the watchdog outlived the REPL"
    finally:
        kill_group(pgid)


def test_sigterm_at_the_prompt_ends_the_repl_with_one_line(repl, model):
    repl.start([sys.executable, "-m", "codex_lite"])
    repl.wait_for("/help for commands")
    time.sleep(0.3)
    os.kill(repl.pane_pids[-1], signal.SIGTERM)
    assert repl.wait_dead(timeout=30) == "143", repl.screen()
    screen = repl.screen(joined=True)
    assert screen.count("terminated by SIGTERM") == 1 and "Traceback" not in screen, screen
