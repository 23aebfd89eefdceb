"""Finding 3: under `on-request` a patch used to be applied without asking wherever it wrote in
the workspace, so it could plant what a later command runs: git config or hooks, an executable
script, a `.git` file pointing elsewhere, a shell start-up file. Such patches are now asked
about (the user says no) and everything else in the workspace still applies without a question.
"""

from __future__ import annotations

import os

import pytest
from approval_support import (
    ASK_PATCH,
    add_file,
    assert_refused,
    bash,
    commit_all,
    executable,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    patch,
    repl,
    shell,
    touch,
    update_file,
)

pytestmark = pytest.mark.e2e


def fsmonitor_config(sentinel) -> str:
    return f'[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = "{touch(sentinel)}"\n'


def test_patch_to_git_config_then_git_status(run_cli, model, git_repo, outside):
    before = (git_repo / ".git" / "config").read_text()
    calls = [patch(f"*** Delete File: .git/config\n{add_file('.git/config', fsmonitor_config(outside.sentinel))}"),
             shell("git", "status")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request")
    assert_refused(result, outside, asked=ASK_PATCH)
    assert (git_repo / ".git" / "config").read_text() == before
    assert "can make a program run later" in result.stdout


def test_patch_through_a_symlink_to_git_config(run_cli, model, git_repo, outside):
    """A hostile repository ships `settings.ini -> .git/config`: the target is what counts."""
    os.symlink(".git/config", git_repo / "settings.ini")
    commit_all(git_repo)
    before = (git_repo / ".git" / "config").read_text()
    calls = [patch(update_file("settings.ini", "\tbare = false", f'\tbare = false\n+\tfsmonitor = "{touch(outside.sentinel)}"')),
             shell("git", "status")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request")
    assert_refused(result, outside, asked=ASK_PATCH)
    assert (git_repo / ".git" / "config").read_text() == before


def test_patch_rewrites_a_git_hook(run_cli, model, git_repo, outside):
    hook = executable(git_repo / ".git" / "hooks" / "post-index-change", "#!/bin/sh\nexit 0\n")
    (git_repo / "calc.py").touch()  # stale stat data: `git status` rewrites the index, running the hook
    calls = [patch(update_file(".git/hooks/post-index-change", "exit 0", touch(outside.sentinel))),
             shell("git", "status")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request")
    assert_refused(result, outside, asked=ASK_PATCH)
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"


def test_patch_adds_a_gitdir_file(run_cli, model, git_repo, outside):
    """`sub/.git` pointing at a folder of the model's making, whose config it also wrote."""
    calls = [patch(add_file("evil/HEAD", "ref: refs/heads/main"),
                   add_file("evil/config", fsmonitor_config(outside.sentinel)),
                   add_file("evil/refs/heads/.keep", ""), add_file("evil/objects/.keep", ""),
                   add_file("sub/.git", "gitdir: ../evil"), add_file("sub/x", "x")),
             bash("cd sub && git status")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request")
    assert_refused(result, outside, asked=ASK_PATCH)
    assert not (git_repo / "sub").exists()


def test_patch_rewrites_an_executable_script_then_a_remembered_command_runs_it(run_cli, model, git_repo,
                                                                             outside):
    """The user allowed `./build.sh` for the session; the model then rewrites it."""
    script = executable(git_repo / "build.sh", "#!/bin/sh\necho building\n")
    commit_all(git_repo)
    calls = [shell("./build.sh"), patch(update_file("build.sh", "echo building", touch(outside.sentinel))),
             shell("./build.sh")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request", answers="a\n")
    assert_refused(result, outside, asked=ASK_PATCH)
    assert script.read_text() == "#!/bin/sh\necho building\n"
    assert result.stdout.count("building") >= 2  # the original script ran twice, unasked the second time


def test_patch_to_a_shell_start_up_file_when_the_workspace_is_home(run_cli, model, git_repo, outside):
    """On a router the agent often works in /root: ~/.profile is then a workspace file, and every
    read-only `bash -lc` would source it."""
    calls = [patch(add_file(".profile", touch(outside.sentinel))), bash("ls")]
    result = repl(run_cli, model, git_repo, calls, policy="on-request", env={"HOME": str(git_repo)})
    assert_refused(result, outside, asked=ASK_PATCH)
    assert not (git_repo / ".profile").exists()


def test_patch_to_the_global_git_config_when_the_workspace_is_home(run_cli, model, git_repo, outside):
    calls = [patch(add_file(".gitconfig", f'[core]\n\tfsmonitor = "{touch(outside.sentinel)}"')),
             shell("git", "status")]
    env = {"HOME": str(git_repo), "GIT_CONFIG_GLOBAL": str(git_repo / ".gitconfig")}
    result = repl(run_cli, model, git_repo, calls, policy="on-request", env=env)
    assert_refused(result, outside, asked=ASK_PATCH)
    assert not (git_repo / ".gitconfig").exists()


def test_ordinary_patches_still_apply_without_a_question(run_cli, model, git_repo, outside):
    calls = [patch(update_file("calc.py", "    return a - b", "    return a + b"), add_file("docs/new.md", "hi"))]
    result = repl(run_cli, model, git_repo, calls, policy="on-request")
    assert_refused(result, outside, asked=None)
    assert ASK_PATCH not in result.stdout
    assert "return a + b" in (git_repo / "calc.py").read_text() and (git_repo / "docs" / "new.md").exists()
