"""Session files for resume: every event of a session, one JSON line each, written as it happens.

    Recorder.create(codex_home, session_id, cwd, model, path=None) -> Recorder | None  (a listener)
    find_session(codex_home, session_id=None) -> str | None   (None id = the newest session)
    load(path) -> SavedSession(session_id, cwd, model, history, events, usage: Tokens, skipped)

Why it looks like this: an SSH connection to a router drops, a phone kills the terminal app, a user
sends kill -9. Each line goes out with one os.write() on an O_APPEND descriptor (no Python buffer),
so whatever was recorded before the process died is on disk and only the event in flight can be
lost, as a damaged last line that `load` skips (and counts: `SavedSession.note`). The conversation
sent to the model is rebuilt by replaying HistoryAppend/HistoryRewind in order and repaired with
history.py's rules (unanswered calls, orphan results), so a resumed agent continues exactly where
the file ends.

File: $CODEX_HOME/sessions/YYYY/MM/DD/<YYYY-MM-DDTHH-MM-SS>-<session_id>.jsonl. The first line is a
header {"event": "session_meta", "session_id", "cwd", "model", "created_at", "version"}; each
later resume adds a {"event": "session_resumed", ...} line before its own events.

Resume only resumes sessions: `find_session` answers with regular files under $CODEX_HOME/sessions
and nothing else (no other path, no symlink leading out), and a resumed file is opened without
following links, so `resume /any/path` cannot append to an arbitrary file. A file's `cwd` is data:
front ends show it (`workspace_note`) but keep working where the user started codex-lite.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from codex_lite import events as ev
from codex_lite.errors import UserError
from codex_lite.history import TOKEN_FIELDS, Tokens, close_dangling_calls, drop_orphan_results, valid_message
from codex_lite.json_limits import loads
from codex_lite.records import dataclass, field

META = "session_meta"
RESUMED = "session_resumed"
MAX_REPLAY_EVENTS = 400  # what a resume re-draws; older events only count in `usage`
MAX_LINE_BYTES = 32 << 20  # longer lines are skipped on resume (an answer is at most 16 MiB)
HIDDEN = {ev.HistoryAppend.kind, ev.HistoryRewind.kind, ev.Usage.kind, ev.ToolCall.kind,
          ev.RetryOutcome.kind, ev.ModelSelection.kind}
SESSION_ENDED = "interrupted: the session ended before this call finished"  # a dangling call's result


@dataclass
class SavedSession:
    session_id: str
    cwd: str
    model: str
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    usage: Tokens = field(default_factory=Tokens)  # token totals over the whole file
    path: str = ""
    skipped: int = 0  # damaged lines left out

    @property
    def note(self) -> str | None:
        """One line for the user when damaged lines were left out, None otherwise."""
        if not self.skipped:
            return None
        lines = "line" if self.skipped == 1 else "lines"
        return f"skipped {self.skipped} damaged {lines} of {os.path.basename(self.path)}"


class SessionNotFound(UserError):
    """`resume` named a session that is not there; the message is shown as it is."""

    def __init__(self, codex_home: str, session_id: str | None):
        what = f"session {session_id}" if session_id else "an earlier session"
        super().__init__(f"cannot resume: {what} not found under {codex_home}/sessions")


class Recorder:
    """An event listener appending each event to the session file. A failing disk (full flash,
    read-only mount) costs the session file, never the session: the Bus drops us with a warning."""

    def __init__(self, path: str, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def create(cls, codex_home: str, session_id: str, cwd: str, model: str,
               path: str | None = None) -> Recorder | None:
        header = {"session_id": session_id, "cwd": cwd, "model": model,
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "version": _version()}
        resuming = path is not None
        try:
            path = path or new_session_path(codex_home, session_id)
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            print(f"codex-lite: warning: no session file (resume will not work): {exc}", file=sys.stderr)
            return None
        recorder = cls(path, fd)
        try:
            if resuming and not _ends_with_newline(path):
                _write_all(fd, b"\n")  # a line cut by kill -9 stays one damaged line, ours start clean
            recorder.write({"event": RESUMED if resuming else META, **header})
        except OSError as exc:  # a full disk (ENOSPC) or a quota: the run goes on without the file
            recorder.close()
            if not resuming:
                _remove_if_empty(path)
            print(f"codex-lite: warning: no session file (resume will not work): {exc}", file=sys.stderr)
            return None
        return recorder

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        _write_all(self.fd, line.encode("utf-8"))

    def __call__(self, event: ev.Event) -> None:
        if self.fd >= 0:
            self.write(event.to_dict())

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _write_all(fd: int, data: bytes) -> None:
    """One write() for the whole line (a signal cannot split it in Python code); loop on the rare
    short write."""
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _remove_if_empty(path: str) -> None:
    try:
        if os.path.getsize(path) == 0:
            os.unlink(path)
    except OSError:
        pass


def _ends_with_newline(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return True
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
    except OSError:
        return True


def _version() -> str:
    from codex_lite import __version__

    return __version__


def sessions_dir(codex_home: str) -> str:
    return os.path.join(codex_home, "sessions")


def new_session_path(codex_home: str, session_id: str, now: float | None = None) -> str:
    t = time.localtime(now)
    day = time.strftime("%Y/%m/%d", t).split("/")
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", t)
    return os.path.join(sessions_dir(codex_home), *day, f"{stamp}-{session_id}.jsonl")


def list_sessions(codex_home: str) -> list[str]:
    """Every session file, the most recently written first (a resumed old session counts as recent,
    which is what `resume --last` means to a user). Links are skipped (os.walk does not enter linked
    folders either): a session is a file under sessions/, not something it points to."""
    found = []
    for root, _dirs, files in os.walk(sessions_dir(codex_home)):
        for name in files:
            if name.endswith(".jsonl"):
                path = os.path.join(root, name)
                try:
                    info = os.lstat(path)
                    if stat.S_ISREG(info.st_mode):
                        found.append((info.st_mtime_ns, name, path))
                except OSError:
                    continue
    found.sort(reverse=True)
    return [path for _mtime, _name, path in found]


def find_session(codex_home: str, session_id: str | None = None) -> str | None:
    """The newest session, or the one whose id (or a unique prefix of it, or its file path under
    $CODEX_HOME/sessions) is given; None when there is no such session."""
    if session_id and (os.sep in session_id or session_id.endswith(".jsonl")):
        return session_id if is_session_file(codex_home, session_id) else None
    paths = list_sessions(codex_home)
    if not session_id:
        return paths[0] if paths else None
    exact = [p for p in paths if os.path.basename(p).endswith(f"-{session_id}.jsonl")]
    if exact:
        return exact[0]
    prefix = [p for p in paths if _file_session_id(p).startswith(session_id)]
    return prefix[0] if len({_file_session_id(p) for p in prefix}) == 1 else None


def is_session_file(codex_home: str, path: str) -> bool:
    """A regular `.jsonl` file (not a link) that really is under $CODEX_HOME/sessions."""
    root = os.path.realpath(sessions_dir(codex_home))
    real = os.path.realpath(path)
    return (path.endswith(".jsonl") and real.startswith(root + os.sep) and not os.path.islink(path)
            and os.path.isfile(real))


def workspace_note(saved: SavedSession, cwd: str) -> str:
    """One line for the user on resume: the folder the session file names, checked, and the folder
    the session continues in (always `cwd`, where codex-lite was started or -C)."""
    here, there = os.path.abspath(cwd), saved.cwd
    if not there:
        return f"resuming in {here} (the session file names no folder)"
    if not os.path.isabs(there):
        problem = "is not an absolute path"
    elif not os.path.exists(there):
        problem = "no longer exists"
    elif not os.path.isdir(there):
        problem = "is not a folder"
    elif os.path.realpath(there) == os.path.realpath(here):
        return f"resuming in {here}"
    else:
        return f"the session worked in {there}; it continues here, in {here} (start codex-lite in " \
               "that folder, or pass -C, to work there)"
    return f"the session worked in {there}, which {problem}; it continues here, in {here}"


def _file_session_id(path: str) -> str:
    """The id part of `<YYYY-MM-DDTHH-MM-SS>-<id>.jsonl` (the stamp has a fixed length)."""
    return os.path.basename(path)[len("2000-01-01T00-00-00-"):-len(".jsonl")]


def load(path: str) -> SavedSession:
    """Rebuild a session from its file, line by line in bounded memory. A damaged line (cut by kill
    -9, not JSON, too deep, over MAX_LINE_BYTES, a field of the wrong type) is skipped and counted.
    Calls left without a result are answered "interrupted" where the session was resumed, and
    results whose call is gone are dropped, so the history is valid for the model. Raises OSError
    when the file cannot be read."""
    saved = SavedSession(session_id=_file_session_id(path), cwd="", model="", path=path)
    shown: deque = deque(maxlen=MAX_REPLAY_EVENTS)
    usage = Tokens()
    with open(path, "rb") as f:
        for raw in _lines(f, MAX_LINE_BYTES):
            record = _parse_line(raw) if raw is not None else None
            if record is None or not _apply(record, saved, shown, usage):
                saved.skipped += 1
    close_dangling_calls(saved.history, SESSION_ENDED)
    drop_orphan_results(saved.history)
    saved.events, saved.usage = list(shown), usage
    return saved


def _lines(f: Any, limit: int) -> Iterator[bytearray | None]:
    """The file's lines; None for one over `limit` bytes, skipped without being held whole."""
    chunk = 1 << 20
    while True:
        piece = f.readline(min(limit, chunk) + 1)
        if not piece:
            return
        line = bytearray(piece)
        while not piece.endswith(b"\n") and len(line) <= limit:
            piece = f.readline(min(limit + 1 - len(line), chunk))
            if not piece:
                break
            line += piece
        if len(line) <= limit:
            yield line
            continue
        del line
        while not piece.endswith(b"\n"):  # skip the rest of the long line
            piece = f.readline(chunk)
            if not piece:
                break
        yield None


def _parse_line(raw: bytearray) -> dict[str, Any] | None:
    try:
        record = loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _apply(record: dict[str, Any], saved: SavedSession, shown: deque, usage: Tokens) -> bool:
    """Replay one record; False when it is damaged (then nothing of it is used)."""
    kind = record.get("event")
    if kind in (META, RESUMED):
        values = [record.get(k) for k in ("session_id", "cwd", "model")]
        if not all(v is None or isinstance(v, str) for v in values):
            return False
        if kind == RESUMED:
            close_dangling_calls(saved.history, SESSION_ENDED)
        saved.session_id = values[0] or saved.session_id
        saved.cwd = values[1] or saved.cwd
        saved.model = values[2] or saved.model
        return True
    event = ev.from_dict(record)
    if event is None:
        return kind not in ev.EVENT_TYPES  # an event of a newer version is not damage
    if isinstance(event, ev.HistoryAppend):
        if not valid_message(event.message):
            return False
        saved.history.append(event.message)
    elif isinstance(event, ev.HistoryRewind):
        if event.length < 0:
            return False
        del saved.history[event.length:]
    elif isinstance(event, ev.Usage):
        for name in TOKEN_FIELDS:
            setattr(usage, name, getattr(usage, name) + max(0, getattr(event, name)))
    elif isinstance(event, ev.ModelSelection) and event.action == "selected" and event.model:
        saved.model = event.model
    if event.kind not in HIDDEN:
        shown.append(event)
    return True
