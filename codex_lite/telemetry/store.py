"""The log folder: our files only, under one lock, pruned oldest first under max_total_bytes.

    Folder(path, cap): `with folder:` holds the writer lock (size checks and writes happen under it)
        folder.room(need) -> int       bytes free under the cap once our oldest unheld files are pruned
        folder.open_held(name, header) an append-only fd with a shared flock (so others skip it)
    prune(path, cap, need=0) -> int    our files' size after pruning
    header(key) -> bytes               the marker line our trace ("event") and usage ("type") files begin with
    read_summary(folder) -> dict|None  the all-time totals; parse_summary(raw) the same from bytes
    write_all(fd, data), read_fd(fd)   whole-buffer write and whole-file read

Why apart: this is where the byte cap is enforced, in one place (`Folder.room`), and where the
shared-folder rules live: only files with our name pattern that begin with MARKER are counted and
pruned, a file another run holds (shared flock) is never deleted.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from codex_lite.telemetry.totals import empty_totals, merge_totals

SUMMARY_NAME = "usage-summary.json"
LOCK_NAME = ".lock"
MARKER = b'{"writer":"codex-lite telemetry"'  # how our trace and usage files begin (see header)
_OWN_NAME = re.compile(r"(?:debug-\d{8}T\d{6}Z-\d+(?:\.\d+)?"
                       r"|usage-[\w-]{1,64}(?:\.\d{8}T\d{6}Z-\d+-\d+)?)\.jsonl")
_marked_cache: dict[tuple[str, int], bool] = {}


def header(key: str) -> bytes:
    """The first line of every trace (key "event") and usage (key "type") file we create: the
    marker that lets pruning tell our files from others' in a shared folder."""
    return MARKER + f',"format":1,"{key}":"file.header"}}\n'.encode()


def _own_files(path: str) -> tuple[int, list[tuple[float, int, str]]]:
    """(bytes of our files, our prunable files oldest first as (mtime, size, path)). Ours: the
    summary, the lock, and files with our name pattern that start with our marker. Anything else
    in the folder (other programs' files, sub-folders) is neither counted nor ever deleted."""
    total, found = 0, []
    with os.scandir(path) as entries:
        for entry in entries:
            name = entry.name
            if not entry.is_file(follow_symlinks=False):
                continue
            fixed = name in (SUMMARY_NAME, LOCK_NAME)
            if not fixed and not (_OWN_NAME.fullmatch(name) and _marked(entry)):
                continue
            st = entry.stat(follow_symlinks=False)
            total += st.st_size
            if not fixed:
                found.append((st.st_mtime, st.st_size, entry.path))
    found.sort()
    return total, found


def _marked(entry: os.DirEntry) -> bool:
    """Does the file start with our marker? Remembered per name and inode, so a folder of many
    files costs one read per new file, not one per write."""
    key = (entry.path, entry.inode())
    known = _marked_cache.get(key)
    if known is None:
        try:
            with open(entry.path, "rb") as f:
                known = f.read(len(MARKER)) == MARKER
        except OSError:
            known = False
        if len(_marked_cache) > 4096:
            _marked_cache.clear()
        _marked_cache[key] = known
    return known


def _remove_if_free(path: str) -> bool:
    """Deletes a log file unless a running process holds it (each run keeps a shared flock on the
    files it writes); True when it was deleted."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        os.unlink(path)
        for key in [k for k in _marked_cache if k[0] == path]:  # its inode may come back for another file
            del _marked_cache[key]
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


def prune(path: str, cap: int, need: int = 0) -> int:
    """Deletes our oldest unheld log files until they plus `need` bytes fit in `cap`; returns the
    size of our files afterwards."""
    used, ours = _own_files(path)
    if used + need <= cap:
        return used
    for _mtime, size, victim in ours:
        if _remove_if_free(victim):
            used -= size
            if used + need <= cap:
                break
    return used


class Folder:
    """The log folder and its writer lock. Every size check and write happens with the lock held,
    so concurrent runs together still never go above the cap."""

    def __init__(self, path: str, cap: int):
        import fcntl

        self.path, self.cap, self._fcntl = path, cap, fcntl
        os.makedirs(path, exist_ok=True)
        self.lock_fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> Folder:  # noqa: PYI034
        self._fcntl.flock(self.lock_fd, self._fcntl.LOCK_EX)
        if os.fstat(self.lock_fd).st_nlink == 0 or not os.path.isdir(self.path):
            self._fcntl.flock(self.lock_fd, self._fcntl.LOCK_UN)
            raise FileNotFoundError(f"the log folder {self.path} was deleted")
        return self

    def __exit__(self, *exc: object) -> None:
        self._fcntl.flock(self.lock_fd, self._fcntl.LOCK_UN)

    def open_held(self, name: str, header: bytes) -> int:
        """An append-only descriptor with a shared flock, so pruning by other runs skips the file;
        a new file starts with `header` (our marker)."""
        fd = os.open(os.path.join(self.path, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fcntl.flock(fd, self._fcntl.LOCK_SH)
        if os.fstat(fd).st_size == 0:
            write_all(fd, header)
        return fd

    def room(self, need: int = 0) -> int:
        """Bytes left under the cap once our oldest unheld files are pruned to make room for
        `need`; negative when our files alone (held by running sessions) are above the cap.
        The only place the cap is compared with what the folder holds: call it with the lock held."""
        return self.cap - prune(self.path, self.cap, need)

    def close(self) -> None:
        os.close(self.lock_fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_fd(fd: int) -> bytes:
    """The whole (small) file; asks for its size, not a fixed buffer, to keep the peak memory low."""
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, os.fstat(fd).st_size - offset + 1, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def parse_summary(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    totals = merge_totals(empty_totals(), data)
    totals["since"] = data.get("since") or round(time.time(), 3)
    if "updated" in data:
        totals["updated"] = data["updated"]
    return totals


def read_summary(folder: str) -> dict[str, Any] | None:
    """The all-time totals, or None when nothing was recorded (or the file is damaged). Read under
    the folder lock when possible, since writers rewrite the file in place."""
    import fcntl

    try:
        fd = os.open(os.path.join(folder, SUMMARY_NAME), os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            lock = os.open(os.path.join(folder, LOCK_NAME), os.O_RDONLY)
        except OSError:
            lock = None
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_SH)
            return parse_summary(read_fd(fd))
        finally:
            if lock is not None:
                os.close(lock)
    finally:
        os.close(fd)
