"""Resume only resumes sessions: `exec resume` and `resume` take a session id, or a session file under
$CODEX_HOME/sessions, and nothing else; they never append to another file. The folder a session file
names is data: it is checked and shown, and the workspace (and with it patch confinement) stays the
folder the user started codex-lite in (or -C).

Finding 7 of the trust-boundary issue: `exec resume /any/path` appended to any existing file, and a
session file's `cwd` moved patch confinement wherever it said.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from boundary_support import outside_tree, repl, session_file, snapshot
from scripted_server import completion

pytestmark = pytest.mark.e2e

SID = "0f0e0d0c-0b0a-4009-8807-060504030201"
ADD_PWNED = "*** Begin Patch\n*** Add File: pwned.txt\n+written by a resumed session\n*** End Patch"


def resume(run_cli, target: str, *more: str, cwd: Path | None = None):
    return run_cli("exec", "resume", target, "--json", "-m", "scripted", "-c", "retry.wait_seconds=0",
                   *more, "continue", cwd=cwd)


def not_a_session_target(kind: str, codex_home: Path, git_repo: Path, tmp_path: Path) -> tuple[str, Path]:
    """(what is passed to `exec resume`, the file an attacker wants appended to)."""
    if kind == "outside-file":
        victim = session_file(tmp_path / "elsewhere", SID, str(git_repo))
        return str(victim), victim
    if kind == "workspace-file":
        victim = git_repo / "shared-session.jsonl"
        victim.write_bytes(session_file(tmp_path / "tmp", SID, str(git_repo)).read_bytes())
        return str(victim), victim
    if kind == "relative-path":
        victim = git_repo / "session.jsonl"
        victim.write_bytes(session_file(tmp_path / "tmp", SID, str(git_repo)).read_bytes())
        return "./session.jsonl", victim
    if kind == "dot-dot":
        (codex_home / "sessions").mkdir(exist_ok=True)
        victim = codex_home / "victim.jsonl"
        victim.write_bytes(session_file(tmp_path / "tmp", SID, str(git_repo)).read_bytes())
        return str(codex_home / "sessions" / ".." / "victim.jsonl"), victim
    if kind == "not-jsonl":
        victim = tmp_path / "victim.conf"
        victim.write_text("important = true\n")
        return str(victim), victim
    if kind == "symlink-in-sessions":
        victim = tmp_path / "victim.jsonl"
        victim.write_bytes(session_file(tmp_path / "tmp", SID, str(git_repo)).read_bytes())
        link = codex_home / "sessions" / "2025" / "01" / "02" / f"2025-01-02T10-00-00-{SID}.jsonl"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(victim)
        return SID, victim
    raise AssertionError(kind)


KINDS = ["outside-file", "workspace-file", "relative-path", "dot-dot", "not-jsonl", "symlink-in-sessions"]


@pytest.mark.parametrize("kind", KINDS)
def test_exec_resume_does_not_append_to_a_file_that_is_not_a_session(kind, model, run_cli, codex_home,
                                                                      git_repo, tmp_path):
    target, victim = not_a_session_target(kind, codex_home, git_repo, tmp_path)
    before = victim.read_bytes()
    model.set_script([completion("resumed")])

    r = resume(run_cli, target)

    assert r.returncode == 1, r.describe()
    assert "cannot resume" in r.stderr and "Traceback" not in r.stderr
    assert victim.read_bytes() == before
    assert model.requests() == []


def test_a_session_file_under_codex_home_can_still_be_named_by_its_path(model, run_cli, codex_home, git_repo):
    path = session_file(codex_home, SID, str(git_repo))
    model.set_script([completion("resumed")])

    r = resume(run_cli, str(path))

    assert r.returncode == 0, r.describe()
    assert r.events[0]["thread_id"] == SID
    assert "session_resumed" in path.read_text()


@pytest.mark.parametrize("how", ["by-id", "last"])
def test_a_session_cwd_does_not_move_patch_confinement(how, model, run_cli, codex_home, git_repo, tmp_path):
    out = outside_tree(tmp_path)
    before = snapshot(out["dir"])
    session_file(codex_home, SID, str(out["dir"]))
    escape = ADD_PWNED.replace("pwned.txt", "../outside/escaped.txt")
    model.set_script([completion(tool_calls=[("apply_patch", {"input": ADD_PWNED}, "call_1"),
                                             ("apply_patch", {"input": escape}, "call_2")]),
                      completion("done")])

    r = resume(run_cli, SID if how == "by-id" else "--last")

    assert r.returncode == 0, r.describe()
    assert snapshot(out["dir"]) == before
    assert (git_repo / "pwned.txt").exists()  # the workspace is where codex-lite was started
    assert str(out["dir"]) in r.stderr  # the folder the session worked in is shown
    assert str(git_repo) in r.stderr


@pytest.mark.parametrize("saved", ["missing", "a-file", "relative", "empty"])
def test_a_broken_session_cwd_is_reported_not_used(saved, model, run_cli, codex_home, git_repo, tmp_path):
    cwd = {"missing": str(tmp_path / "gone"), "a-file": str(git_repo / "notes.txt"), "relative": "sub/dir",
           "empty": ""}[saved]
    session_file(codex_home, SID, cwd)
    model.set_script([completion(tool_calls=[("apply_patch", {"input": ADD_PWNED})]), completion("done")])

    r = resume(run_cli, SID)

    assert r.returncode == 0, r.describe()
    assert (git_repo / "pwned.txt").exists()
    assert "Traceback" not in r.stderr
    if saved != "empty":
        assert cwd in r.stderr


def test_the_repl_resume_shows_the_saved_folder_and_stays_in_the_workspace(model, litellm_proxy, codex_home,
                                                                           git_repo, tmp_path):
    out = outside_tree(tmp_path)
    before = snapshot(out["dir"])
    session_file(codex_home, SID, str(out["dir"]))
    model.set_script([completion(tool_calls=[("apply_patch", {"input": ADD_PWNED})]), completion("patched")])
    with repl(litellm_proxy, codex_home, git_repo, 'approval_policy = "never"', ("resume", SID),
              width=160) as term:
        screen = term.wait_for("earlier answer")
        flat = " ".join(screen.split())  # the note is wrapped to the terminal's width
        assert "resumed session" in flat and str(out["dir"]) in flat, screen
        assert f"continues here, in {git_repo}" in flat, screen
        term.type("go on")
        term.wait_for("patched")
        term.type("/quit")
        assert term.wait_dead() == "0"
    assert snapshot(out["dir"]) == before
    assert (git_repo / "pwned.txt").exists()
