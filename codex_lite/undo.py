"""Undo without git: `codex-lite undo` and `/undo` restore the files a session's last turn patched
(snapshots.py keeps them), then drop that turn, so the next undo steps one turn further back.
Changes made by shell commands are not covered, and the user is told so.

Restoring follows apply_patch's trust rules: only in the workspace the command runs in (a forged
turn file cannot name `/` as its workspace), paths confined with symlinks resolved
(`patch_fs.resolve`: a folder since swapped for a link to /etc is refused), all or nothing
(`patch_fs.Commit`); paths outside the workspace only under danger-full-access. Turn files are read
only when they are regular files of ours.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from typing import Any

from codex_lite.records import dataclass, field
from codex_lite.snapshots import SUFFIX, UNDO_DIR, all_turn_files, remove_turn

MAX_TURN_FILE_BYTES = 1 << 30


class UndoError(Exception):
    """Undo cannot proceed; the message says why, for the user."""


# -- reading ----------------------------------------------------------------------------------------


@dataclass
class Turn:
    path: str
    root: str
    session: str
    ts: int
    prompt: str
    files: list[tuple[str, bytes | None, int | None]] = field(default_factory=list)
    incomplete: bool = False


def load_turn(path: str) -> Turn:
    """A turn file, read only when it is a regular file of ours; UndoError when it is unusable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise UndoError(f"cannot read the snapshot {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > MAX_TURN_FILE_BYTES:
            raise UndoError(f"the snapshot {path} is not a file codex-lite wrote; it was left alone")
        data = fh.read()
    try:
        return _parse(path, data)
    except (ValueError, KeyError, TypeError):
        raise UndoError(f"the snapshot {path} is damaged; it was left alone") from None


def _parse(path: str, data: bytes) -> Turn:
    end = data.index(b"\n")
    head = json.loads(data[:end])
    turn = Turn(path, str(head["root"]), str(head["session"]), int(head["ts"]), str(head.get("prompt", "")))
    at = end + 1
    while at < len(data):
        end = data.index(b"\n", at)
        record = json.loads(data[at:end])
        at = end + 1
        if record.get("incomplete"):
            turn.incomplete = True
            continue
        size = record["size"]
        content = None if size is None else data[at:at + int(size)]
        if content is not None and len(content) != size:
            raise ValueError("truncated")
        at += 0 if size is None else int(size)
        mode = record.get("mode")
        turn.files.append((str(record["path"]), content, mode if isinstance(mode, int) else None))
    return turn


def session_turns(codex_home: str, session_id: str) -> list[str]:
    """The turn files of a session, oldest first."""
    folder = os.path.join(codex_home, UNDO_DIR, os.path.basename(session_id))
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names]


def find_last_turn(codex_home: str, session_id: str | None, workspace: str) -> Turn | None:
    """The newest turn of `session_id`, or without one the newest turn recorded in `workspace`."""
    if session_id:
        paths = session_turns(codex_home, session_id)
        return load_turn(paths[-1]) if paths else None
    real = os.path.realpath(workspace)
    paths = sorted(all_turn_files(os.path.join(codex_home, UNDO_DIR)), key=lambda t: os.path.basename(t[0]))
    for path, _ in reversed(paths):
        try:
            turn = load_turn(path)
        except UndoError:
            continue
        if turn.root == real:
            return turn
    return None


def session_originals(codex_home: str, session_id: str) -> dict[str, bytes | None]:
    """Every file a session's patches changed -> its contents before the session first did."""
    out: dict[str, bytes | None] = {}
    for path in session_turns(codex_home, session_id):
        try:
            turn = load_turn(path)
        except UndoError:
            continue
        for name, content, _ in turn.files:
            out.setdefault(name, content)
    return out


# -- restoring --------------------------------------------------------------------------------------


@dataclass
class Change:
    path: str                 # absolute, confined
    shown: str                # relative to the workspace when inside it
    current: bytes | None     # what is there now (None: absent)
    previous: bytes | None    # what undo puts back (None: delete)
    mode: int | None = None


def plan(turn: Turn, workspace: str, allow_outside: bool = False) -> list[Change]:
    """What restoring `turn` in `workspace` changes; UndoError for another workspace's turn, an
    incomplete one, or a path leading out of the workspace (unless `allow_outside`)."""
    from codex_lite.tools.patch_fs import FsError, resolve

    root = os.path.realpath(workspace)
    if turn.root != root:
        raise UndoError(f"that turn was recorded in {turn.root}, not here ({root}); run the undo "
                        f"there (codex-lite undo -C {turn.root})")
    if turn.incomplete:
        raise UndoError("that turn changed more than [undo] max_bytes can hold, so it cannot be undone "
                        "(raise [undo] max_bytes in config.toml to keep bigger turns)")
    changes = []
    for name, previous, mode in turn.files:
        inside = os.path.isabs(name) and os.path.normpath(name) == name and \
            (name + os.sep).startswith(root.rstrip(os.sep) + os.sep)
        shown = os.path.relpath(name, root) if inside else name
        if not inside and not allow_outside:
            raise UndoError(f"{name} is outside the workspace (patched under danger-full-access); "
                            "undo it with -s danger-full-access")
        try:
            full = resolve(root, shown, allow_outside=allow_outside and not inside)
        except FsError as exc:
            raise UndoError(f"not restored: {exc}") from None
        current = _current(full, shown)
        if current != previous:
            changes.append(Change(full, shown, current, previous, mode))
    return changes


def _current(full: str, shown: str) -> bytes | None:
    from codex_lite.tools.patch_fs import FsError, check_writable_target, read_bytes

    try:
        check_writable_target(full, shown)
        return read_bytes(full, shown) if os.path.lexists(full) else None
    except FsError as exc:
        raise UndoError(f"not restored: {exc}") from None


def restore(turn: Turn, changes: list[Change], workspace: str, journal_dir: str | None = None) -> None:
    """Put the previous contents back, all or nothing, then forget the turn."""
    from codex_lite.tools.patch_fs import Commit, FsError

    writes = {c.path: c.previous for c in changes if c.previous is not None}
    deletes = [c.path for c in changes if c.previous is None and c.current is not None]
    originals = {c.path: c.current for c in changes if c.current is not None}
    try:
        Commit(writes, deletes, originals, os.path.realpath(workspace), journal_dir).run()
    except FsError as exc:
        raise UndoError(f"nothing was restored: {exc}") from None
    for c in changes:
        if c.previous is not None and c.mode is not None and c.current is None:
            try:
                os.chmod(c.path, c.mode)  # a deleted file comes back with its mode
            except OSError:
                pass
    remove_turn(turn.path)


def describe(changes: list[Change]) -> list[str]:
    """`M path`, `A path` (undo creates it again), `D path` (undo deletes it)."""
    return [f"{'D' if c.previous is None else 'A' if c.current is None else 'M'} {c.shown}" for c in changes]


def diff_text(changes: list[Change]) -> str:
    """A unified diff from what is there now to what undo puts back."""
    parts = [file_diff(c.shown, c.current, c.previous) for c in changes]
    return "".join(parts)


def file_diff(shown: str, before: bytes | None, after: bytes | None) -> str:
    import difflib

    if any(b is not None and b"\0" in b[:8192] for b in (before, after)):
        return f"Binary file {shown} differs\n"
    a = _lines(before)
    b = _lines(after)
    lines = difflib.unified_diff(a, b, "/dev/null" if before is None else "a/" + shown,
                                 "/dev/null" if after is None else "b/" + shown)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)


# -- `codex-lite undo` ------------------------------------------------------------------------------


def main(args: Any) -> int:
    from codex_lite import config as cfg_mod
    from codex_lite import policy_flags
    from codex_lite.security.visible import visible

    config = cfg_mod.load(args.config_overrides, args.profile, args.model)
    policy_flags.apply(config, args)
    workspace = os.path.abspath(args.cd or os.getcwd())
    say = lambda text="": print(visible(text))  # noqa: E731
    try:
        turn = find_last_turn(config.codex_home, args.session, workspace)
        if turn is None:
            which = f"session {args.session}" if args.session else visible(workspace)
            print(f"codex-lite undo: nothing to undo for {which} (no patches recorded, or undone "
                  "already)", file=sys.stderr)
            return 1
        changes = plan(turn, workspace, config.sandbox_mode == "danger-full-access")
    except UndoError as exc:
        print(f"codex-lite undo: {visible(str(exc))}", file=sys.stderr)
        return 1
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(turn.ts))
    say(f"Undo the last turn of session {turn.session} ({when}): {turn.prompt[:80]!r}")
    say("Only files changed by patches are restored; changes made by shell commands are not covered.")
    if not changes:
        remove_turn(turn.path)
        say("The files are already as they were before that turn; nothing to restore.")
        return 0
    say(diff_text(changes).rstrip("\n"))
    for line in describe(changes):
        say("  " + line)
    if not args.yes and not _confirm(f"Restore these {len(changes)} files? [y/N] "):
        say("nothing was changed")
        return 1
    from codex_lite.session import journal_dir

    try:
        restore(turn, changes, workspace, journal_dir(config))
    except UndoError as exc:
        print(f"codex-lite undo: {visible(str(exc))}", file=sys.stderr)
        return 1
    say(f"restored {len(changes)} files")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        print("codex-lite undo: not restored: confirm in a terminal, or pass --yes", file=sys.stderr)
        return False
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def session_diff(codex_home: str, session_id: str, workspace: str) -> str:
    """The diff of what this session's patches changed (for /diff and /review without git)."""
    from codex_lite.tools.patch_fs import FsError, read_bytes, resolve

    root = os.path.realpath(workspace)
    parts = []
    for name, before in session_originals(codex_home, session_id).items():
        if not (name + os.sep).startswith(root.rstrip(os.sep) + os.sep):
            continue
        shown = os.path.relpath(name, root)
        try:
            full = resolve(root, shown, False)
            now = read_bytes(full, shown) if os.path.lexists(full) else None
        except FsError:
            continue
        if now != before:
            parts.append(file_diff(shown, before, now))
    return "".join(parts)
