"""Commands that misbehave with the clock or leave things behind, run through the installed CLI:
one deadline covers the whole life of a command (spawn to reap) whatever it does with its output,
and nothing it started survives it."""

from __future__ import annotations

import pytest
from command_support import finish_and_check, group_gone, pid_gone, shell_call, tool_result, workspace
from scripted_server import completion

pytestmark = pytest.mark.e2e
__all__ = ["workspace"]  # the fixture, imported for the tests below


def test_command_that_closes_its_output_is_killed_at_its_deadline(workspace):
    """`exec >> build.log 2>&1` closes the pipe the runner reads; the deadline must still hold."""
    pidfile = workspace.repo / "cmd.pid"
    script = f"echo $$ > {pidfile}; exec >> build.log 2>&1; echo building; sleep 300; touch late"
    workspace.model.set_script([shell_call(["bash", "-lc", script], timeout_ms=2000),
                                completion("it timed out")])
    done = finish_and_check(workspace.exec("build it"), pidfile, 60, group_gone,
                            "the command outlived its 2 s deadline")
    assert done.code == 0, done.stderr
    assert done.wall < 30, f"took {done.wall:.1f} s for a 2 s timeout"
    assert len(done.lines("timed out after 2000 ms")) == 1, done.stderr
    assert tool_result(workspace.model)["metadata"]["exit_code"] == 124
    assert not (workspace.repo / "late").exists()


def test_background_job_holding_the_output_does_not_hold_the_command(workspace):
    """`sleep &` keeps the output pipe open after the command ended: the command is over anyway,
    and its background job dies with it (the default 60 s timeout must not be waited out)."""
    bgfile = workspace.repo / "bg.pid"
    script = f"sleep 300 & echo $! > {bgfile}; echo started"
    workspace.model.set_script([shell_call(["sh", "-c", script]), completion("done")])
    done = finish_and_check(workspace.exec("start it"), bgfile, 50, pid_gone,
                            "the background job outlived its command")
    assert done.code == 0, done.stderr
    assert done.wall < 30, f"took {done.wall:.1f} s for a command that ended at once"
    result = tool_result(workspace.model)
    assert result["metadata"]["exit_code"] == 0 and "started" in result["output"]


def test_background_job_with_its_own_output_dies_with_its_command(workspace):
    """A background job that let go of the pipe is still in the command's process group: it is
    killed when the command ends (like Codex), not left running after the agent."""
    bgfile = workspace.repo / "bg.pid"
    script = f"(sleep 3; touch {workspace.repo / 'late'}) > /dev/null 2>&1 & echo $! > {bgfile}; echo started"
    workspace.model.set_script([shell_call(["sh", "-c", script]), completion("done")])
    done = finish_and_check(workspace.exec("start it"), bgfile, 50, lambda pid: pid_gone(pid, within=2),
                            "the background job outlived its command")
    assert done.code == 0 and done.wall < 30, done.stderr
    assert not (workspace.repo / "late").exists()
