"""Red team, "yes, always": the key keeps the program, its subcommand and the words that start
with `-` or hold `=`; every other word is free. That is right for file names, not for arguments
that are themselves a command or a setting:

- tar's old-style options (`tar cf`, no dash) carry their values as separate words: approving
  `tar cf out.tar x` approved `tar cIf 'PROGRAM' out.tar x`, which runs PROGRAM through sh;
- `git config KEY VALUE` writes settings that later (approved) git commands obey (fsmonitor,
  hooksPath, pager, aliases); `git rebase -x CMD`, `git bisect run CMD` and `git submodule
  foreach CMD` run what follows.
Such programs and subcommands are now remembered only exactly. The user says "always" to the first
command and "no" to the next one.
"""

from __future__ import annotations

import pytest
from approval_support import (
    ASK_COMMAND,
    always_then,
    assert_refused,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    repl,
    shell,
    touch,
)

pytestmark = pytest.mark.e2e


def test_tar_old_style_options_run_a_program(run_cli, model, git_repo, outside):
    first = shell("tar", "cf", "out.tar", "calc.py")
    second = shell("tar", "cIf", f"{touch(outside.sentinel)}; cat", "out2.tar", "calc.py")
    assert_refused(always_then(run_cli, model, git_repo, first, second), outside)


@pytest.mark.parametrize("first,second", [
    (("git", "config", "user.name", "T"), ("git", "config", "core.fsmonitor", "touch {s}")),
    (("git", "rebase", "-x", "true", "HEAD"), ("git", "rebase", "-x", "touch {s}", "HEAD")),
    (("git", "bisect", "run", "true"), ("git", "bisect", "run", "touch", "{s}")),
], ids=["config", "rebase-x", "bisect-run"])
def test_git_subcommands_whose_arguments_run_or_configure(first, second, run_cli, model, git_repo, outside):
    second = tuple(w.replace("{s}", str(outside.sentinel)) for w in second)
    result = always_then(run_cli, model, git_repo, shell(*first), shell(*second))
    assert_refused(result, outside)
    assert "core.fsmonitor" not in (git_repo / ".git" / "config").read_text()


def test_file_arguments_stay_free(run_cli, model, git_repo, outside):
    """Ordinary programs keep the wider key: `touch -c` with any file."""
    result = repl(run_cli, model, git_repo, [shell("touch", "-c", "a.txt"), shell("touch", "-c", "b.txt")],
                  answers="a\n")
    assert result.stdout.count(ASK_COMMAND) == 1, result.describe()
    assert_refused(result, outside, asked=None)


def test_a_remembered_command_is_not_reused_outside_the_workspace(run_cli, model, git_repo, outside):
    """`mkdir -p build` remembered in the workspace covered `mkdir -p pwned` run with `workdir`
    outside it (the model chooses workdir): the folder is part of what was approved."""
    first = shell("mkdir", "-p", "build")
    second = ("shell", {"command": ["mkdir", "-p", outside.sentinel.name], "workdir": str(outside.folder)})
    result = always_then(run_cli, model, git_repo, first, second)
    assert_refused(result, outside)
    assert (git_repo / "build").is_dir()


def test_a_remembered_command_still_covers_workspace_subfolders(run_cli, model, git_repo, outside):
    (git_repo / "src").mkdir()
    first = shell("mkdir", "-p", "build")
    second = ("shell", {"command": ["mkdir", "-p", "build"], "workdir": "src"})
    result = repl(run_cli, model, git_repo, [first, second], answers="a\n")
    assert result.stdout.count(ASK_COMMAND) == 1, result.describe()
    assert (git_repo / "src" / "build").is_dir()
    assert_refused(result, outside, asked=None)
