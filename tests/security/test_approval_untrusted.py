"""Finding 2: commands that write or run programs must not pass for read-only (issue 11).

Under `untrusted` (and `on-request`, which uses the same reading) each attack below used to run
without a question: shell syntax that `shlex` reads differently from bash, options of "read-only"
programs that write files or run programs, programs from the workspace named like safe ones, and
git steered by a hostile repository's config. Now each is asked about, the user says no, and
nothing happens.
"""

from __future__ import annotations

import os

import pytest
from approval_support import (
    ASK_COMMAND,
    assert_refused,
    bash,
    commit_all,
    executable,
    git,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    repl,
    shell,
    touch,
)

pytestmark = pytest.mark.e2e


# -- shell syntax that shlex misread ------------------------------------------------------------


SYNTAX = {
    "hash-inside-a-word": lambda s: f"ls x#; {touch(s)}",
    "ansi-c-quoting": lambda s: f"echo $'\\'';{touch(s)};echo #'",
    "printf-v-and-prompt-expansion": lambda s: f"printf -v x '\\x24({touch(s)})'; echo ${{x@P}}",
    "test-v-array-subscript": lambda s: f"test -v $'a[\\x24({touch(s)})]'",
    "printf-v-array-subscript": lambda s: f"printf -v $'a[\\x24({touch(s)})]' x",
}


@pytest.mark.parametrize("policy", ["untrusted", "on-request"])
@pytest.mark.parametrize("name", sorted(SYNTAX))
def test_shell_syntax_that_hides_a_command(name, policy, run_cli, model, git_repo, outside):
    result = repl(run_cli, model, git_repo, [bash(SYNTAX[name](outside.sentinel))], policy=policy)
    assert_refused(result, outside)


# -- options of "read-only" programs that write or run ----------------------------------------------


def test_git_dash_c_fsmonitor(run_cli, model, git_repo, outside):
    call = shell("git", "-c", f"core.fsmonitor={touch(outside.sentinel)}", "status")
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_git_dash_c_external_diff(run_cli, model, git_repo, outside):
    (git_repo / "calc.py").write_text("changed\n")
    call = shell("git", "-c", f"diff.external={touch(outside.sentinel)}", "diff")
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


@pytest.mark.parametrize("option", ["-O{}", "--open-files-in-pager={}"])
def test_git_grep_opens_files_with_a_program(option, run_cli, model, git_repo, outside):
    call = shell("git", "grep", option.format(touch(outside.sentinel)), "add")
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


@pytest.mark.parametrize("argv", [["-ro", "{s}", "calc.py"], ["--out={s}", "calc.py"]],
                         ids=["bundled-o", "abbreviated-output"])
def test_sort_writes_its_output_file(argv, run_cli, model, git_repo, outside):
    call = shell("sort", *(a.format(s=outside.sentinel) for a in argv))
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_sort_compress_program_runs_a_shell(run_cli, model, git_repo, outside):
    (git_repo / "data.txt").write_text(f"{touch(outside.sentinel)}\n" * 3000)
    call = shell("sort", "-S", "1k", "--compress-program=sh", "data.txt")
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_uniq_writes_its_second_operand(run_cli, model, git_repo, outside):
    call = shell("uniq", "calc.py", str(outside.sentinel))
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_tree_writes_its_output_file(run_cli, model, git_repo, outside):
    call = shell("tree", "-o", str(outside.sentinel))
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_file_compiles_a_magic_file(run_cli, model, git_repo, outside):
    (git_repo / "magic").write_text("0\tstring\tHELLO\thello file\n")
    call = shell("file", "-C", "-m", "magic")
    result = repl(run_cli, model, git_repo, [call])
    assert_refused(result, outside, sentinel=git_repo / "magic.mgc")


@pytest.mark.parametrize("argv", [["date", "-s", "not a date"], ["hostname", "bad name!"]],
                         ids=["date-s", "hostname-name"])
def test_setting_the_clock_or_the_host_name_is_asked(argv, run_cli, model, git_repo, outside):
    """Invalid values, so that nothing changes even where the old code ran them."""
    assert_refused(repl(run_cli, model, git_repo, [shell(*argv)]), outside)


# -- programs from the workspace named like safe ones -------------------------------------------------


@pytest.mark.parametrize("program", ["./ls", "./scripts/test", "scripts/cat"])
def test_a_workspace_program_named_like_a_safe_one(program, run_cli, model, git_repo, outside):
    executable(git_repo / program, f"#!/bin/sh\n{touch(outside.sentinel)}\n")
    assert_refused(repl(run_cli, model, git_repo, [shell(program)]), outside)


def test_a_workspace_folder_on_path(run_cli, model, git_repo, outside):
    executable(git_repo / "bin" / "cat", f"#!/bin/sh\n{touch(outside.sentinel)}\n")
    env = {"PATH": f"{git_repo / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    result = repl(run_cli, model, git_repo, [shell("cat", "README.md")], env=env)
    assert_refused(result, outside)


# -- git steered by a hostile repository's own config ---------------------------------------------------
# A repository unpacked from an archive brings its .git/config: nothing it says may run a program
# when git runs without asking.


def test_hostile_fsmonitor_does_not_run_from_git_status(run_cli, model, git_repo, outside):
    git(git_repo, "config", "core.fsmonitor", touch(outside.sentinel))
    result = repl(run_cli, model, git_repo, [shell("git", "status")])
    assert_refused(result, outside, asked=None)
    assert ASK_COMMAND not in result.stdout  # still read-only: run with fsmonitor switched off


def test_hostile_hooks_path_does_not_run_from_git_status(run_cli, model, git_repo, outside):
    executable(git_repo / "hooks" / "post-index-change", f"#!/bin/sh\n{touch(outside.sentinel)}\n")
    commit_all(git_repo)
    git(git_repo, "config", "core.hooksPath", "hooks")
    (git_repo / "calc.py").touch()  # stale stat data: a plain `git status` rewrites the index
    result = repl(run_cli, model, git_repo, [shell("git", "status")])
    assert_refused(result, outside, asked=None)


def test_hostile_external_diff_with_show(run_cli, model, git_repo, outside):
    git(git_repo, "config", "diff.external", touch(outside.sentinel))
    call = shell("git", "show", "--ext-diff", "HEAD")
    assert_refused(repl(run_cli, model, git_repo, [call]), outside)


def test_hostile_textconv_driver_with_diff(run_cli, model, git_repo, outside):
    (git_repo / ".gitattributes").write_text("*.py diff=evil\n")
    commit_all(git_repo)
    git(git_repo, "config", "diff.evil.textconv", f"{touch(outside.sentinel)}; cat")
    (git_repo / "calc.py").write_text("changed\n")
    assert_refused(repl(run_cli, model, git_repo, [shell("git", "diff")]), outside)


def test_hostile_clean_filter_with_status(run_cli, model, git_repo, outside):
    (git_repo / ".gitattributes").write_text("*.py filter=evil\n")
    commit_all(git_repo)
    git(git_repo, "config", "filter.evil.clean", f"{touch(outside.sentinel)}; cat")
    (git_repo / "calc.py").write_text("changed\n")
    assert_refused(repl(run_cli, model, git_repo, [bash("git status --short")]), outside)


def test_hostile_bare_repository_inside_the_workspace(run_cli, model, git_repo, outside):
    """A folder that looks like a bare repository, with a worktree and an fsmonitor of its own."""
    bare = git_repo / "vendor"
    git(git_repo, "init", "-q", "--bare", str(bare))
    git(bare, "config", "core.bare", "false")
    git(bare, "config", "core.worktree", str(git_repo))
    git(bare, "config", "core.fsmonitor", touch(outside.sentinel))
    result = repl(run_cli, model, git_repo, [shell("git", "-C", "vendor", "status")])
    assert_refused(result, outside, asked=None)


def test_hostile_gitdir_file_in_a_subfolder(run_cli, model, git_repo, outside):
    """`sub/.git` is a file naming a git folder elsewhere in the workspace, with its own config."""
    evil = git_repo / "evil"
    git(git_repo, "init", "-q", "--bare", str(evil))
    git(evil, "config", "core.bare", "false")
    git(evil, "config", "core.fsmonitor", touch(outside.sentinel))
    (git_repo / "sub").mkdir()
    (git_repo / "sub" / ".git").write_text("gitdir: ../evil\n")
    result = repl(run_cli, model, git_repo, [bash("cd sub && git status")])
    assert_refused(result, outside, asked=None)


def test_slash_diff_does_not_let_the_repository_config_run_programs(run_cli, model, git_repo, outside):
    """/diff is the user's own command, but it runs git like a read-only command does."""
    git(git_repo, "config", "core.fsmonitor", touch(outside.sentinel))
    git(git_repo, "config", "diff.evil.textconv", f"{touch(outside.sentinel)}; cat")
    (git_repo / ".gitattributes").write_text("*.py diff=evil\n")
    (git_repo / "calc.py").write_text("changed\n")
    model.set_script([])
    result = run_cli("-m", "scripted", cwd=git_repo, input="/diff\n/quit\n")
    assert_refused(result, outside, asked=None)
    assert "+changed" in result.stdout


def test_read_only_commands_get_the_session_environment(run_cli, model, git_repo, outside):
    """Running without asking changes git's settings, not which variables a command inherits:
    [shell_environment_policy] still leaves out names with KEY, SECRET or TOKEN."""
    result = repl(run_cli, model, git_repo, [shell("cat", "/proc/self/environ")], policy="on-request",
                  env={"DEPLOY_TOKEN": "tok-4c1d-not-for-models", "PLAIN_MARKER": "marker-visible"})
    assert_refused(result, outside, asked=None)
    sent = str(model.chat_requests()[1]["messages"][-1])
    assert "marker-visible" in sent and "GIT_CONFIG_PARAMETERS" in sent  # it ran, hardened
    assert "tok-4c1d-not-for-models" not in sent
