"""Telemetry sized for routers and phones: a byte-capped ring buffer, bounded logs, usage and retries.

    start(config, session_id, enabled=None) -> Telemetry | None
        enabled: the --telemetry/--no-telemetry flag (None: CODEX_LITE_TELEMETRY, then config decide).
    Telemetry is an event listener (call it with each event) with close() and status().
    summary(codex_home_or_config) -> dict   what `/status` and `codex-lite stats` show.

Everything lives in one folder, `[telemetry] dir` (default `$CODEX_HOME/logs`), where our files never
take more than `max_total_bytes`. The folder may be shared with other programs: only files with our
name patterns that begin with our marker line (`{"writer":"codex-lite telemetry",...}`, a
`file.header` record) are counted and pruned, never anything else.

    debug-<UTC time>-<pid>.jsonl     the debug trace of one run (`.2.jsonl`, ... after rotation)
    usage-<session id>.jsonl         one line per turn: tokens, latency, tool calls, retry attempts
                                     (moved aside as `usage-<id>.<time>-<pid>-<n>.jsonl` when it grows)
    usage-summary.json               all-time totals (tokens, retries, recoveries, waits, tool calls
                                     the model sent as text per class of leak), rewritten
                                     in place at each turn end; never pruned
    .lock                            serialises writers: size checks and writes happen under it

Each running process holds a shared flock on the files it writes; start-up and every write prune the
oldest files nobody holds until the new bytes fit. A run's trace is rotated at a quarter of the cap,
so the newest events survive; if even pruning cannot make room, writing stops (counted in status()).

Events go into an in-memory ring buffer capped in bytes (oldest dropped first, counted). The ring is
written to the trace at the end of each turn, at exit, on SIGTERM/SIGHUP and on a crash. Without
`log_prompts` the trace holds shapes only (sizes, names, exit codes), never conversation text; API keys,
Authorization headers and `*_key`/`*token` values are never written at all. Any OSError (full disk,
read-only home, deleted folder) switches telemetry off for the run with one warning on stderr: the
agent never sees an exception from here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import deque
from typing import Any

from codex_lite.history import TOKEN_FIELDS  # the counters of history.Tokens
from codex_lite.redact import MIN_CHARS, Redactor, provider_secrets

ENV_VAR = "CODEX_LITE_TELEMETRY"
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "dir": "logs",
    "max_total_bytes": 2 * 1024 * 1024,
    "ring_buffer_bytes": 64 * 1024,
    "debug_trace": True,
    "session_usage": True,
    "log_prompts": False,
}
MIN_TOTAL_BYTES = 16 * 1024      # below this not even the summary and one turn fit
MIN_RING_BYTES = 4 * 1024
ENTRY_OVERHEAD = 64              # a str header and a deque slot: charged per event so the cap is memory
FIELD_CLIP = 4096                # longest string kept in a trace record (log_prompts on)
MAX_REASONS = 20                 # distinct retry reasons kept in the summary; the rest are "other"
MAX_TURN_RETRIES = 50            # retry attempts listed in one turn's usage line
SUMMARY_NAME = "usage-summary.json"
LOCK_NAME = ".lock"
MARKER = b'{"writer":"codex-lite telemetry"'  # how our trace and usage files begin (see _header)
_OWN_NAME = re.compile(r"(?:debug-\d{8}T\d{6}Z-\d+(?:\.\d+)?"
                       r"|usage-[\w-]{1,64}(?:\.\d{8}T\d{6}Z-\d+-\d+)?)\.jsonl")
REDACTED = "[redacted]"
_SECRET_NAMES = ("authorization", "proxy_authorization", "cookie", "set_cookie", "password", "secret",
                 "token", "key", "api_key", "apikey", "bearer")
_SECRET_PATTERN = r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{8,}"  # compiled on use
# Conversation content per event kind: logged only with log_prompts, otherwise replaced by its size.
PRIVATE_FIELDS: dict[str, tuple[str, ...]] = {
    "turn_started": ("prompt",), "reasoning": ("text",), "agent_message": ("text",),
    "tool_call": ("arguments", "error"), "command_started": ("command", "cwd"),
    "tool_result": ("output",), "file_change": ("diff", "changes"),
    "plan_update": ("plan", "explanation"), "history_append": ("message",),
}
# Kinds whose remaining fields are not conversation content (error texts come from our own code).
PUBLIC_KINDS = set(PRIVATE_FIELDS) | {"history_rewind", "usage", "retry", "retry_outcome", "error",
                                      "turn_completed", "turn_failed", "model_selection", "envelope_repair"}
COUNTERS = ("turns", "failed_turns", "requests", *TOKEN_FIELDS, "tool_calls", "tool_errors",
            "retry_attempts", "retry_episodes", "recoveries", "retry_failures", "retry_interrupted")
FLOATS = ("latency_seconds", "duration_seconds", "wait_seconds")
# envelope_repair events: action -> leak class -> count (the classes of envelope.CLASSES)
REPAIR_ACTIONS = ("recovered", "nudged", "scrubbed")
REPAIR_CLASSES = frozenset(("harmony", "bare_json", "recipient_only", "glued_channel", "residue"))

_live: list[Telemetry] = []           # open listeners: flushed by the exit, signal and crash hooks
_latest: dict[str, Telemetry] = {}    # the newest listener per folder, even once off: for /status
_hooks: dict[str, Any] = {}
_busy = [False]  # a flush is running: a signal arriving meanwhile must not start another one
_marked_cache: dict[tuple[str, int], bool] = {}


# --------------------------------------------------------------------------- settings


def settings(config: Any, enabled: bool | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The effective [telemetry] table: defaults < config.toml < CODEX_LITE_TELEMETRY < the flag.
    `dir` comes back absolute (relative paths are under CODEX_HOME); sizes are clamped to sane minimums."""
    env = os.environ if env is None else env
    table = {**DEFAULTS, **(getattr(config, "telemetry", None) or {})}
    switch = _parse_switch(env.get(ENV_VAR))
    if switch is not None:
        table["enabled"] = switch
    if enabled is not None:
        table["enabled"] = bool(enabled)
    home = getattr(config, "codex_home", None) or os.path.expanduser("~/.codex-lite")
    table["dir"] = os.path.join(home, os.path.expanduser(str(table["dir"])))
    table["max_total_bytes"] = max(MIN_TOTAL_BYTES, int(table["max_total_bytes"]))
    table["ring_buffer_bytes"] = max(MIN_RING_BYTES, min(int(table["ring_buffer_bytes"]),
                                                         table["max_total_bytes"] // 2))
    return table


def _parse_switch(value: str | None) -> bool | None:
    """CODEX_LITE_TELEMETRY: 1/true/yes/on or 0/false/no/off; anything else is ignored (with a note)."""
    if value is None or not value.strip():
        return None
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    _warn(f"ignoring {ENV_VAR}={value!r} (use 1/0 or true/false)")
    return None


def _warn(text: str) -> None:
    try:
        print(f"codex-lite: warning: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


_NAME_CACHE: dict[str, bool] = {}


def _secret_name(name: str) -> bool:
    """`Authorization`, `api_key`, `x-api-key`, `access_token`, ... but not `input_tokens` (a count)."""
    known = _NAME_CACHE.get(name)
    if known is None:
        low = name.lower().replace("-", "_")
        known = low in _SECRET_NAMES or low.endswith(("_key", "_token", "_secret", "_password", "apikey"))
        if len(_NAME_CACHE) < 512:
            _NAME_CACHE[name] = known
    return known


def secret_values(config: Any, env: dict[str, str] | None = None) -> list[str]:
    """Strings never to be written: the provider's key, its header values and every environment
    variable named like a key, token, secret or password."""
    env = os.environ if env is None else env
    found: set[str] = set()
    provider = getattr(config, "provider", None)
    if provider is not None:
        found.update(provider_secrets(provider))
    for name, value in env.items():
        if _secret_name(name) or "PASSWORD" in name.upper() or "SECRET" in name.upper():
            found.add(value)
    return sorted((s for s in found if s and len(s) >= MIN_CHARS), key=len, reverse=True)


# --------------------------------------------------------------------------- the ring buffer


class Ring:
    """Serialized events, newest last, at most `cap` bytes counting a fixed per-entry overhead, so
    memory stays bounded whatever the event rate. Adding is O(1) amortised; the oldest go first."""

    def __init__(self, cap: int):
        self.cap = cap
        self.lines: deque[str] = deque()
        self.bytes = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(line) + ENTRY_OVERHEAD > self.cap:
            line = json.dumps({"event": "oversized", "bytes": len(line)})
        self.lines.append(line)
        self.bytes += len(line) + ENTRY_OVERHEAD
        while self.bytes > self.cap:
            self.bytes -= len(self.lines.popleft()) + ENTRY_OVERHEAD
            self.dropped += 1

    def drain(self) -> tuple[list[str], int]:
        """Everything buffered and the number dropped since the last drain; leaves the ring empty."""
        lines, dropped = list(self.lines), self.dropped
        self.lines.clear()
        self.bytes = self.dropped = 0
        return lines, dropped


# --------------------------------------------------------------------------- records


def _clip(value: Any, limit: int = FIELD_CLIP) -> Any:
    """Long strings cut, secret-named keys blanked, recursively: one event can never be huge."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"...[{len(value) - limit} more]"
    if isinstance(value, dict):
        return {k: REDACTED if _secret_name(str(k)) and v else _clip(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clip(v, limit) for v in value[:200]]
    return value


def _size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, dict)):
        return len(value)
    return 1


def shape(event: Any, log_prompts: bool) -> dict[str, Any]:
    """The trace record of an event: everything with log_prompts, otherwise conversation text is
    replaced by sizes and tool metadata keeps only numbers and flags."""
    fields = getattr(event, "__dict__", None)  # a shallow copy: asdict() deep-copies every event
    data = {**fields, "event": event.kind} if fields is not None else event.to_dict()
    kind = data.get("event", "")
    if kind == "model_selection":
        data["event"] = f"model_selection.{data.get('action') or 'unknown'}"
    if log_prompts:
        return _clip(data)
    if kind not in PUBLIC_KINDS:  # an event kind this module does not know yet: numbers only
        return {k: v for k, v in data.items()
                if k == "event" or isinstance(v, (bool, int, float)) or v is None}
    for name in PRIVATE_FIELDS.get(kind, ()):
        if name in data:
            value = data.pop(name)
            if name == "message" and isinstance(value, dict):
                data["role"] = value.get("role")
                value = value.get("content")
            data[f"{name}_size"] = _size(value)
    if isinstance(data.get("metadata"), dict):
        data["metadata"] = {k: v for k, v in data["metadata"].items()
                            if isinstance(v, (bool, int, float)) and not _secret_name(k)}
    return _clip(data, 300)


def _reason_key(reason: str) -> str:
    """A bounded category for a retry reason: an HTTP status, a connection problem or a fallback."""
    low = reason.lower()
    status = re.search(r"answered (\d{3})", low)
    if status:
        return f"http {status.group(1)}"
    for word in ("connection refused", "timed out", "cannot reach", "reasoning only", "empty answer"):
        if word in low:
            return word
    return low[:40] or "unknown"


def _empty_totals() -> dict[str, Any]:
    totals: dict[str, Any] = {name: 0 for name in COUNTERS}
    totals.update({name: 0.0 for name in FLOATS})
    totals.update({"by_scope": {}, "by_reason": {}, "recovered_at_attempt": {}, "envelope": {}})
    return totals


def _bump(table: dict[str, Any], key: str, field: str, amount: float = 1) -> None:
    row = table.setdefault(key, {})
    row[field] = round(row.get(field, 0) + amount, 3)


def merge_totals(into: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Adds `delta` to `into` (both shaped like _empty_totals), keeping the reason table bounded."""
    for name in COUNTERS:
        into[name] = int(into.get(name) or 0) + int(delta.get(name) or 0)
    for name in FLOATS:
        into[name] = round(float(into.get(name) or 0) + float(delta.get(name) or 0), 3)
    for table in ("by_scope", "by_reason", "recovered_at_attempt", "envelope"):
        mine = into.setdefault(table, {})
        for key, row in (delta.get(table) or {}).items():
            if table == "by_reason" and key not in mine and len(mine) >= MAX_REASONS:
                key = "other"
            if isinstance(row, dict):
                for field, value in row.items():
                    _bump(mine, key, field, value)
            else:
                mine[key] = mine.get(key, 0) + row
    return into


def with_rates(totals: dict[str, Any]) -> dict[str, Any]:
    """Adds recovery_rate (recovered / finished episodes; None before any) to a copy of `totals`."""
    out = dict(totals)
    finished = int(out.get("recoveries", 0)) + int(out.get("retry_failures", 0))
    out["recovery_rate"] = round(out["recoveries"] / finished, 4) if finished else None
    return out


# --------------------------------------------------------------------------- retry episodes


class RetryTracker:
    """Turns Retry/RetryOutcome events into episodes with an outcome per attempt.

    The agent emits Retry both for fallback turns ("turn" scope, closed by RetryOutcome) and for HTTP
    retries inside one request ("request" scope, no outcome event). They are told apart by what comes
    next: a fallback retry is followed by the next attempt's user message (HistoryAppend); a request
    retry by another Retry, the request's Usage (recovered) or the turn's failure."""

    def __init__(self) -> None:
        self.pending: Any = None
        self.open: dict[str, dict[str, Any]] = {}
        self.attempts: list[dict[str, Any]] = []   # this turn's attempts, for its usage line
        self.delta = _empty_totals()                # counters not yet written to the summary

    def see(self, event: Any) -> None:
        kind = event.kind
        if self.pending is not None and kind != "retry":
            self._classify("turn" if kind == "history_append" else "request")
        elif self.pending is not None:
            self._classify("request")
        if kind == "retry" and getattr(event, "scope", None) in ("turn", "request"):
            self.pending = event  # the agent said which kind it is: no need to wait for the next event
            self._classify(event.scope)
        elif kind == "retry":
            self.pending = event
        elif kind == "usage":
            self._close("request", True)
        elif kind == "retry_outcome":
            self._close("turn", bool(event.recovered), event.attempts)
        elif kind == "turn_failed":
            outcome = None if event.message == "interrupted" else False
            self._close("request", outcome)
            self._close("turn", outcome)

    def _classify(self, scope: str) -> None:
        event, self.pending = self.pending, None
        episode = self.open.setdefault(scope, {"scope": scope, "attempts": []})
        attempt = {"scope": scope, "attempt": event.attempt, "reason": event.reason[:200],
                   "wait_seconds": event.wait_seconds, "outcome": "pending"}
        if episode["attempts"]:
            episode["attempts"][-1]["outcome"] = "retried"
        episode["attempts"].append(attempt)
        if len(self.attempts) < MAX_TURN_RETRIES:
            self.attempts.append(attempt)
        d = self.delta
        d["retry_attempts"] += 1
        d["wait_seconds"] = round(d["wait_seconds"] + float(event.wait_seconds or 0), 3)
        _bump(d["by_scope"], scope, "attempts")
        _bump(d["by_scope"], scope, "wait_seconds", float(event.wait_seconds or 0))
        _bump(d["by_reason"], _reason_key(event.reason), "attempts")

    def _close(self, scope: str, recovered: bool | None, attempts: int | None = None) -> None:
        episode = self.open.pop(scope, None)
        if episode is None:
            return
        outcome = "recovered" if recovered else ("failed" if recovered is False else "interrupted")
        episode["attempts"][-1]["outcome"] = outcome
        total = attempts or len(episode["attempts"]) + 1
        d = self.delta
        d["retry_episodes"] += 1
        _bump(d["by_scope"], scope, "episodes")
        reason = _reason_key(episode["attempts"][0]["reason"])
        _bump(d["by_reason"], reason, "episodes")
        if recovered:
            d["recoveries"] += 1
            _bump(d["by_scope"], scope, "recoveries")
            _bump(d["by_reason"], reason, "recoveries")
            d["recovered_at_attempt"][str(total)] = d["recovered_at_attempt"].get(str(total), 0) + 1
        elif recovered is False:
            d["retry_failures"] += 1
        else:
            d["retry_interrupted"] += 1

    def finish(self) -> None:
        """End of the run: a retry still waiting (Ctrl-C during the wait) was interrupted."""
        if self.pending is not None:
            self._classify("request")
        for scope in list(self.open):
            self._close(scope, None)

    def take(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        attempts, delta = self.attempts, self.delta
        self.attempts, self.delta = [], _empty_totals()
        return attempts, delta


# --------------------------------------------------------------------------- the folder


def _header(key: str) -> bytes:
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


class _Folder:
    """The log folder and its writer lock. Every size check and write happens with the lock held,
    so concurrent runs together still never go above the cap."""

    def __init__(self, path: str, cap: int):
        import fcntl

        self.path, self.cap, self._fcntl = path, cap, fcntl
        os.makedirs(path, exist_ok=True)
        self.lock_fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> _Folder:  # noqa: PYI034
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
            _write_all(fd, header)
        return fd

    def close(self) -> None:
        os.close(self.lock_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_fd(fd: int) -> bytes:
    """The whole (small) file; asks for its size, not a fixed buffer, to keep the peak memory low."""
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, os.fstat(fd).st_size - offset + 1, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _parse_summary(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    totals = merge_totals(_empty_totals(), data)
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
            return _parse_summary(_read_fd(fd))
        finally:
            if lock is not None:
                os.close(lock)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the listener


def _new_turn() -> dict[str, Any]:
    turn: dict[str, Any] = {name: 0 for name in ("requests", *TOKEN_FIELDS, "tool_calls", "tool_errors")}
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
        self.secrets = [s for s in secrets if s]
        self.redactor = Redactor(self.secrets)  # before texts are cut; _line scrubs the result again
        self.secrets += [json.dumps(s)[1:-1] for s in self.secrets if json.dumps(s)[1:-1] != s]
        self.ring = Ring(table["ring_buffer_bytes"])
        self.tracker = RetryTracker()
        self.on, self.closed = True, False
        self.turn: dict[str, Any] | None = None
        self.turns = 0
        self.session = _empty_totals()   # this run, for /status
        self.unsaved = _empty_totals()   # not yet added to the summary file
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
        self.folder: _Folder | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def open(self) -> bool:
        """Creates the folder and prunes it under the cap; False (after one warning) when it cannot."""
        try:
            self.folder = _Folder(self.dir, self.cap)
            with self.folder:
                used = prune(self.dir, self.cap)
        except OSError as exc:
            self._fail(exc)
            return False
        if used > self.cap:
            _warn(f"telemetry: {self.dir} holds {used} bytes of logs that running codex-lite "
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
        line = json.dumps(record, separators=(",", ":"), default=str)
        for secret in self.secrets:
            if secret in line:
                line = line.replace(secret, REDACTED)
        if "earer" in line or "sk-" in line:
            line = re.sub(_SECRET_PATTERN, lambda m: (m.group(1) or "") + REDACTED, line)
        return line

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
                        _bump(turn["envelope"], action, leak if leak in REPAIR_CLASSES else "other", n)
        elif kind == "tool_result" and not event.ok:
            turn["tool_errors"] += 1
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
            line.update({k: turn[k] for k in ("requests", *TOKEN_FIELDS, "tool_calls", "tool_errors")})
            line["latency_seconds"] = round(turn["latency_seconds"], 3)
            line["duration_seconds"] = round(time.monotonic() - turn["started"], 3)
            line["retries"] = attempts
            if turn["envelope"]:
                line["envelope"] = turn["envelope"]
            if not ok:
                line["error"] = str(event.message)[:300]
            self._usage_line(line)
            delta = _empty_totals()
            delta.update({k: line[k] for k in ("requests", *TOKEN_FIELDS, "tool_calls", "tool_errors",
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
        old = _read_fd(self.summary_fd)
        totals = merge_totals(_parse_summary(old) or _empty_totals(), self.unsaved)
        totals["updated"] = round(time.time(), 3)
        summary = json.dumps(totals, separators=(",", ":"), sort_keys=True).encode()
        grow = max(0, len(summary) - len(old))
        if data and self.usage_fd is not None and self.usage_bytes + len(data) > self.part_limit:
            self._rotate_usage()
        if data and self.usage_fd is None:
            grow += len(_header("type"))  # a new file starts with the marker
        if prune(self.dir, self.cap, len(data) + grow) + len(data) + grow > self.cap:
            self.skipped_writes += 1
            self.dropped += len(lines)
            data = b""
            if prune(self.dir, self.cap, grow) + grow > self.cap:
                return  # the totals stay in `unsaved` for a later try
        if data:
            if self.usage_fd is None:
                self.usage_fd = self.folder.open_held(self.usage_name, _header("type"))
                self.usage_bytes = os.fstat(self.usage_fd).st_size
            _write_all(self.usage_fd, data)
            self.usage_bytes += len(data)
        os.pwrite(self.summary_fd, summary, 0)
        os.ftruncate(self.summary_fd, len(summary))
        self.unsaved = _empty_totals()

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
            size += len(_header("event"))  # a new file starts with the marker
        room = self.cap - prune(self.dir, self.cap, size)
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
            self.trace_fd = self.folder.open_held(name, _header("event"))
            self.trace_path = os.path.join(self.dir, name)
            self.trace_bytes = len(_header("event"))
        batch, batch_bytes = ([marker] if marker else []), 0
        while ring.lines:
            line = self._pop()
            batch.append(line)
            batch_bytes += len(line) + 1
            if batch_bytes >= 8192 or not ring.lines:
                data = ("\n".join(batch) + "\n").encode()
                _write_all(self.trace_fd, data)
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
        _warn(f"telemetry is off for this run: {_describe(exc)} ({self.dir}); the agent carries on")

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
        _unregister(self)


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


# --------------------------------------------------------------------------- process hooks


def _register(tele: Telemetry) -> None:
    """Flush on exit, on SIGTERM/SIGHUP and on an uncaught exception, chaining to whatever handler
    was there before. SIGINT is left alone so Ctrl-C behaves exactly as without telemetry."""
    _live.append(tele)
    if "excepthook" in _hooks:
        return
    import atexit
    import signal

    if not _hooks.get("atexit_registered"):
        atexit.register(_at_exit)
    _hooks["atexit_registered"] = True
    _hooks["excepthook"] = sys.excepthook
    sys.excepthook = _excepthook
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        previous = signal.getsignal(signum)
        if previous is None:  # a handler set outside Python: leave it alone
            continue
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not the main thread, or not allowed
            continue
        _hooks[signum] = previous


def _unregister(tele: Telemetry) -> None:
    if tele in _live:
        _live.remove(tele)
    if _live or "excepthook" not in _hooks:
        return
    import signal

    if sys.excepthook is _excepthook:
        sys.excepthook = _hooks["excepthook"]
    for signum in [k for k in _hooks if isinstance(k, int)]:
        previous = _hooks.pop(signum)
        try:
            if signal.getsignal(signum) is _on_signal:
                signal.signal(signum, previous)
        except (ValueError, OSError):
            pass
    _hooks.pop("excepthook")


def _at_exit() -> None:
    for tele in _live[:]:  # a copy: close() removes from _live
        tele.close()


def _excepthook(etype: type, value: BaseException, tb: Any) -> None:
    previous = _hooks.get("excepthook") or sys.__excepthook__
    for tele in _live[:]:  # a copy: close() removes from _live
        tele.crash(value)
    previous(etype, value, tb)


def _on_signal(signum: int, frame: Any) -> None:
    """Write what we have, then do what would have happened without us (by default: die by it)."""
    import signal

    previous = _hooks.get(signum, signal.SIG_DFL)
    for tele in _live[:]:  # a copy: close() removes from _live
        try:
            tele._add({"event": "signal", "signal": signum})
        except Exception:  # noqa: BLE001, S110 - nothing useful to do inside a signal handler
            pass
        tele.flush("signal")
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:
        for tele in _live[:]:  # a copy: close() removes from _live
            tele.close()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


# --------------------------------------------------------------------------- entry points


def start(config: Any, session_id: str, enabled: bool | None = None) -> Telemetry | None:
    """The run's telemetry listener, or None when it is off (or its folder cannot be used)."""
    try:
        table = settings(config, enabled)
    except (TypeError, ValueError) as exc:
        _warn(f"telemetry is off for this run: bad [telemetry] setting: {exc}")
        return None
    if not table["enabled"]:
        return None
    tele = Telemetry(table, session_id, secret_values(config), getattr(config, "model", None))
    if not tele.open():
        return None
    _latest[tele.dir] = tele
    _register(tele)
    return tele


def summary(source: Any = None) -> dict[str, Any]:
    """What `/status` and `codex-lite stats` show: this session (when telemetry is running in this
    process) and all time, with tokens, retry attempts, recoveries, recovery rate and time waited.
    `source` is a Config or a CODEX_HOME path (then the default `logs` folder is used)."""
    if isinstance(source, str) or source is None:
        from types import SimpleNamespace

        source = SimpleNamespace(codex_home=source, telemetry={})
    folder = settings(source, env={})["dir"]
    live = _latest.get(folder)
    if live is not None and live.closed:  # that session is over; its numbers are in the file
        live = None
    saved = read_summary(folder)
    all_time = merge_totals(saved or _empty_totals(), live.unsaved if live else {})
    if saved:
        all_time.update({k: saved[k] for k in ("since", "updated") if k in saved})
    out = with_rates(all_time)
    return {"enabled": bool(live and live.on), "dir": folder, "recorded": saved is not None or bool(live),
            "session_id": live.session_id if live else None,
            "session": with_rates(live.session) if live else None, "all_time": out,
            "retry_attempts": out["retry_attempts"], "recoveries": out["recoveries"],
            "recovery_rate": out["recovery_rate"], "wait_seconds": out["wait_seconds"],
            "dropped": live.status()["dropped"] if live else 0}
