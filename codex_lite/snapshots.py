"""Undo snapshots, the recording side (undo.py restores; kept apart so exec loads only this).

Before apply_patch commits, `Snapshots.before_commit` appends, for every file this turn had not
recorded yet, its previous bytes to `$CODEX_HOME/undo/<session>/<time_ns>.turn`: a JSON header
line, then per file a JSON line `{"path", "size", "mode"}` and `size` raw bytes (`size` null: the
file did not exist). All turn files stay under `[undo] max_bytes`, oldest pruned first; a turn that
does not fit is marked incomplete and cannot be undone (half an undo would be worse than none).
"""

from __future__ import annotations

import json
import os
import stat
import time

from codex_lite import events as ev

UNDO_DIR = "undo"
SUFFIX = ".turn"


class Snapshots:
    """Bus listener (a TurnStarted opens a new turn) and apply_patch's `before_commit` hook."""

    def __init__(self, codex_home: str, session_id: str, root: str, max_bytes: int):
        self.base = os.path.join(codex_home, UNDO_DIR)
        self.folder = os.path.join(self.base, session_id)
        self.session_id, self.root, self.max_bytes = session_id, os.path.realpath(root), max_bytes
        self.prompt = ""
        self.path: str | None = None   # this turn's file, once a patch wrote something
        self.seen: set[str] = set()
        self.turn_bytes = 0
        self.incomplete = False
        self.recorded = 0              # files recorded in this process (exec's hint)
        self.problem: str | None = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.TurnStarted):
            self.prompt, self.path, self.seen, self.turn_bytes, self.incomplete = event.prompt, None, set(), 0, False

    def before_commit(self, previous: dict[str, bytes | None]) -> None:
        """Record what `previous` (absolute path -> bytes before the patch, None when absent) holds
        for files this turn has not recorded yet. Never raises: undo is a convenience, the patch
        goes on (the failure is remembered in `problem`)."""
        if self.max_bytes <= 0 or self.incomplete:
            return
        new = {p: b for p, b in previous.items() if p not in self.seen}
        if not new:
            return
        try:
            self._append(new)
            self._prune()
        except OSError as exc:
            self.problem = f"undo snapshot not written: {exc.strerror or exc}"

    def _append(self, files: dict[str, bytes | None]) -> None:
        chunks = []
        for path, data in files.items():
            head = {"path": path, "size": None if data is None else len(data), "mode": _mode(path)}
            chunks.append(json.dumps(head).encode() + b"\n" + (data or b""))
        blob = b"".join(chunks)
        if self.path is None:
            header = {"v": 1, "root": self.root, "session": self.session_id, "ts": int(time.time()),
                      "prompt": self.prompt[:200]}
            blob = json.dumps(header).encode() + b"\n" + blob
        if self.turn_bytes + len(blob) > self.max_bytes:
            self.incomplete = True
            blob = b'{"incomplete": true}\n' if self.path else b""
            if not blob:
                return
        if self.path is None:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            self.path = os.path.join(self.folder, f"{time.time_ns():020d}{SUFFIX}")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        self.turn_bytes += len(blob)
        if not self.incomplete:
            self.seen.update(files)
            self.recorded += len(files)

    def _prune(self) -> None:
        """Oldest turn files first (of any session) until all fit in max_bytes; never this turn's."""
        turns = sorted(all_turn_files(self.base), key=lambda t: os.path.basename(t[0]))
        total = sum(size for _, size in turns)
        for path, size in turns:
            if total <= self.max_bytes:
                break
            if path != self.path:
                remove_turn(path)
                total -= size


def _mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def all_turn_files(base: str) -> list[tuple[str, int]]:
    out = []
    try:
        sessions = os.listdir(base)
    except OSError:
        return out
    for name in sessions:
        folder = os.path.join(base, name)
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(SUFFIX):
                path = os.path.join(folder, entry)
                try:
                    out.append((path, os.lstat(path).st_size))
                except OSError:
                    pass
    return out


def remove_turn(path: str) -> None:
    try:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))  # only when it was the session's last one
    except OSError:
        pass
