"""Red team, the patch journal under $CODEX_HOME: it is trusted state, acted on at every start.

A journal file that someone else owns (another local user who can write into the journal folder:
a CODEX_HOME under /tmp, a folder left group- or world-writable) used to be acted on like our own,
deleting workspace files at the next start. Only a journal we own is read now.
"""

from __future__ import annotations

import os

import pytest
from boundary_support import EXEC_JSON, journal_bytes
from scripted_server import completion

from codex_lite.tools import patch_fs

pytestmark = pytest.mark.e2e


def test_a_journal_someone_else_owns_is_ignored(model, run_cli, codex_home, git_repo):
    folder = codex_home / patch_fs.JOURNAL_DIR
    folder.mkdir()
    folder.chmod(0o1777)  # like /tmp
    journal = folder / os.path.basename(patch_fs.journal_path(str(folder), str(git_repo)))
    journal.write_bytes(journal_bytes([["ROOT", os.path.realpath(git_repo)],
                                       ["D", os.path.realpath(git_repo / "calc.py")]]))
    os.chown(journal, 4242, 4242)
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert (git_repo / "calc.py").exists()


def test_our_own_journal_is_still_read(model, run_cli, codex_home, git_repo):
    folder = codex_home / patch_fs.JOURNAL_DIR
    folder.mkdir()
    journal = folder / os.path.basename(patch_fs.journal_path(str(folder), str(git_repo)))
    journal.write_bytes(journal_bytes([["ROOT", os.path.realpath(git_repo)],
                                       ["D", os.path.realpath(git_repo / "calc.py")]]))
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert not (git_repo / "calc.py").exists()  # a deletion our killed process left to do
