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

The package, one concept a module (this file only wires them and holds the entry points):

    table.py       the effective [telemetry] table (defaults < config < env < flag), warn()
    redaction.py   secret names and values, the shapes-only rule (reuses security/redact.py)
    ring.py        the byte-capped ring buffer
    totals.py      counters, the all-time summary arithmetic, retry episodes (RetryTracker)
    store.py       the folder: marker, lock, pruning; the byte cap is checked in Folder.room() only
    listener.py    Telemetry, the event listener
    hooks.py       flush at exit, on SIGTERM/SIGHUP and on a crash

Importing it loads the same standard modules as the single module did (json, re, collections;
fcntl, signal and atexit on first use) and codex_lite.security.redact and codex_lite.retry, which
`exec` has loaded already: `exec` starts it on every run.
"""

from __future__ import annotations

from typing import Any

from codex_lite.security.redact import REDACTED
from codex_lite.telemetry import hooks
from codex_lite.telemetry.listener import Telemetry
from codex_lite.telemetry.redaction import secret_values, shape
from codex_lite.telemetry.ring import Ring
from codex_lite.telemetry.store import MARKER, SUMMARY_NAME, prune, read_summary
from codex_lite.telemetry.table import DEFAULTS, ENV_VAR, MIN_RING_BYTES, MIN_TOTAL_BYTES, settings, warn
from codex_lite.telemetry.totals import empty_totals, merge_totals, with_rates

__all__ = ["DEFAULTS", "ENV_VAR", "MARKER", "MIN_RING_BYTES", "MIN_TOTAL_BYTES", "REDACTED", "SUMMARY_NAME",
           "Ring", "Telemetry", "merge_totals", "prune", "read_summary", "secret_values", "settings", "shape",
           "start", "summary", "with_rates"]

_latest: dict[str, Telemetry] = {}    # the newest listener per folder, even once off: for /status


def start(config: Any, session_id: str, enabled: bool | None = None) -> Telemetry | None:
    """The run's telemetry listener, or None when it is off (or its folder cannot be used)."""
    try:
        table = settings(config, enabled)
    except (TypeError, ValueError) as exc:
        warn(f"telemetry is off for this run: bad [telemetry] setting: {exc}")
        return None
    if not table["enabled"]:
        return None
    tele = Telemetry(table, session_id, secret_values(config), getattr(config, "model", None))
    if not tele.open():
        return None
    _latest[tele.dir] = tele
    hooks.register(tele)
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
    all_time = merge_totals(saved or empty_totals(), live.unsaved if live else {})
    if saved:
        all_time.update({k: saved[k] for k in ("since", "updated") if k in saved})
    out = with_rates(all_time)
    return {"enabled": bool(live and live.on), "dir": folder, "recorded": saved is not None or bool(live),
            "session_id": live.session_id if live else None,
            "session": with_rates(live.session) if live else None, "all_time": out,
            "retry_attempts": out["retry_attempts"], "recoveries": out["recoveries"],
            "recovery_rate": out["recovery_rate"], "wait_seconds": out["wait_seconds"],
            "dropped": live.status()["dropped"] if live else 0}
