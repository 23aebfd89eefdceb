"""Approval policies: read-only classification, what each policy asks, "always", on-failure retry;
driven through the real ToolBox so the asked question and the command's fate are what a user gets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.git import make_git_repo

from codex_lite import events as ev
from codex_lite.approvals import Approvals, Choice, command_text, describe_key, remember_key, sensitive_paths
from codex_lite.security.read_only import CHECKS, WHY, classify, find_program, hardened_env
from codex_lite.tools.shell import ShellSettings
from codex_lite.tools.toolbox import ApprovalRequest, ToolBox


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    path = make_git_repo(tmp_path_factory.mktemp("ro") / "repo", {"a.txt": "x\n", "src/m.py": "y\n"})
    (path / "sub").mkdir()
    return path


@pytest.mark.parametrize("argv", [
    ["ls", "-la"], ["cat", "a.txt"], ["grep", "-rn", "x", "."], ["find", ".", "-name", "*.py"],
    ["find", ".", "-type", "f", "-newermt", "2020-01-01", "-print0"], ["git", "status"],
    ["git", "log", "--oneline", "-5"], ["git", "diff", "--stat", "HEAD~1"], ["git", "-C", "sub", "show", "HEAD"],
    ["git", "branch"], ["git", "branch", "--list", "m*"], ["git", "grep", "-n", "-e", "x", "--", "src"],
    ["git", "rev-parse", "--show-toplevel"], ["git", "ls-files", "-mo", "--exclude-standard"],
    ["git", "remote", "-v"], ["git", "cat-file", "-p", "HEAD"], ["git", "--version"],
    ["sed", "-n", "1,80p", "a.txt"], ["sed", "-n", "-e", "/x/,$p", "-e", "s/x/y/gp", "a.txt"],
    ["sed", "y/ab/cd/;10q", "a.txt"], ["sort", "-t", ",", "-k2,2n", "a.txt"], ["uniq", "-c", "a.txt"],
    ["date", "+%Y-%m-%d"], ["date", "-u", "-d", "@0"], ["hostname"], ["hostname", "-f"],
    ["bash", "-lc", "ls -la && cat a.txt | head -5"], ["sh", "-c", "git status; pwd"],
    ["bash", "-lc", "cd src && ls *.py 2>/dev/null | wc -l"], ["bash", "-lc", "set -euo pipefail; git diff"],
    ["bash", "-lc", "printf '%s\\n' x; test -f a.txt && echo yes"], ["wc", "-l", "a.txt"],
    ["head", "-n", "3", "a.txt"],
])
def test_read_only(argv, repo):
    verdict = classify(argv, str(repo), str(repo))
    assert verdict.read_only, verdict.reason


@pytest.mark.parametrize("argv", [
    ["rm", "-rf", "x"], ["find", ".", "-delete"], ["find", ".", "-exec", "rm", "{}", ";"],
    ["find", ".", "-fprint", "out"], ["git", "push"], ["git", "commit", "-m", "x"], ["git", "branch", "-D", "x"],
    ["git", "branch", "new"], ["git", "tag", "v1"], ["git", "-c", "core.pager=sh", "log"],
    ["git", "--git-dir=x", "status"], ["git", "diff", "--output=x"], ["git", "diff", "--ext-diff"],
    ["git", "log", "--textconv"], ["git", "grep", "-Otouch", "x"], ["git", "grep", "-nO", "x"],
    ["git", "grep", "--open-files-in-pager=touch", "x"], ["git", "remote", "add", "o", "u"],
    ["sed", "-i", "s/a/b/", "f"], ["sed", "--in-place", "s/a/b/", "f"], ["sed", "--in", "s/a/b/", "f"],
    ["sed", "-n", "w out", "f"], ["sed", "s/a/b/w out", "f"], ["sed", "s/a/b/e", "f"], ["sed", "e touch x", "f"],
    ["sed", "-f", "script.sed", "f"], ["sed", "s/[/]/x/w out", "f"], ["rg", "--pre", "sh", "x"],
    ["rg", "--pre=sh", "x"], ["rg", "-nz", "x"], ["rg", "--hostname-bin=sh", "x"],
    ["bash", "-lc", "ls > out.txt"], ["bash", "-lc", "echo $(rm x)"], ["bash", "-lc", "cat `which x`"],
    ["sh", "-c", "ls && rm x"], ["python3", "x.py"], ["sort", "-o", "f", "f"], ["sort", "-of", "f"],
    ["sort", "--output=f", "f"], ["sort", "--compress-program=sh", "f"], ["sort", "--comp=sh", "f"],
    ["sort", "-T", "/tmp", "f"], ["uniq", "in", "out"], ["tree", "-o", "out"], ["tree", "-R"],
    ["file", "-C", "-m", "x"], ["file", "-z", "x"], ["date", "-s", "2020-01-01"], ["date", "010100002020"],
    ["hostname", "evil"], ["hostname", "-F", "f"], ["bash", "-lc", "(cd x; ls)"], [],
    ["/bin/ls"], ["./ls"], ["scripts/test"], ["bash", "-lc", "./ls"], ["cd", "x"],
    ["bash", "-lc", "ls x#; touch p"], ["bash", "-lc", "printf -v x y"], ["bash", "-lc", "printf -- -v x"],
    ["bash", "-lc", "test -v 'a[$(touch p)]'"], ["bash", "-lc", "[ -v x ]"], ["bash", "-lc", "set -k; ls"],
    ["test", "1", "-eq", "x[1]"], ["bash", "-lc", "ls -*"], ["bash", "--rcfile", "x", "-c", "ls"],
    ["bash", "-i", "-c", "ls"], ["env", "ls"], ["xargs", "ls"],
])
def test_not_read_only(argv, repo):
    assert not classify(argv, str(repo), str(repo)).read_only


def test_a_workspace_program_or_path_entry_is_never_read_only(repo, monkeypatch):
    bin_dir = repo / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "cat"
    fake.write_text("#!/bin/sh\ntouch pwned\n")
    fake.chmod(0o755)
    try:
        monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        assert not classify(["cat", "a.txt"], str(repo), str(repo)).read_only
        assert find_program("ls", str(repo)) == "/usr/bin/ls"  # a workspace folder without it is fine
        monkeypatch.setenv("PATH", "/usr/bin:.:/bin")
        assert find_program("ls", str(repo)) == "/usr/bin/ls"
        assert find_program("sha1sum-none", str(repo)) is None
        monkeypatch.setenv("PATH", ".:/usr/bin:/bin")
        assert not classify(["ls"], str(repo), str(repo)).read_only
    finally:
        fake.unlink()
        bin_dir.rmdir()


def test_a_glob_that_could_match_an_option_is_not_read_only(repo):
    (repo / "-delete").write_text("")
    try:
        assert not classify(["bash", "-lc", "find * -name x"], str(repo), str(repo)).read_only
        assert classify(["bash", "-lc", "find src/* -name x"], str(repo), str(repo)).read_only
    finally:
        (repo / "-delete").unlink()
    assert classify(["bash", "-lc", "find * -name x"], str(repo), str(repo)).read_only


def test_opening_a_device_is_not_read_only(repo):
    """A watchdog starts counting down when opened, a tape rewinds, /dev/ptmx makes a terminal.
    /dev/null is fine."""
    assert classify(["cat", "/dev/null"], str(repo), str(repo)).read_only
    for argv in (["cat", "/dev/ptmx"], ["head", "-c1", "/dev/ptmx"], ["bash", "-lc", "cat /dev/ptm?"],
                 ["grep", "--file=/dev/ptmx", "x"], ["bash", "-lc", "od dev-link"], ["bash", "-lc", "od dev-*"]):
        (repo / "dev-link").symlink_to("/dev/ptmx")
        try:
            assert not classify(argv, str(repo), str(repo)).read_only, argv
        finally:
            (repo / "dev-link").unlink()


@pytest.mark.parametrize("name", ["BASH_ENV", "ENV", "ZDOTDIR", "RIPGREP_CONFIG_PATH"])
def test_a_start_up_file_in_the_workspace_means_ask(name, repo, monkeypatch):
    monkeypatch.setenv(name, str(repo / "a.txt"))
    assert not classify(["bash", "-lc", "ls"], str(repo), str(repo)).read_only
    monkeypatch.setenv(name, "/etc/nothing-here")
    assert classify(["bash", "-lc", "ls"], str(repo), str(repo)).read_only


def test_git_config_that_names_a_driver_means_ask(repo):
    """Drivers whose names the config chooses cannot be switched off by name: ask."""
    for key, value in (("diff.external", "sh"), ("diff.x.textconv", "sh"), ("filter.x.clean", "sh"),
                       ("extensions.partialClone", "origin")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
        try:
            assert not classify(["git", "status"], str(repo), str(repo)).read_only, key
            assert not classify(["bash", "-lc", "cd sub && git log"], str(repo), str(repo)).read_only
        finally:
            subprocess.run(["git", "config", "--unset", key], cwd=repo, check=True)
    subprocess.run(["git", "config", "core.fsmonitor", "touch pwned"], cwd=repo, check=True)
    try:  # a fixed name: switched off in the environment read-only commands run with
        assert classify(["git", "status"], str(repo), str(repo)).read_only
        done = subprocess.run(["git", "status"], cwd=repo, env=hardened_env(), capture_output=True, check=False)
        assert done.returncode == 0 and not (repo / "pwned").exists()
    finally:
        subprocess.run(["git", "config", "--unset", "core.fsmonitor"], cwd=repo, check=True)


def test_the_readme_table_lists_every_program():
    listed = {name for names in WHY for name in names.split()}
    assert listed == set(CHECKS) | {"git"}
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for names, why in WHY.items():
        assert f"| {' '.join(f'`{n}`' for n in names.split())} | {why} |" in readme


def test_remember_keys(repo):
    def key(*argv, cwd=repo):
        return remember_key(ApprovalRequest("command", list(argv), str(cwd), root=str(repo)))
    git = find_program("git", str(repo))
    assert key("git", "push", "origin") == ("program", git, "push", (), "")
    assert key("git", "push", "other", "main") == key("git", "push", "origin")
    assert key("git", "push", "--force", "origin") == ("program", git, "push", ("--force",), "")
    assert key("git", "-c", "core.pager=x", "push")[0] == "exact"
    assert key("git", "-c", "a=1", "push") != key("git", "-c", "a=2", "push")
    assert key("rm", "-rf", "x") == ("program", find_program("rm", str(repo)), "", ("-rf",), "")
    assert key("rm", "-rf", "x", cwd=repo / "sub") == key("rm", "-rf", "x")  # anywhere in the workspace
    assert key("rm", "-rf", "x", cwd="/etc")[-1] == "/etc"  # but a folder outside is part of it
    assert describe_key(key("rm", "-rf", "x", cwd="/etc")).endswith("with any other arguments in /etc")
    assert key("make", "test", "CC=gcc") != key("make", "test", "CC=/tmp/evil")
    assert key("bash", "-lc", "make && rm x") == ("exact", find_program("bash", str(repo)), "-lc", "make && rm x", "")
    assert key("python3", "-c", "print(1)") != key("python3", "-c", "print(2)")
    assert remember_key(ApprovalRequest("patch", ["apply_patch"], "/", diff=PATCH)) == ("apply_patch",)
    assert describe_key(key("git", "push", "--force")) == f"`{git} push --force` with any other arguments"
    assert command_text(["bash", "-lc", "make all"]) == "make all"


def test_a_script_is_remembered_with_its_contents(repo):
    script = repo / "build.sh"
    script.write_text("echo one\n")
    first = remember_key(ApprovalRequest("command", ["./build.sh"], str(repo), root=str(repo)))
    assert first[:2] == ("exact", str(script))
    assert first == remember_key(ApprovalRequest("command", ["./build.sh"], str(repo), root=str(repo)))
    other = repo / "sub" / "build.sh"
    other.write_text("echo one\n")
    assert first != remember_key(ApprovalRequest("command", ["./build.sh"], str(repo / "sub"), root=str(repo)))
    script.write_text("echo two\n")
    assert first != remember_key(ApprovalRequest("command", ["./build.sh"], str(repo), root=str(repo)))
    script.unlink()
    other.unlink()


def test_sensitive_patch_paths(repo):
    def patch(*ops):
        return "*** Begin Patch\n" + "".join(ops) + "*** End Patch"
    add = "*** Add File: {}\n+x\n".format
    (repo / "run.sh").write_text("echo\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "link").symlink_to(".git/config")
    try:
        assert sensitive_paths(patch(add("notes.md")), str(repo)) == []
        assert sensitive_paths(patch(add(".git/config")), str(repo)) == [".git/config"]
        assert sensitive_paths(patch(add("sub/.git")), str(repo)) == ["sub/.git"]
        assert sensitive_paths(patch(add(".GIT/hooks/pre-commit")), str(repo)) == [".GIT/hooks/pre-commit"]
        assert sensitive_paths(patch("*** Update File: run.sh\n@@\n-echo\n+id\n"), str(repo)) == ["run.sh"]
        assert sensitive_paths(patch("*** Delete File: link\n"), str(repo)) == ["link"]
        assert sensitive_paths(patch(add("../outside")), str(repo)) == []  # refused by the engine
        assert sensitive_paths(patch(add("lib/evil.pth"), add("sitecustomize.py")), str(repo)) == [
            "lib/evil.pth", "sitecustomize.py"]
    finally:
        (repo / "run.sh").unlink()
        (repo / "link").unlink()


class Script:
    """A user who answers from a list, recording what was asked."""

    def __init__(self, *answers: Choice):
        self.answers, self.asked = list(answers), []

    def __call__(self, request, label):
        self.asked.append((request.kind, list(request.command), label, request.diff))
        return self.answers.pop(0)


def toolbox(tmp_path, approvals: Approvals, sandbox="workspace-write"):
    events: list[ev.Event] = []

    box = ToolBox(cwd=str(tmp_path), emit=events.append, shell=ShellSettings(), sandbox_mode=sandbox,
                  approver=approvals)
    return box, events


def test_untrusted_asks_for_writes_not_reads_and_always_sticks(tmp_path):
    user = Script(Choice("always"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", user))
    assert json.loads(box.run("c1", "shell", {"command": ["ls"]}))["metadata"]["exit_code"] == 0
    assert user.asked == []
    box.run("c2", "shell", {"command": ["touch", "a"]})
    box.run("c3", "shell", {"command": ["touch", "b"]})  # remembered: `touch` commands
    touch = find_program("touch", str(tmp_path))
    assert [(k, c, label) for k, c, label, _ in user.asked] == [
        ("command", ["touch", "a"], f"`{touch}` with any other arguments")]
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()


def test_decline_with_feedback_reaches_the_model_and_nothing_runs(tmp_path):
    user = Script(Choice("no", "use trash-put instead"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", user))
    (tmp_path / "keep").write_text("x")
    out = box.run("c1", "shell", {"command": ["rm", "keep"]})
    assert "declined" in out and "use trash-put instead" in out
    assert (tmp_path / "keep").exists()


PATCH = "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** End Patch"


def test_untrusted_shows_the_patch_before_asking(tmp_path):
    user = Script(Choice("no"))
    box, _ = toolbox(tmp_path, Approvals("untrusted", user))
    box.run("p1", "apply_patch", {"input": PATCH})
    [(kind, _cmd, label, diff)] = user.asked
    assert kind == "patch" and label == "patches" and "+hello" in diff
    assert not (tmp_path / "new.txt").exists()


def test_on_request_patches_run_commands_ask(tmp_path):
    user = Script(Choice("yes"))
    box, _ = toolbox(tmp_path, Approvals("on-request", user))
    box.run("p1", "apply_patch", {"input": PATCH})
    assert (tmp_path / "new.txt").read_text() == "hello\n" and user.asked == []
    box.run("c1", "shell", {"command": ["cat", "new.txt"]})
    assert user.asked == []
    box.run("c2", "shell", {"command": ["touch", "x"]})
    assert len(user.asked) == 1


def test_on_request_with_full_access_and_never_do_not_ask(tmp_path):
    for policy, sandbox in (("on-request", "danger-full-access"), ("never", "workspace-write")):
        user = Script()
        box, _ = toolbox(tmp_path, Approvals(policy, user), sandbox=sandbox)
        box.run("c", "shell", {"command": ["touch", policy]})
        assert (tmp_path / policy).exists() and user.asked == []


def test_read_only_sandbox_refuses_patches_without_asking(tmp_path):
    user = Script()
    box, _ = toolbox(tmp_path, Approvals("untrusted", user), sandbox="read-only")
    assert "read-only" in box.run("p", "apply_patch", {"input": PATCH})
    assert user.asked == [] and not (tmp_path / "new.txt").exists()


def test_on_failure_offers_a_retry_then_passes_feedback(tmp_path):
    user = Script(Choice("yes"), Choice("no", "create the flag file first"))
    box, _events = toolbox(tmp_path, Approvals("on-failure", user))
    out = json.loads(box.run("c1", "shell", {"command": ["sh", "-c", "echo run >> log; test -e flag"]}))
    assert (tmp_path / "log").read_text() == "run\nrun\n"  # ran, failed, retried once, failed again
    assert [k for k, *_ in user.asked] == ["retry", "retry"]
    assert out["metadata"]["exit_code"] == 1 and out["user_feedback"] == "create the flag file first"
    user = Script()
    box, _ = toolbox(tmp_path, Approvals("on-failure", user))
    box.run("c2", "shell", {"command": ["true"]})
    assert user.asked == []


def test_a_patch_never_makes_a_file_executable(tmp_path):
    """What on-request relies on: only existing executables can become a program to run."""
    from codex_lite.tools.apply_patch import apply_patch

    (tmp_path / "run.sh").write_text("echo\n")
    (tmp_path / "run.sh").chmod(0o755)
    apply_patch("*** Begin Patch\n*** Update File: run.sh\n*** Move to: moved.sh\n@@\n-echo\n+id\n"
                "*** Add File: new.sh\n+id\n*** End Patch", str(tmp_path))
    assert not os.access(tmp_path / "moved.sh", os.X_OK) and not os.access(tmp_path / "new.sh", os.X_OK)
