"""Prompt history across sessions: `$CODEX_HOME/history.jsonl` in Codex's format, one
`{"session_id", "ts", "text"}` a line, appended in one write (O_APPEND, 0600, flock), secrets
redacted first. `[history] persistence = "save-all" | "none"` and `max_bytes`: routers have flash,
not disks, so past `max_bytes` the file is rewritten keeping the newest lines that fit in three
quarters of it (rarely, so the flash is not rewritten on every prompt).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

FILE_NAME = "history.jsonl"
DEFAULT_MAX_BYTES = 256 * 1024
READ_MAX_ENTRIES = 1000


def settings(config: Any) -> tuple[bool, int]:
    """(save it?, max_bytes) from the [history] table."""
    table = getattr(config, "history", None) or {}
    max_bytes = table.get("max_bytes", DEFAULT_MAX_BYTES)
    return table.get("persistence", "save-all") == "save-all" and max_bytes > 0, max_bytes


def path_in(codex_home: str) -> str:
    return os.path.join(codex_home, FILE_NAME)


def append(codex_home: str, session_id: str, text: str, max_bytes: int = DEFAULT_MAX_BYTES,
           redact: Any = None) -> None:
    """Add one prompt; OSError when the file cannot be written (the REPL says so once)."""
    if redact is not None:
        text = redact(text)
    line = json.dumps({"session_id": session_id, "ts": int(time.time()), "text": text},
                      ensure_ascii=False).encode("utf-8") + b"\n"
    if len(line) > max_bytes:  # one giant paste must not evict the whole history
        return
    os.makedirs(codex_home, mode=0o700, exist_ok=True)
    path = path_in(codex_home)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        _lock(fd)
        os.write(fd, line)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)  # closing releases the lock
    if size > max_bytes:
        _trim(path, max_bytes * 3 // 4)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - a Python without fcntl: single writes are enough
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _trim(path: str, keep_bytes: int) -> None:
    """Keep the newest whole lines that fit in `keep_bytes`, replacing the file atomically."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - keep_bytes))
            tail = f.read()
    except OSError:
        return
    if size > keep_bytes:
        tail = tail[tail.find(b"\n") + 1:]
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(tail)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def entries(codex_home: str, limit: int = READ_MAX_ENTRIES) -> list[str]:
    """The texts of the newest `limit` entries, oldest first; damaged lines are skipped."""
    try:
        with open(path_in(codex_home), "rb") as f:
            data = f.read(8 << 20)
    except OSError:
        return []
    out = []
    for raw in data.splitlines()[-limit:]:
        try:
            text = json.loads(raw).get("text")
        except (ValueError, AttributeError):
            continue
        if isinstance(text, str) and text.strip():
            out.append(text)
    return out
