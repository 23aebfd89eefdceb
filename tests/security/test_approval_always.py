"""Finding 5: "yes, always" used to be remembered by the program's basename (and for git with
options before its subcommand, for git as a whole). Now it is keyed on the absolute path PATH
finds, the subcommand and the options that matter; shells, interpreters, `git -c` and scripts are
remembered only exactly. The user says "always" to the first command and "no" to the next one.
"""

from __future__ import annotations

import pytest
from approval_support import (
    always_then,
    assert_refused,
    executable,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    repl,
    shell,
    touch,
)

pytestmark = pytest.mark.e2e


def test_a_script_elsewhere_with_the_same_name(run_cli, model, git_repo, outside):
    executable(git_repo / "scripts" / "build.sh", "#!/bin/sh\necho built\n")
    other = outside.add("build.sh", f"#!/bin/sh\n{touch(outside.sentinel)}\n", 0o755)
    result = always_then(run_cli, model, git_repo, shell("./scripts/build.sh"), shell(str(other)))
    assert_refused(result, outside)


def test_a_different_script_at_a_path_with_the_same_name(run_cli, model, git_repo, outside):
    executable(git_repo / "build.sh", "#!/bin/sh\necho built\n")
    executable(git_repo / "sub" / "build.sh", f"#!/bin/sh\n{touch(outside.sentinel)}\n")
    result = always_then(run_cli, model, git_repo, shell("./build.sh"), shell("sub/build.sh"))
    assert_refused(result, outside)


def test_git_dash_c_is_never_generalised(run_cli, model, git_repo, outside):
    first = shell("git", "-c", "color.ui=never", "log", "-1")
    second = shell("git", "-c", f"core.fsmonitor={touch(outside.sentinel)}", "status")
    assert_refused(always_then(run_cli, model, git_repo, first, second), outside)


def test_an_interpreter_is_never_generalised(run_cli, model, git_repo, outside):
    first = shell("python3", "-c", "print('hello')")
    second = shell("python3", "-c", f"open({str(outside.sentinel)!r}, 'w')")
    assert_refused(always_then(run_cli, model, git_repo, first, second), outside)


def test_a_shell_script_is_never_generalised(run_cli, model, git_repo, outside):
    first = shell("sh", "-c", "echo one > inside.txt")
    second = shell("sh", "-c", touch(outside.sentinel))
    assert_refused(always_then(run_cli, model, git_repo, first, second), outside)


def test_options_that_matter_are_part_of_the_key(run_cli, model, git_repo, outside):
    """`make test` approved for the session does not cover `make test --eval=...`."""
    (git_repo / "Makefile").write_text("test:\n\t@echo tested\n")
    second = shell("make", "test", f"--eval=$(shell {touch(outside.sentinel)})")
    assert_refused(always_then(run_cli, model, git_repo, shell("make", "test"), second), outside)


def test_variable_overrides_are_part_of_the_key(run_cli, model, git_repo, outside):
    (git_repo / "Makefile").write_text("test:\n\t@$(RUN) tested\n")
    first = shell("make", "test", "RUN=echo")
    second = shell("make", "test", f"RUN={touch(outside.sentinel)}; echo")
    assert_refused(always_then(run_cli, model, git_repo, first, second), outside)


def test_the_always_label_names_the_path_and_the_options(run_cli, model, git_repo, outside):
    result = repl(run_cli, model, git_repo, [shell("touch", "-c", "new.txt")], answers="n\n\n")
    assert "with any other arguments" in result.stdout and "/touch -c" in result.stdout
    assert_refused(result, outside)
