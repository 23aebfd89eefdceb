"""Red team, git as a read-only program: a hostile repository steering `git status` through config
that the one-folder config check did not read.

A submodule has its own config (`.git/modules/NAME/config`, or `NAME/.git/config` when it is not
absorbed), read by the `git status --porcelain` that git runs inside each submodule. A clean filter
defined there runs on every tracked file of the submodule whose stat data changed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from approval_support import (
    assert_refused,
    git,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    repl,
    shell,
    touch,
)

pytestmark = pytest.mark.e2e


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", "x")


def hostile_superproject(tmp_path: Path, sentinel: Path, absorbed: bool) -> Path:
    """A repository with one submodule `lib` whose own config defines a clean filter that
    touches `sentinel`, with a tracked file whose stat data no longer matches the index."""
    lib = tmp_path / "lib-origin"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    (lib / ".gitattributes").write_text("* filter=evil\n")
    (lib / "data.txt").write_text("data\n")
    _commit(lib)
    top = tmp_path / "top"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    if absorbed:
        git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "lib")
    else:  # an old-style checkout: the submodule's .git is a folder inside the worktree
        subprocess.run(["git", "clone", "-q", str(lib), str(top / "lib")], check=True, capture_output=True)
        git(top, "add", "lib")
    _commit(top)
    config = top / "lib" / ".git" if not absorbed else top / ".git" / "modules" / "lib"
    subprocess.run(["git", "config", "-f", str(config / "config"), "filter.evil.clean",
                    f"sh -c '{touch(sentinel)}; cat'"], check=True)
    data = top / "lib" / "data.txt"
    stamp = data.stat().st_mtime + 7
    os.utime(data, (stamp, stamp))  # same content, new mtime: git must hash it, through the filter
    return top


@pytest.mark.parametrize("absorbed", [True, False], ids=["absorbed", "nested-git-folder"])
@pytest.mark.parametrize("argv", [("git", "status"), ("git", "status", "--ignore-submodules=none"),
                                  ("git", "diff", "--stat")], ids=["status", "status-none", "diff"])
def test_filter_in_a_submodule_config(argv, absorbed, run_cli, model, tmp_path, outside):
    top = hostile_superproject(tmp_path, outside.sentinel, absorbed)
    assert_refused(repl(run_cli, model, top, [shell(*argv)]), outside)


def test_clean_submodule_stays_read_only(run_cli, model, tmp_path, outside):
    """Without a driver in the submodule's config, `git status` still runs unasked."""
    top = hostile_superproject(tmp_path, outside.sentinel, absorbed=True)
    git(top / "lib", "config", "--unset", "filter.evil.clean")
    result = repl(run_cli, model, top, [shell("git", "status")])
    assert_refused(result, outside, asked=None)
    assert "Allow this command?" not in result.stdout
    assert "On branch main" in result.stdout


@pytest.mark.parametrize("where", ["repository", "submodule"])
def test_slash_diff_runs_no_clean_filter(where, run_cli, model, tmp_path, git_repo, outside):
    """/diff switched off external diffs and textconv, but git runs a clean filter on every changed
    file it compares, and in every submodule: /diff now declines such a repository."""
    if where == "submodule":
        top = hostile_superproject(tmp_path, outside.sentinel, absorbed=True)
    else:
        top = git_repo
        git(top, "config", "filter.evil.clean", f"sh -c '{touch(outside.sentinel)}; cat'")
        (top / ".gitattributes").write_text("* filter=evil\n")
        _commit(top)  # (runs the filter once, before the sentinel is watched)
        outside.sentinel.unlink(missing_ok=True)
        notes = top / "notes.txt"
        stamp = notes.stat().st_mtime + 7
        os.utime(notes, (stamp, stamp))
    result = run_cli("-m", "scripted", cwd=top, input="/diff\n/quit\n")
    assert not result.timed_out and result.returncode == 0, result.describe()
    assert not outside.sentinel.exists(), result.describe()
    assert "names a program" in result.stdout, result.describe()
