"""Approval policies: read-only classification, what each policy asks, "always", on-failure retry;
driven through the real ToolBox so the asked question and the command's fate are what a user gets."""

from __future__ import annotations

import json

import pytest

from codex_lite import events as ev
from codex_lite.approvals import Approvals, Choice, command_text, is_read_only, remember_key
from codex_lite.tools.shell import ShellSettings
from codex_lite.tools.toolbox import ApprovalRequest, ToolBox


@pytest.mark.parametrize("argv", [
    ["ls", "-la"], ["cat", "a.txt"], ["rg", "-n", "TODO"], ["grep", "-rn", "x", "."],
    ["find", ".", "-name", "*.py"], ["git", "status"], ["git", "log", "--oneline", "-5"],
    ["git", "diff"], ["git", "-C", "sub", "show", "HEAD"], ["git", "branch"], ["sed", "-n", "1,80p", "f"],
    ["/bin/ls"], ["bash", "-lc", "ls -la && cat README.md | head -5"], ["sh", "-c", "git status; pwd"],
    ["wc", "-l", "x"], ["head", "-n", "3", "f"],
])
def test_read_only(argv):
    assert is_read_only(argv)


@pytest.mark.parametrize("argv", [
    ["rm", "-rf", "x"], ["find", ".", "-delete"], ["find", ".", "-exec", "rm", "{}", ";"],
    ["git", "push"], ["git", "commit", "-m", "x"], ["git", "branch", "-D", "x"],
    ["sed", "-i", "s/a/b/", "f"], ["rg", "--pre", "sh", "x"], ["bash", "-lc", "ls > out.txt"],
    ["bash", "-lc", "echo $(rm x)"], ["bash", "-lc", "cat `which x`"], ["sh", "-c", "ls && rm x"],
    ["python3", "x.py"], ["sort", "-o", "f", "f"], ["bash", "-lc", "(cd x; ls)"], [],
])
def test_not_read_only(argv):
    assert not is_read_only(argv)


def test_remember_keys():
    def key(*argv):
        return remember_key(ApprovalRequest("command", list(argv), "/"))
    assert key("git", "push", "origin") == ("git", "push")
    assert key("make", "test") == ("make", "test")
    assert key("rm", "-rf", "x") == ("rm",)
    assert key("python3", "x.py") == ("python3",)
    assert key("bash", "-lc", "make && rm x") == ("bash", "-lc", "make && rm x")
    assert remember_key(ApprovalRequest("patch", ["apply_patch"], "/")) == ("apply_patch",)
    assert command_text(["bash", "-lc", "make all"]) == "make all"


class Script:
    """A user who answers from a list, recording what was asked."""

    def __init__(self, *answers: Choice):
        self.answers, self.asked = list(answers), []

    def __call__(self, request, label):
        self.asked.append((request.kind, list(request.command), label, request.diff))
        return self.answers.pop(0)


def toolbox(tmp_path, approvals: Approvals, sandbox="workspace-write"):
    events: list[ev.Event] = []

    def emit(e):
        events.append(e)
        approvals.listen(e)
    box = ToolBox(cwd=str(tmp_path), emit=emit, shell=ShellSettings(), sandbox_mode=sandbox,
                  approver=approvals)
    return box, events


def test_untrusted_asks_for_writes_not_reads_and_always_sticks(tmp_path):
    user = Script(Choice("always"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", "workspace-write", user))
    assert json.loads(box.run("c1", "shell", {"command": ["ls"]}))["metadata"]["exit_code"] == 0
    assert user.asked == []
    box.run("c2", "shell", {"command": ["touch", "a"]})
    box.run("c3", "shell", {"command": ["touch", "b"]})  # remembered: `touch` commands
    assert [(k, c, label) for k, c, label, _ in user.asked] == [("command", ["touch", "a"], "`touch` commands")]
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()


def test_decline_with_feedback_reaches_the_model_and_nothing_runs(tmp_path):
    user = Script(Choice("no", "use trash-put instead"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", "workspace-write", user))
    (tmp_path / "keep").write_text("x")
    out = box.run("c1", "shell", {"command": ["rm", "keep"]})
    assert "declined" in out and "use trash-put instead" in out
    assert (tmp_path / "keep").exists()


PATCH = "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** End Patch"


def test_untrusted_shows_the_patch_before_asking(tmp_path):
    user = Script(Choice("no"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", "workspace-write", user))
    box.run("p1", "apply_patch", {"input": PATCH})
    [(kind, _cmd, label, diff)] = user.asked
    assert kind == "patch" and label == "patches" and "+hello" in diff
    assert not (tmp_path / "new.txt").exists()


def test_on_request_patches_run_commands_ask(tmp_path):
    user = Script(Choice("yes"))
    box, _ = toolbox(tmp_path, Approvals("on-request", "workspace-write", user))
    box.run("p1", "apply_patch", {"input": PATCH})
    assert (tmp_path / "new.txt").read_text() == "hello\n" and user.asked == []
    box.run("c1", "shell", {"command": ["cat", "new.txt"]})
    assert user.asked == []
    box.run("c2", "shell", {"command": ["touch", "x"]})
    assert len(user.asked) == 1


def test_on_request_with_full_access_and_never_do_not_ask(tmp_path):
    for policy, sandbox in (("on-request", "danger-full-access"), ("never", "workspace-write")):
        user = Script()
        box, _ = toolbox(tmp_path, Approvals(policy, sandbox, user), sandbox=sandbox)
        box.run("c", "shell", {"command": ["touch", policy]})
        assert (tmp_path / policy).exists() and user.asked == []


def test_read_only_sandbox_refuses_patches_without_asking(tmp_path):
    user = Script()
    box, _ = toolbox(tmp_path, Approvals("untrusted", "read-only", user), sandbox="read-only")
    assert "read-only" in box.run("p", "apply_patch", {"input": PATCH})
    assert user.asked == [] and not (tmp_path / "new.txt").exists()


def test_on_failure_offers_a_retry_then_passes_feedback(tmp_path):
    user = Script(Choice("yes"), Choice("no", "create the flag file first"))
    box, _events = toolbox(tmp_path, Approvals("on-failure", "workspace-write", user))
    out = json.loads(box.run("c1", "shell", {"command": ["sh", "-c", "echo run >> log; test -e flag"]}))
    assert (tmp_path / "log").read_text() == "run\nrun\n"  # ran, failed, retried once, failed again
    assert [k for k, *_ in user.asked] == ["retry", "retry"]
    assert out["metadata"]["exit_code"] == 1 and out["user_feedback"] == "create the flag file first"
    user = Script()
    box, _ = toolbox(tmp_path, Approvals("on-failure", "workspace-write", user))
    box.run("c2", "shell", {"command": ["true"]})
    assert user.asked == []
