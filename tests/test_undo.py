"""Issue 16, undo without git, through the real CLI: exec records what its patches changed,
`codex-lite undo` restores it after showing the difference, inside the workspace only."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
from scripted_server import completion

pytestmark = pytest.mark.e2e

BASE = ("-m", "scripted", "-c", "retry.wait_seconds=0")
PATCH = """*** Begin Patch
*** Update File: calc.py
@@
 def add(a, b):
-    return a - b
+    return a + b
*** Add File: sub/new.txt
+brand new
*** Delete File: notes.txt
*** End Patch"""
ORIGINAL_CALC = "def add(a, b):\n    return a - b\n"
ORIGINAL_NOTES = "first line\nsecond line\n"


def patch_run(model, run_cli, patch=PATCH, *args, **kwargs):
    model.set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("patched")])
    return run_cli("exec", *BASE, *args, "patch it", **kwargs)


def session_of(r) -> str:
    found = re.search(r"codex-lite undo(?: -C \S+)? --session (\S+)", r.stderr)
    assert found, r.describe()
    return found.group(1)


def no_traceback(r) -> None:
    assert "Traceback" not in r.output, r.describe()


def test_exec_says_how_to_undo_and_undo_restores_everything(model, run_cli, git_repo, codex_home):
    r = patch_run(model, run_cli)
    assert r.returncode == 0, r.describe()
    assert (git_repo / "calc.py").read_text() != ORIGINAL_CALC
    session = session_of(r)
    assert "3 files" in r.stderr
    # the snapshots are private
    folder = codex_home / "undo" / session
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())

    u = run_cli("undo", "--yes")
    assert u.returncode == 0, u.describe()
    no_traceback(u)
    assert "-    return a + b" in u.stdout and "+    return a - b" in u.stdout  # the diff shown first
    assert "shell commands are not covered" in u.stdout
    assert "restored 3 files" in u.stdout
    assert (git_repo / "calc.py").read_text() == ORIGINAL_CALC
    assert (git_repo / "notes.txt").read_text() == ORIGINAL_NOTES
    assert not (git_repo / "sub").exists()  # the added file and the folder made for it are gone

    again = run_cli("undo", "--yes")
    assert again.returncode == 1
    assert "nothing to undo" in again.stderr


def test_undo_without_a_terminal_asks_for_yes_and_changes_nothing(model, run_cli, git_repo):
    patch_run(model, run_cli)
    u = run_cli("undo", input="y\n")
    assert u.returncode == 1, u.describe()
    assert "--yes" in u.stderr
    assert "calc.py" in u.stdout  # it still showed what would change
    assert (git_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_undo_steps_back_one_turn_at_a_time(model, run_cli, git_repo):
    first = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a * b\n*** End Patch"
    second = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a * b\n+    return a / b\n*** End Patch"
    r1 = patch_run(model, run_cli, first)
    session = session_of(r1)
    model.set_script([completion(tool_calls=[("apply_patch", {"input": second})]), completion("again")])
    r2 = run_cli("exec", "resume", session, *BASE, "once more")
    assert r2.returncode == 0, r2.describe()
    assert session_of(r2) == session
    assert "a / b" in (git_repo / "calc.py").read_text()
    assert run_cli("undo", "--session", session, "--yes").returncode == 0
    assert "a * b" in (git_repo / "calc.py").read_text()
    assert run_cli("undo", "--session", session, "--yes").returncode == 0
    assert (git_repo / "calc.py").read_text() == ORIGINAL_CALC


def test_undo_picks_the_newest_turn_of_this_workspace(model, run_cli, git_repo, tmp_path):
    from support.git import make_git_repo

    other = make_git_repo(tmp_path / "other")
    patch_run(model, run_cli)                 # in git_repo
    patch_run(model, run_cli, cwd=other)      # newer, elsewhere
    u = run_cli("undo", "--yes")              # run in git_repo
    assert u.returncode == 0, u.describe()
    assert (git_repo / "calc.py").read_text() == ORIGINAL_CALC
    assert (other / "calc.py").read_text() != ORIGINAL_CALC


def test_undo_of_another_workspaces_session_is_refused(model, run_cli, git_repo, tmp_path):
    r = patch_run(model, run_cli)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    u = run_cli("undo", "--session", session_of(r), "--yes", cwd=elsewhere)
    assert u.returncode == 1
    assert "recorded in" in u.stderr and str(git_repo) in u.stderr
    assert (git_repo / "calc.py").read_text() != ORIGINAL_CALC
    u = run_cli("undo", "-C", str(git_repo), "--session", session_of(r), "--yes", cwd=elsewhere)
    assert u.returncode == 0, u.describe()
    assert (git_repo / "calc.py").read_text() == ORIGINAL_CALC


def test_a_folder_swapped_for_a_symlink_is_not_followed(model, run_cli, git_repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "new.txt").write_text("outside, keep me\n")
    r = patch_run(model, run_cli)
    assert r.returncode == 0, r.describe()
    # a later shell command replaced sub/ by a link to a folder outside the workspace
    (git_repo / "sub" / "new.txt").unlink()
    (git_repo / "sub").rmdir()
    os.symlink(outside, git_repo / "sub")
    u = run_cli("undo", "--yes")
    assert u.returncode == 1, u.describe()
    no_traceback(u)
    assert "symlink" in u.stderr
    assert (outside / "new.txt").read_text() == "outside, keep me\n"
    assert (git_repo / "calc.py").read_text() != ORIGINAL_CALC  # all or nothing


def _forge(codex_home, session: str, root: str, files: list[tuple[str, bytes | None]]) -> None:
    folder = codex_home / "undo" / session
    folder.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"v": 1, "root": root, "session": session, "ts": 1, "prompt": "x"}).encode() + b"\n"
    for path, data in files:
        blob += json.dumps({"path": path, "size": None if data is None else len(data), "mode": None}).encode()
        blob += b"\n" + (data or b"")
    (folder / "99999999999999999999.turn").write_bytes(blob)


def test_a_forged_snapshot_cannot_write_outside_the_workspace(run_cli, git_repo, codex_home, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("intact\n")
    real = os.path.realpath(git_repo)
    _forge(codex_home, "forged-outside", real, [(str(victim), b"owned\n")])
    u = run_cli("undo", "--session", "forged-outside", "--yes")
    assert u.returncode == 1
    assert "outside the workspace" in u.stderr
    _forge(codex_home, "forged-dotdot", real, [(real + "/../victim.txt", b"owned\n")])
    u = run_cli("undo", "--session", "forged-dotdot", "--yes")
    assert u.returncode == 1
    _forge(codex_home, "forged-root", "/", [(str(victim), b"owned\n")])
    u = run_cli("undo", "--session", "forged-root", "--yes")
    assert u.returncode == 1 and "recorded in /" in u.stderr
    assert victim.read_text() == "intact\n"


def test_snapshots_stay_under_max_bytes_oldest_pruned_first(model, run_cli, git_repo, codex_home):
    (git_repo / "big.txt").write_text("x" * 3000 + "\n")
    edit = "*** Begin Patch\n*** Update File: big.txt\n@@\n-{old}\n+{new}\n*** End Patch"
    limit = ("-c", "undo.max_bytes=8000")
    sessions = []
    text = "x" * 3000
    for n in range(4):
        new = str(n) * 3000
        r = patch_run(model, run_cli, edit.format(old=text, new=new), *limit)
        assert r.returncode == 0, r.describe()
        sessions.append(session_of(r))
        text = new
    total = sum(p.stat().st_size for p in (codex_home / "undo").rglob("*.turn"))
    assert 0 < total <= 8000
    assert not (codex_home / "undo" / sessions[0]).exists()  # the oldest went first
    assert (codex_home / "undo" / sessions[-1]).exists()


def test_a_turn_bigger_than_max_bytes_cannot_be_undone_and_exec_says_so(model, run_cli, git_repo):
    (git_repo / "big.txt").write_text("y" * 5000 + "\n")
    edit = "*** Begin Patch\n*** Update File: big.txt\n@@\n-" + "y" * 5000 + "\n+short\n*** End Patch"
    r = patch_run(model, run_cli, edit, "-c", "undo.max_bytes=1000")
    assert r.returncode == 0, r.describe()
    assert "cannot be undone" in r.stderr
    assert (git_repo / "big.txt").read_text() == "short\n"  # the patch itself went through


def test_a_deleted_executable_comes_back_executable(model, run_cli, git_repo):
    script = git_repo / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    r = patch_run(model, run_cli, "*** Begin Patch\n*** Delete File: run.sh\n*** End Patch")
    assert r.returncode == 0 and not script.exists(), r.describe()
    assert run_cli("undo", "--yes").returncode == 0
    assert script.read_text() == "#!/bin/sh\necho hi\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


def test_two_patches_and_a_move_in_one_turn_come_back_as_before_the_turn(model, run_cli, git_repo):
    first = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a * b\n*** End Patch"
    move = ("*** Begin Patch\n*** Update File: calc.py\n*** Move to: lib/calc2.py\n@@\n-    return a * b\n"
            "+    return a + b\n*** End Patch")
    model.set_script([completion(tool_calls=[("apply_patch", {"input": first})]),
                      completion(tool_calls=[("apply_patch", {"input": move})]), completion("moved")])
    r = run_cli("exec", *BASE, "edit then move")
    assert r.returncode == 0, r.describe()
    assert not (git_repo / "calc.py").exists() and (git_repo / "lib" / "calc2.py").exists()
    u = run_cli("undo", "--yes")
    assert u.returncode == 0, u.describe()
    assert (git_repo / "calc.py").read_text() == ORIGINAL_CALC  # the state before the turn, not between
    assert not (git_repo / "lib").exists()


def test_the_undo_hint_is_a_command_that_works_as_printed(model, run_cli, tmp_path, git_repo):
    """One file is "1 file"; a -C folder with a space is quoted, so the line can be pasted."""
    spaced = tmp_path / "my project"
    git_repo.rename(spaced)
    one_file = "*** Begin Patch\n*** Add File: only.txt\n+one\n*** End Patch"
    r = patch_run(model, run_cli, one_file, "-C", str(spaced), cwd=tmp_path)
    assert r.returncode == 0, r.describe()
    line = next(x for x in r.stderr.splitlines() if "codex-lite undo" in x)
    assert "(1 file):" in line, line
    command = line.split(": ", 2)[-1]
    assert command.startswith("codex-lite undo -C '") and "my project'" in command, command
    import shlex
    argv = shlex.split(command)
    u = run_cli(*argv[1:], "--yes", cwd=tmp_path)
    assert u.returncode == 0, u.describe()
    assert not (spaced / "only.txt").exists()
