"""Start-up touches nothing: a repository cannot make codex-lite move or delete files by shipping a
crash-recovery journal, and the journal codex-lite keeps for itself (under $CODEX_HOME, keyed by
workspace) is only acted on when every path in it is one of our own temporary files or a file inside
the workspace it names.

Finding 1 of the trust-boundary issue: a `.codex-lite-patch.journal` committed to a repository, with
absolute paths, made every `exec` and REPL start rename and delete files outside the workspace before
the model answered, even with sandbox_mode=read-only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from boundary_support import EXEC_JSON, journal_bytes, outside_tree, repl, snapshot
from scripted_server import completion

from codex_lite.tools import patch_fs

pytestmark = pytest.mark.e2e

WORKSPACE_JOURNAL = ".codex-lite-patch.journal"  # the name codex-lite used to trust in a workspace


def hostile_journal(out: dict[str, Path]) -> bytes:
    """Rename the attacker's payload over a file outside the workspace and delete another one."""
    return journal_bytes([["R", str(out["payload"]), str(out["victim"])], ["D", str(out["delete_me"])]])


@pytest.mark.parametrize("sandbox", ["read-only", "workspace-write", "danger-full-access"])
def test_a_journal_shipped_in_a_repository_is_just_a_file(sandbox, model, run_cli, git_repo, tmp_path):
    out = outside_tree(tmp_path)
    before = snapshot(out["dir"])
    journal = git_repo / WORKSPACE_JOURNAL
    journal.write_bytes(hostile_journal(out))
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "-c", f"sandbox_mode={sandbox}", "say hello")

    assert r.returncode == 0, r.describe()
    assert snapshot(out["dir"]) == before, "files outside the workspace changed at start-up"
    assert journal.read_bytes() == hostile_journal(out)  # not consumed, not deleted: just a file


def test_a_repository_journal_cannot_delete_workspace_files_either(model, run_cli, git_repo):
    journal = git_repo / WORKSPACE_JOURNAL
    journal.write_bytes(journal_bytes([["D", str(git_repo / "calc.py")],
                                       ["R", str(git_repo / "notes.txt"), str(git_repo / "README.md")]]))
    readme = (git_repo / "README.md").read_bytes()
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert (git_repo / "calc.py").exists() and (git_repo / "notes.txt").exists()
    assert (git_repo / "README.md").read_bytes() == readme


def test_the_repl_start_ignores_a_repository_journal_too(model, litellm_proxy, codex_home, git_repo,
                                                        tmp_path):
    """The REPL opens its session the same way; under tmux, as a user starts it."""
    out = outside_tree(tmp_path)
    before = snapshot(out["dir"])
    (git_repo / WORKSPACE_JOURNAL).write_bytes(hostile_journal(out))
    with repl(litellm_proxy, codex_home, git_repo, 'sandbox_mode = "read-only"') as term:
        term.wait_for("/help for commands")
        assert snapshot(out["dir"]) == before
        term.type("/quit")
        assert term.wait_dead() == "0"
    assert snapshot(out["dir"]) == before
    assert model.requests() == []


# ---- the journal codex-lite keeps for itself, under CODEX_HOME ----------------------------------


def own_journal(codex_home: Path, workspace: Path) -> Path:
    path = Path(patch_fs.journal_path(str(codex_home / patch_fs.JOURNAL_DIR), str(workspace)))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def forged_records(name: str, repo: Path, out: dict[str, Path]) -> list[list[str]]:
    tmp = repo / ".calc.py.apply_patch.tmp"
    tmp.write_text("print('rolled forward')\n")
    return {
        # a rename onto a file outside the workspace, from a temporary file of our own naming
        "rename-out": [["ROOT", str(repo)], ["R", str(tmp), str(out["victim"])]],
        # an outside file renamed into the workspace (the source is not one of our temporary files)
        "rename-in": [["ROOT", str(repo)], ["R", str(out["payload"]), str(repo / "calc.py")]],
        # a workspace file that is not a temporary file of ours renamed over another one
        "not-our-temp": [["ROOT", str(repo)], ["R", str(repo / "notes.txt"), str(repo / "calc.py")]],
        # a temporary file named for one file renamed over a different one
        "temp-for-another-file": [["ROOT", str(repo)], ["R", str(tmp), str(repo / "notes.txt")]],
        # a deletion outside the workspace
        "delete-out": [["ROOT", str(repo)], ["D", str(out["delete_me"])]],
        # paths that climb out with ..
        "dot-dot": [["ROOT", str(repo)], ["D", str(repo / ".." / "outside" / "delete_me.txt")]],
        # a journal that names another root than the workspace it is filed under
        "other-root": [["ROOT", str(out["dir"])], ["D", str(out["delete_me"])]],
        # no root at all (the old format)
        "no-root": [["D", str(out["delete_me"])], ["R", str(tmp), str(repo / "calc.py")]],
    }[name]


@pytest.mark.parametrize("name", ["rename-out", "rename-in", "not-our-temp", "temp-for-another-file",
                                  "delete-out", "dot-dot", "other-root", "no-root"])
def test_a_forged_journal_under_codex_home_is_refused(name, model, run_cli, codex_home, git_repo, tmp_path):
    out = outside_tree(tmp_path)
    records = forged_records(name, git_repo, out)
    own_journal(codex_home, git_repo).write_bytes(journal_bytes(records))
    outside_before, inside_before = snapshot(out["dir"]), snapshot(git_repo)
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert snapshot(out["dir"]) == outside_before
    assert snapshot(git_repo) == inside_before


def test_a_real_interrupted_patch_is_still_finished_at_start_up(model, run_cli, codex_home, git_repo):
    """The journal still does its job: a patch killed between two renames is completed on the next
    start, inside the workspace it belongs to."""
    killer = (
        "import os, sys\n"
        "from codex_lite.tools.apply_patch import apply_patch\n"
        "real, calls = os.replace, []\n"
        "def dying(src, dst):\n"
        "    calls.append(dst)\n"
        "    if len(calls) == 2:\n"
        "        os._exit(9)\n"
        "    real(src, dst)\n"
        "os.replace = dying\n"
        "apply_patch(sys.argv[2], sys.argv[1], journal_dir=sys.argv[3])\n")
    patch = ("*** Begin Patch\n*** Update File: notes.txt\n@@\n-first line\n+1st line\n"
             "*** Add File: added.txt\n+new\n*** Delete File: README.md\n*** End Patch")
    journals = codex_home / patch_fs.JOURNAL_DIR
    done = subprocess.run([sys.executable, "-c", killer, str(git_repo), patch, str(journals)],
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 9, done.stderr
    assert (git_repo / "README.md").exists()  # half applied for now
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert (git_repo / "notes.txt").read_text() == "1st line\nsecond line\n"
    assert (git_repo / "added.txt").read_text() == "new\n"
    assert not (git_repo / "README.md").exists()
    assert not [p for p in os.listdir(git_repo) if "apply_patch.tmp" in p]
    assert not list(journals.iterdir())
