"""The disk side of apply_patch: confinement, reading text files, and an all-or-nothing commit.

Confinement: a path from a patch resolves against the workspace root and, unless the sandbox is
danger-full-access, must stay inside it: no absolute paths, no `..` that climbs out, and no symlink
(on the file or any folder above it) that leads out. Checks use `os.path.realpath`, so they follow
what the kernel would follow when writing.

Commit: every new content is first written to a temporary file beside its target (same folder, so
the final `os.replace` is an atomic rename on the same filesystem) and flushed to disk. Only when
all of them are there are they renamed into place, then deletions are done. If anything fails in
that last phase (an OSError, or Ctrl-C), the files already replaced are restored from the original
bytes held in memory, so an error never leaves half a patch applied. Against a process killed in
the middle of the renames (OOM killer, power cut), a journal lists the renames and deletions before
the first one happens; the next start or patch (`recover`) finishes them. Temporary files are named
`.NAME.apply_patch.tmp*` so that any left over are easy to spot.

The journal is trusted state, so it lives under $CODEX_HOME (`patch-journal/<hash of the workspace
path>.journal`), never in the workspace: a file that a repository ships is just a file. And even our
own journal is only acted on when it names the workspace it is filed under and every path in it is
inside that workspace, renames only move our own temporary files onto the file they were made for,
and nothing climbs out through `..` or a symlinked folder; anything else is dropped untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

# Files larger than this are refused (read and written): patching them needs several copies in
# memory, and a router has 128 MB of RAM. Source files are far smaller; bigger ones are usually
# generated or data files that a patch should not touch.
MAX_FILE_BYTES = 2 * 1024 * 1024

# How much of a file is inspected for NUL bytes when deciding that it is binary.
BINARY_SNIFF_BYTES = 8192


class FsError(Exception):
    """A confinement or file problem; the message names the path and is written for the model."""


def resolve(root: str, path: str, allow_outside: bool, base: str | None = None) -> str:
    """Absolute, normalised target of `path` (as written in the patch), relative to `base` (the
    command's working folder, by default `root`).

    Raises FsError for paths that leave the workspace `root`, unless `allow_outside`."""
    if "\0" in path:
        raise FsError(f"{path!r}: the path contains a NUL byte")
    expanded = os.path.expanduser(path) if allow_outside else path
    if os.path.isabs(expanded) and not allow_outside:
        raise FsError(f"{path}: absolute paths are not allowed; use a path relative to the "
                      f"workspace root {root}")
    full = os.path.normpath(os.path.join(base or root, expanded))
    if not allow_outside:
        if not _inside(full, root):
            raise FsError(f"{path}: the path leads outside the workspace root {root}")
        real = os.path.realpath(full)  # follows links on the file and its folders, dangling too
        if not _inside(real, root):
            raise FsError(f"{path}: a symlink on this path leads outside the workspace root "
                          f"{root} (to {real})")
    return full


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_text(full: str, shown: str) -> tuple[bytes, str]:
    """(raw bytes, decoded text) of an existing regular text file. Refuses folders, special files,
    files over MAX_FILE_BYTES, binary files and files that are not UTF-8, with a clear message."""
    data = read_bytes(full, shown)
    return data, decode_text(data, shown)


def read_bytes(full: str, shown: str) -> bytes:
    """Bytes of an existing regular file no larger than MAX_FILE_BYTES."""
    try:
        info = os.stat(full)
    except FileNotFoundError:
        raise FsError(f"{shown}: the file does not exist") from None
    except OSError as exc:
        raise FsError(f"{shown}: cannot read the file ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise FsError(f"{shown}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FsError(f"{shown}: is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise FsError(f"{shown}: the file is {info.st_size} bytes, over the {MAX_FILE_BYTES} byte limit "
                      "for apply_patch; edit it another way (for example with a script through shell)")
    try:
        with open(full, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FsError(f"{shown}: cannot read the file ({exc.strerror})") from None
    return data


def decode_text(data: bytes, shown: str) -> str:
    """UTF-8 text of `data`, refusing binary content (a NUL byte near the start, or invalid UTF-8)."""
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise FsError(f"{shown}: is a binary file; apply_patch only edits text files")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FsError(f"{shown}: is not UTF-8 text (binary or another encoding); apply_patch only "
                      "edits UTF-8 text files") from None


def check_size(text: str, shown: str) -> None:
    """Refuse a result (added or updated file) over MAX_FILE_BYTES."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise FsError(f"{shown}: the result would be {size} bytes, over the {MAX_FILE_BYTES} byte "
                      "limit for apply_patch")


def check_writable_target(full: str, shown: str) -> None:
    """Refuse to create or replace something that is not a regular file (a folder, a device...)."""
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        _check_parents(full, shown)
        return
    except NotADirectoryError:
        _check_parents(full, shown)
        raise FsError(f"{shown}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise FsError(f"{shown}: cannot inspect the path ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode) or (stat.S_ISLNK(info.st_mode) and os.path.isdir(full)):
        raise FsError(f"{shown}: is a directory, not a file")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise FsError(f"{shown}: is not a regular file")


def _check_parents(full: str, shown: str) -> None:
    """A new file needs its folders: refuse when the nearest existing ancestor is not a folder."""
    folder = os.path.dirname(full)
    while folder and not os.path.lexists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent
    if folder and not os.path.isdir(folder):
        raise FsError(f"{shown}: cannot create it, {os.path.basename(folder)} is a file, not a folder")


def _mode_of(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


# Under $CODEX_HOME: present only while a commit renames files, or after a process died doing so.
JOURNAL_DIR = "patch-journal"
MAX_JOURNAL_BYTES = 1024 * 1024
TEMP_SUFFIX = ".apply_patch.tmp"


def journal_path(journal_dir: str, root: str) -> str:
    """The journal of the workspace `root`: one per workspace, named by a hash of its real path."""
    real = os.path.realpath(root).encode("utf-8", "surrogateescape")
    return os.path.join(journal_dir, hashlib.sha256(real).hexdigest()[:32] + ".journal")


def _encode_journal(records: list[list[str]]) -> bytes:
    """Fields end with NUL and records with a NUL-newline pair: no path can hold a NUL."""
    return b"".join(b"".join(f.encode("utf-8", "surrogateescape") + b"\0" for f in r) + b"\n"
                    for r in records)


def _decode_journal(data: bytes) -> list[list[str]]:
    records = []
    for raw in data.split(b"\0\n"):
        if raw:
            records.append([f.decode("utf-8", "surrogateescape") for f in raw.split(b"\0")])
    return records


def recover(root: str, journal_dir: str | None) -> bool:
    """Finish a commit that a killed process left half done in `root` (True when there was one).

    A complete journal means every new file was already on disk in a temporary file: the renames
    and deletions still pending are done now (roll forward). An incomplete journal means no rename
    had started: its temporary files are removed (roll back). A journal that fails `_validated` is
    removed without acting on any of it. Called at start-up and before every patch."""
    if not journal_dir:
        return False
    root = os.path.realpath(root)
    journal = journal_path(journal_dir, root)
    records = _read_journal(journal)
    if records is None:
        return False
    complete = _validated(records, root)
    if complete is None:
        _silent_unlink(journal)
        return False
    for record in records[1:]:
        if record[0] == "R" and os.path.exists(record[1]):
            if complete:
                try:
                    os.replace(record[1], record[2])
                except OSError:  # best effort: the temporary file stays for a human to see
                    pass
            else:
                _silent_unlink(record[1])
        elif record[0] == "D" and complete and os.path.lexists(record[1]):
            _silent_unlink(record[1])
    _silent_unlink(journal)
    return True


def _read_journal(path: str) -> list[list[str]] | None:
    """The records of a regular journal file (not a link, not huge, ours: another user who can
    write into the folder must not be able to plant one); None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_JOURNAL_BYTES or \
                info.st_uid != os.geteuid():
            return []
        return _decode_journal(fh.read(MAX_JOURNAL_BYTES))


def _validated(records: list[list[str]], root: str) -> bool | None:
    """Whether the journal is complete (it ends with END), or None when it is not one we wrote for
    `root`: the first record must name `root`, renames must move one of our temporary files onto the
    file it was made for, and every path must be inside `root`."""
    if not records or records[0] != ["ROOT", root]:
        return None
    complete = records[-1] == ["END"]
    for record in records[1:-1] if complete else records[1:]:
        if record[0] == "R" and len(record) == 3:
            ok = _our_temp_for(record[1], record[2]) and _confined(record[2], root)
        elif record[0] == "D" and len(record) == 2:
            ok = _confined(record[1], root)
        else:
            ok = False
        if not ok:
            return None
    return complete


def _our_temp_for(temp: str, target: str) -> bool:
    """`temp` is `.NAME.apply_patch.tmp[N]` beside `target` (named NAME), as Commit makes them."""
    name = os.path.basename(target)
    pattern = re.escape("." + name + TEMP_SUFFIX) + r"\d{0,2}"
    return os.path.dirname(temp) == os.path.dirname(target) and bool(name) and \
        re.fullmatch(pattern, os.path.basename(temp)) is not None


def _confined(path: str, root: str) -> bool:
    """An absolute, normalised path strictly inside `root`, whose folder really is inside it too
    (no symlinked folder leading out)."""
    return (os.path.isabs(path) and os.path.normpath(path) == path and path != root
            and _inside(path, root) and _inside(os.path.realpath(os.path.dirname(path)), root))


class Commit:
    """Writes a set of final file states all or nothing.

    `writes` maps absolute path -> new bytes; `deletes` lists absolute paths to remove; `originals`
    maps every touched path that existed -> its bytes before the patch (for rollback)."""

    def __init__(self, writes: dict[str, bytes], deletes: list[str], originals: dict[str, bytes],
                 root: str = "", journal_dir: str | None = None):
        self.root = root
        self.journal_dir = journal_dir
        self.writes = writes
        self.deletes = deletes
        self.originals = originals
        self._temps: dict[str, str] = {}
        self._made_dirs: list[str] = []
        self._done: list[str] = []

    def run(self) -> None:
        journal = None
        try:
            for path, data in self.writes.items():
                self._temps[path] = self._write_temp(path, data)
            journal = self._write_journal()
            for path in self.writes:
                os.replace(self._temps[path], _write_target(path))
                del self._temps[path]
                self._done.append(path)
            for path in self.deletes:
                os.unlink(path)
                self._done.append(path)
        except BaseException as exc:  # also Ctrl-C: undo, then let it through
            self._rollback()
            if journal:
                _silent_unlink(journal)
            if not isinstance(exc, OSError):
                raise
            raise FsError(f"writing {exc.filename or ''} failed ({exc.strerror or exc}); "
                          "no file was changed") from None
        if journal:
            _silent_unlink(journal)
        for path in self.deletes:
            self._prune_empty_folders(os.path.dirname(path))

    def _write_journal(self) -> str | None:
        """Record the renames and deletions about to happen, so that `recover` can finish them if
        the process is killed half way (OOM killer, power cut). Written, with its END record,
        and flushed to disk before the first rename. Without a journal folder, or when a path is
        outside the root (full access) and `recover` would refuse it, the commit goes without one:
        the in-memory rollback still covers everything short of a killed process."""
        if not self.root or not self.journal_dir or not (self._temps or self.deletes):
            return None
        records = [["ROOT", self.root]]
        records += [["R", tmp, _write_target(path)] for path, tmp in self._temps.items()]
        records += [["D", path] for path in self.deletes]
        records.append(["END"])
        if _validated(records, self.root) is None:
            return None
        journal = journal_path(self.journal_dir, self.root)
        try:
            os.makedirs(self.journal_dir, mode=0o700, exist_ok=True)
            fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_encode_journal(records))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:  # CODEX_HOME read-only or full: go on without it
            _silent_unlink(journal)
            return None
        return journal

    def _prune_empty_folders(self, folder: str) -> None:
        """Remove folders that a delete or a move left empty, like git does, up to the root.
        Best effort: a folder that is not empty, or cannot be removed, simply stays."""
        while self.root and folder.startswith(self.root.rstrip(os.sep) + os.sep):
            try:
                os.rmdir(folder)
            except OSError:
                return
            folder = os.path.dirname(folder)

    def _write_temp(self, path: str, data: bytes) -> str:
        target = _write_target(path)
        folder = os.path.dirname(target)
        self._make_dirs(folder)
        mode = _mode_of(target)
        base = os.path.join(folder, "." + os.path.basename(target) + TEMP_SUFFIX)
        for n in range(100):
            tmp = base if n == 0 else f"{base}{n}"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(17, "cannot create a temporary file", base)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
        except BaseException:
            _silent_unlink(tmp)
            raise
        return tmp

    def _make_dirs(self, folder: str) -> None:
        """Create missing folders, remembering them so that a rollback removes them again."""
        missing = []
        while folder and not os.path.isdir(folder):
            missing.append(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        for path in reversed(missing):
            os.mkdir(path)
            self._made_dirs.append(path)

    def _rollback(self) -> None:
        for tmp in self._temps.values():
            _silent_unlink(tmp)
        for path in reversed(self._done):
            original = self.originals.get(path)
            if original is None:
                _silent_unlink(_write_target(path))
            else:
                _restore(path, original)
        for folder in reversed(self._made_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass


def _write_target(path: str) -> str:
    """Where writing `path` lands: through a symlink to its (already confined) target, so that a
    link inside the workspace stays a link."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _restore(path: str, data: bytes) -> None:
    try:
        with open(_write_target(path), "wb") as fh:
            fh.write(data)
    except OSError:
        pass


def _silent_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
