"""The event listener: counts, shapes and buffers events, and writes them at turn ends.

    Telemetry(table, session_id, secrets=(), model=None)
        open() -> bool; close(); crash(exc); status() -> dict; flush(reason); called with each event

Why apart: this is the only stateful piece; it glues the ring (ring.py), redaction (redaction.py),
the counters (totals.py) and the folder (store.py). It never raises into the agent: any failure
switches it off for the run with one warning.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from codex_lite.security.redact import Redactor
from codex_lite.telemetry import hooks
from codex_lite.telemetry.redaction import FIELD_CLIP, PRIVATE_FIELDS, scrub_line, shape
from codex_lite.telemetry.ring import ENTRY_OVERHEAD, Ring
from codex_lite.telemetry.store import SUMMARY_NAME, Folder, header, parse_summary, read_fd, write_all
from codex_lite.telemetry.table import warn
from codex_lite.telemetry.totals import (
    REPAIR_ACTIONS,
    REPAIR_CLASSES,
    TOKEN_FIELDS,
    TURN_COUNTERS,
    RetryTracker,
    bump,
    empty_totals,
    merge_totals,
)

_busy = [False]  # a flush is running: a signal arriving meanwhile must not start another one


def _new_turn() -> dict[str, Any]:
    turn: dict[str, Any] = {name: 0 for name in TURN_COUNTERS}
    turn["latency_seconds"] = 0.0
    turn["started"] = time.monotonic()
    turn["envelope"] = {}
    return turn


def _safe_name(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in "-_")[:64] or "session"


class Telemetry:
    """The event listener. Never raises: any failure switches it off with one warning."""

    def __init__(self, table: dict[str, Any], session_id: str, secrets: list[str] = (),
                 model: str | None = None):
        self.s = table
        self.dir: str = table["dir"]
        self.cap: int = table["max_total_bytes"]
        self.session_id, self.model = session_id, model
        self.redactor = Redactor(secrets)  # before texts are cut; _line scrubs the result again
        self.ring = Ring(table["ring_buffer_bytes"])
        self.tracker = RetryTracker()
        self.on, self.closed = True, False
        self.turn: dict[str, Any] | None = None
        self.turns = 0
        self.session = empty_totals()   # this run, for /status
        self.unsaved = empty_totals()   # not yet added to the summary file
        self.pending_usage: list[str] = []
        self.dropped = 0                 # events lost: ring overflow or no room on disk
        self.skipped_writes = 0          # writes left out to stay under max_total_bytes
        self.part_limit = max(table["ring_buffer_bytes"], self.cap // 4)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.trace_base = f"debug-{stamp}-{os.getpid()}"
        self.trace_part, self.trace_fd, self.trace_bytes = 1, None, 0
        self.trace_path: str | None = None
        self.usage_name = f"usage-{_safe_name(session_id)}.jsonl"
        self.usage_fd: int | None = None
        self.usage_bytes, self.usage_part = 0, 0
        self.summary_fd: int | None = None
        self.folder: Folder | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def open(self) -> bool:
        """Creates the folder and prunes it under the cap; False (after one warning) when it cannot."""
        try:
            self.folder = Folder(self.dir, self.cap)
            with self.folder:
                room = self.folder.room()
        except OSError as exc:
            self._fail(exc)
            return False
        if room < 0:
            used = self.cap - room
            warn(f"telemetry: {self.dir} holds {used} bytes of logs that running codex-lite "
                 f"sessions still use, more than max_total_bytes={self.cap}; nothing will be "
                 "written there this run")
        self._add({"event": "run.start", "session": self.session_id, "pid": os.getpid(),
                   "python": sys.version.split()[0], "platform": sys.platform,
                   "ring_buffer_bytes": self.ring.cap, "max_total_bytes": self.cap,
                   "log_prompts": bool(self.s["log_prompts"])})
        return True

    def close(self) -> None:
        """Writes what is left (the crash first, when an exception is on its way out) and lets go
        of the files, so later runs may prune them."""
        if self.closed:
            return
        self.closed = True
        exc = sys.exc_info()[1]
        reason = "exit"
        if self.on:
            try:
                if exc is not None and not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    self._add(_crash_record("exception", exc))
                    reason = "crash"
                self.tracker.finish()
                self._fold_retries()
                self._add({"event": "run.end", "dropped": self.dropped + self.ring.dropped})
            except Exception as err:  # noqa: BLE001 - telemetry never raises into the agent
                self._fail(err)
            self.flush(reason)
        self._release()

    def crash(self, exc: BaseException) -> None:
        """An uncaught exception (sys.excepthook): its record and the ring go to the trace now."""
        if self.on and not self.closed:
            try:
                self._add(_crash_record("crash", exc))
            except Exception as err:  # noqa: BLE001
                self._fail(err)
            self.flush("crash")

    def status(self) -> dict[str, Any]:
        return {"enabled": self.on, "dir": self.dir, "dropped": self.dropped + self.ring.dropped,
                "trace": self.trace_path, "usage": os.path.join(self.dir, self.usage_name),
                "ring_bytes": self.ring.bytes, "ring_buffer_bytes": self.ring.cap,
                "max_total_bytes": self.cap, "log_prompts": bool(self.s["log_prompts"]),
                "skipped_writes": self.skipped_writes}

    # -- events ------------------------------------------------------------------------------------

    def __call__(self, event: Any) -> None:
        if not self.on or self.closed:
            return
        try:
            self.tracker.see(event)
            self._count(event)
            log_prompts = bool(self.s["log_prompts"])
            if log_prompts or event.kind not in PRIVATE_FIELDS:  # texts that are kept, then cut
                event = self.redactor.event(event)
            self._add(shape(event, log_prompts))
        except Exception as exc:  # noqa: BLE001 - telemetry never raises into the agent
            self._fail(exc)
            return
        if event.kind in ("turn_completed", "turn_failed"):
            self._end_turn(event)
            self.flush("turn")

    def _add(self, record: dict[str, Any]) -> None:
        self.ring.add(self._line(record))

    def _line(self, record: dict[str, Any]) -> str:
        """One JSON line with a timestamp; secret values and bearer tokens scrubbed out."""
        record["t"] = round(time.time(), 3)
        return scrub_line(json.dumps(record, separators=(",", ":"), default=str), self.redactor)

    def _count(self, event: Any) -> None:
        kind = event.kind
        if kind == "turn_started":
            self.turn = _new_turn()
            return
        turn = self.turn if self.turn is not None else _new_turn()
        self.turn = turn
        if kind == "usage":
            turn["requests"] += 1
            for name in TOKEN_FIELDS:
                turn[name] += int(getattr(event, name, 0) or 0)
            turn["latency_seconds"] += float(event.latency_seconds or 0)
        elif kind == "tool_call":
            turn["tool_calls"] += 1
        elif kind == "envelope_repair":
            for action in REPAIR_ACTIONS:
                for leak, n in (getattr(event, action, None) or {}).items():
                    if isinstance(n, int) and n > 0:
                        bump(turn["envelope"], action, leak if leak in REPAIR_CLASSES else "other", n)
        elif kind == "tool_result" and not event.ok:
            turn["tool_errors"] += 1
        elif kind == "context_compacted":  # tokens saved: what the next request no longer resends
            turn["compactions"] += 1
            turn["compacted_tokens"] += max(0, int(event.tokens_before) - int(event.tokens_after))
        elif kind == "model_selection":
            self.model = event.model or self.model
            self._usage_line({
                "type": "model_selection", "session": self.session_id, "action": event.action,
                "model": event.model, "reasoning_effort": event.reasoning_effort, "source": event.source})

    def _usage_line(self, record: dict[str, Any]) -> None:
        """Queued for the next flush; not even kept in memory when session_usage is off."""
        if self.s["session_usage"]:
            self.pending_usage.append(self._line(record))

    def _end_turn(self, event: Any) -> None:
        """The turn's usage line (with each retry attempt's reason, wait and outcome) and its share
        of the session and all-time totals."""
        try:
            turn, self.turn = self.turn or _new_turn(), None
            self.turns += 1
            attempts, retry_delta = self.tracker.take()
            ok = event.kind == "turn_completed"
            line: dict[str, Any] = {"type": "turn", "session": self.session_id, "turn": self.turns,
                                    "model": self.model, "status": "completed" if ok else "failed"}
            line.update({k: turn[k] for k in TURN_COUNTERS})
            line["latency_seconds"] = round(turn["latency_seconds"], 3)
            line["duration_seconds"] = round(time.monotonic() - turn["started"], 3)
            line["retries"] = attempts
            if turn["envelope"]:
                line["envelope"] = turn["envelope"]
            if not ok:
                line["error"] = str(event.message)[:300]
            self._usage_line(line)
            delta = empty_totals()
            delta.update({k: line[k] for k in (*TURN_COUNTERS,
                                                "latency_seconds", "duration_seconds")})
            delta["turns"], delta["failed_turns"] = 1, 0 if ok else 1
            delta["envelope"] = turn["envelope"]
            self._merge(merge_totals(delta, retry_delta))
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _fold_retries(self) -> None:
        _, delta = self.tracker.take()
        self._merge(delta)

    def _merge(self, delta: dict[str, Any]) -> None:
        merge_totals(self.session, delta)
        merge_totals(self.unsaved, delta)

    # -- writing -----------------------------------------------------------------------------------

    def flush(self, reason: str = "turn") -> None:
        """Usage lines and the summary first (small, the most useful), then the ring to the trace.
        The trace is written when debug_trace is on, or whatever the settings on a crash."""
        if not self.on or _busy[0] or self.folder is None:
            return
        _busy[0] = True
        try:
            with self.folder:
                if self.s["session_usage"] and (self.pending_usage or self.unsaved["turns"]
                                                or self.unsaved["retry_attempts"]):
                    self._write_usage()
                if self.s["debug_trace"] or reason == "crash":
                    self._write_trace()
        except Exception as exc:  # noqa: BLE001 - telemetry never raises into the agent
            self._fail(exc)
        finally:
            _busy[0] = False

    def _write_usage(self) -> None:
        """This turn's usage lines, then the summary. When both do not fit under the cap even after
        pruning, the lines are dropped (counted) and the all-time summary alone is kept current.
        The summary is rewritten in place under the folder lock (readers take the lock too): a
        create-and-rename per turn costs milliseconds on ext4 and wears flash for nothing."""
        lines, self.pending_usage = self.pending_usage, []
        data = ("\n".join(lines) + "\n").encode() if lines else b""
        if self.summary_fd is None:
            self.summary_fd = os.open(os.path.join(self.dir, SUMMARY_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        old = read_fd(self.summary_fd)
        totals = merge_totals(parse_summary(old) or empty_totals(), self.unsaved)
        totals["updated"] = round(time.time(), 3)
        summary = json.dumps(totals, separators=(",", ":"), sort_keys=True).encode()
        grow = max(0, len(summary) - len(old))
        if data and self.usage_fd is not None and self.usage_bytes + len(data) > self.part_limit:
            self._rotate_usage()
        if data and self.usage_fd is None:
            grow += len(header("type"))  # a new file starts with the marker
        if self.folder.room(len(data) + grow) < len(data) + grow:
            self.skipped_writes += 1
            self.dropped += len(lines)
            data = b""
            if self.folder.room(grow) < grow:
                return  # the totals stay in `unsaved` for a later try
        if data:
            if self.usage_fd is None:
                self.usage_fd = self.folder.open_held(self.usage_name, header("type"))
                self.usage_bytes = os.fstat(self.usage_fd).st_size
            write_all(self.usage_fd, data)
            self.usage_bytes += len(data)
        os.pwrite(self.summary_fd, summary, 0)
        os.ftruncate(self.summary_fd, len(summary))
        self.unsaved = empty_totals()

    def _rotate_usage(self) -> None:
        """Moves the session's usage file aside (now prunable, oldest first) and starts a new one."""
        os.close(self.usage_fd)
        self.usage_fd = None
        self.usage_part += 1
        old = os.path.join(self.dir, self.usage_name)
        aside = f"{self.usage_name[:-6]}.{self.trace_base[6:]}-{self.usage_part}.jsonl"
        try:
            os.replace(old, os.path.join(self.dir, aside))
        except FileNotFoundError:
            pass

    def _write_trace(self) -> None:
        """Moves the ring to the trace in small batches, so writing needs no second copy of the ring
        in memory. When the cap leaves too little room, the oldest lines are the ones left out."""
        ring = self.ring
        dropped, ring.dropped = ring.dropped, 0
        self.dropped += dropped
        marker = self._line({"event": "dropped", "count": dropped}) if dropped else None
        size = sum(len(line) + 1 for line in ring.lines) + (len(marker) + 1 if marker else 0)
        if not size:
            return
        if self.trace_fd is not None and self.trace_bytes + size > self.part_limit:
            self._rotate()
        if self.trace_fd is None:
            size += len(header("event"))  # a new file starts with the marker
        room = self.folder.room(size)
        if size > room:
            self.skipped_writes += 1
            if marker:
                size, marker = size - len(marker) - 1, None
            while size > room and ring.lines:
                size -= len(self._pop()) + 1
                self.dropped += 1
            if not ring.lines:
                return
        if self.trace_fd is None:
            name = self.trace_base + ("" if self.trace_part == 1 else f".{self.trace_part}") + ".jsonl"
            self.trace_fd = self.folder.open_held(name, header("event"))
            self.trace_path = os.path.join(self.dir, name)
            self.trace_bytes = len(header("event"))
        batch, batch_bytes = ([marker] if marker else []), 0
        while ring.lines:
            line = self._pop()
            batch.append(line)
            batch_bytes += len(line) + 1
            if batch_bytes >= 8192 or not ring.lines:
                data = ("\n".join(batch) + "\n").encode()
                write_all(self.trace_fd, data)
                self.trace_bytes += len(data)
                batch, batch_bytes = [], 0

    def _pop(self) -> str:
        line = self.ring.lines.popleft()
        self.ring.bytes -= len(line) + ENTRY_OVERHEAD
        return line

    def _rotate(self) -> None:
        """Starts the next part of this run's trace; the finished part may now be pruned."""
        os.close(self.trace_fd)
        self.trace_fd = None
        self.trace_part += 1

    # -- failure -----------------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        """Off for the rest of the run, with exactly one warning; the session carries on."""
        if not self.on:
            return
        self.on = False
        self.ring.drain()
        self.pending_usage.clear()
        self._release()
        warn(f"telemetry is off for this run: {_describe(exc)} ({self.dir}); the agent carries on")

    def _release(self) -> None:
        for fd in (self.trace_fd, self.usage_fd, self.summary_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.trace_fd = self.usage_fd = self.summary_fd = None
        if self.folder is not None:
            try:
                self.folder.close()
            except OSError:
                pass
            self.folder = None
        hooks.unregister(self)


def _describe(exc: BaseException) -> str:
    import errno

    if isinstance(exc, OSError):
        words = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                 errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is used up",
                 errno.ENOENT: "the log folder was deleted"}
        return words.get(exc.errno, exc.strerror or str(exc))
    return f"{type(exc).__name__}: {exc}"


def _crash_record(kind: str, exc: BaseException) -> dict[str, Any]:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"event": kind, "type": type(exc).__name__, "message": str(exc)[:FIELD_CLIP],
            "traceback": text[-FIELD_CLIP:]}
