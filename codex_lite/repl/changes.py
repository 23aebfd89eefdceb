"""The REPL's commands about what the session changed: `/diff`, `/review` and `/undo`.

Each works where git is absent too (a router's /etc/config): the changes are then the files this
session's patches changed, against the snapshots undo keeps (snapshots.py, undo.py). `/review`
puts the diff in its prompt (at most MAX_DIFF_CHARS: past that the model is told to read the rest
itself). Commands take the REPL (`repl.session`, `repl.r` the renderer, `repl.ui`, `repl.turn`).
"""

from __future__ import annotations

from typing import Any

from codex_lite import undo
from codex_lite.repl.git_diff import git_diff

MAX_DIFF_CHARS = 48 * 1024
REVIEW_PROMPT = (
    "Review the code changes below as a careful senior engineer. Do not edit any file; only read "
    "(you may run read-only commands to look at more context). Report findings ordered by "
    "priority, each as `[P0]`..`[P3]` (P0: must fix, breaks something or is a security problem; "
    "P1: a real bug; P2: should fix; P3: nit), with the file and line, what is wrong, why it "
    "matters and how to fix it, in a few sentences. Only report problems the changes introduce. "
    "End with a one-line overall verdict. If there is nothing to report, say so plainly.")


def review_prompt(diff: str, source: str, focus: str = "") -> str:
    """The review request for `diff` (from `source`: "git diff" or "this session's patches")."""
    text = diff
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + (f"\n[... the diff goes on for {len(diff) - MAX_DIFF_CHARS} more "
                                        "characters; read those files yourself ...]\n")
    extra = f"\n\nFocus on: {focus}" if focus else ""
    return f"{REVIEW_PROMPT}{extra}\n\nThe changes ({source}):\n\n```diff\n{text}```"


NO_GIT = "no git here: the files this session's patches changed, against their state before"


def working_changes(repl: Any) -> tuple[str, str]:
    """(diff, where it comes from): `git diff` in a repository, else this session's patches.
    git_diff raises DiffDeclined when the repository's config would make git run a program."""
    s = repl.session
    text = git_diff(s.cwd, s.agent.tools.shell.env)
    if text is not None:
        return text, "git diff"
    return undo.session_diff(s.config.codex_home, s.id, s.cwd), NO_GIT


def diff(repl: Any) -> None:
    text, source = working_changes(repl)
    if source != "git diff":
        repl.r.line(NO_GIT, "dim")
    if not text.strip():
        repl.r.line("no changes", "dim")
    else:
        repl.r.diff(text, headers=True)


REVIEW_ONLY = "this is a review: only read-only commands run, nothing may be changed"


def review_changes(repl: Any, focus: str) -> None:
    """A review turn that cannot edit anything: the sandbox is read-only (no patch) and only
    read-only commands run (the others are declined without asking, whatever the approval policy:
    the diff under review may be hostile text that asks the model to run something)."""
    from codex_lite.policy_flags import declining_approver

    text, source = working_changes(repl)
    if not text.strip():
        repl.r.line("nothing to review: no changes" + ("" if source == "git diff" else " in this session"),
                    "dim")
        return
    tools = repl.session.agent.tools
    sandbox, tools.sandbox_mode = tools.sandbox_mode, "read-only"
    approver, tools.approver = tools.approver, declining_approver("untrusted", REVIEW_ONLY)
    repl.r.line(f"reviewing {source if source == 'git diff' else 'this session' + chr(39) + 's patches'} "
                "(read-only: no edits)", "dim")
    try:
        repl.turn(review_prompt(text, source, focus))
    finally:
        tools.sandbox_mode, tools.approver = sandbox, approver


def undo_turn(repl: Any, _: str = "") -> None:
    """Restore the files the last turn's patches changed, after showing what will change."""
    s, r = repl.session, repl.r
    try:
        turn = undo.find_last_turn(s.config.codex_home, s.id, s.cwd)
        if turn is None:
            r.line("nothing to undo in this session (no patches, or undone already)", "dim")
            return
        changes = undo.plan(turn, s.cwd, s.agent.tools.sandbox_mode == "danger-full-access")
    except undo.UndoError as exc:
        r.line(f"undo: {exc}", "yellow")
        return
    r.line("Only files changed by patches are restored; changes made by shell commands are not "
           "covered.", "yellow")
    if not changes:
        undo.remove_turn(turn.path)
        r.line("the files are already as they were before that turn", "dim")
        return
    r.diff(undo.diff_text(changes), headers=True)
    for line in undo.describe(changes):
        r.line(line, indent="  ")
    answer = repl.ui.prompt(f"Restore these {len(changes)} files? [y/N]> ").strip().lower()
    if answer not in ("y", "yes"):
        r.line("nothing was changed", "dim")
        return
    from codex_lite.session import journal_dir

    try:
        undo.restore(turn, changes, s.cwd, journal_dir(s.config))
    except undo.UndoError as exc:
        r.line(f"undo: {exc}", "red")
        return
    r.line(f"restored {len(changes)} files", "green")
    files = ", ".join(c.shown for c in changes)
    s.agent.append({"role": "user", "content": (
        f"Note from codex-lite: the user undid the file changes of your last turn. These files are "
        f"back to what they were before it: {files}. Changes made by shell commands were not undone.")})
