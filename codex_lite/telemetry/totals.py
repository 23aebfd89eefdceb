"""Counters of usage and retries: per turn, per session and all time, and retry episodes.

    empty_totals() -> dict; merge_totals(into, delta) -> into; with_rates(totals) -> copy + recovery_rate
    bump(table, key, field, amount=1)      one cell of a nested counter table
    RetryTracker: see(event) for every event; take() -> (this turn's attempts, totals delta); finish()

Why apart: the arithmetic of `/status` and `codex-lite stats` is pure (no files, no clock but the
caller's), so it reads and tests on its own. The two retry scopes are named in codex_lite.retry.
"""

from __future__ import annotations

import re
from typing import Any

from codex_lite.history import TOKEN_FIELDS  # the counters of history.Tokens
from codex_lite.retry import REQUEST, SCOPES, TURN

MAX_REASONS = 20                 # distinct retry reasons kept in the summary; the rest are "other"
MAX_TURN_RETRIES = 50            # retry attempts listed in one turn's usage line
TURN_COUNTERS = ("requests", *TOKEN_FIELDS, "tool_calls", "tool_errors", "compactions", "compacted_tokens")
COUNTERS = ("turns", "failed_turns", *TURN_COUNTERS,
            "retry_attempts", "retry_episodes", "recoveries", "retry_failures", "retry_interrupted")
FLOATS = ("latency_seconds", "duration_seconds", "wait_seconds")
# envelope_repair events: action -> leak class -> count (the classes of envelope.CLASSES)
REPAIR_ACTIONS = ("recovered", "nudged", "scrubbed")
REPAIR_CLASSES = frozenset(("harmony", "bare_json", "recipient_only", "glued_channel", "residue"))


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


def empty_totals() -> dict[str, Any]:
    totals: dict[str, Any] = {name: 0 for name in COUNTERS}
    totals.update({name: 0.0 for name in FLOATS})
    totals.update({"by_scope": {}, "by_reason": {}, "recovered_at_attempt": {}, "envelope": {}})
    return totals


def bump(table: dict[str, Any], key: str, field: str, amount: float = 1) -> None:
    row = table.setdefault(key, {})
    row[field] = round(row.get(field, 0) + amount, 3)


def merge_totals(into: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Adds `delta` to `into` (both shaped like empty_totals), keeping the reason table bounded."""
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
                    bump(mine, key, field, value)
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
        self.delta = empty_totals()                # counters not yet written to the summary

    def see(self, event: Any) -> None:
        kind = event.kind
        if self.pending is not None and kind != "retry":
            self._classify(TURN if kind == "history_append" else REQUEST)
        elif self.pending is not None:
            self._classify(REQUEST)
        if kind == "retry" and getattr(event, "scope", None) in SCOPES:
            self.pending = event  # the agent said which kind it is: no need to wait for the next event
            self._classify(event.scope)
        elif kind == "retry":
            self.pending = event
        elif kind == "usage":
            self._close(REQUEST, True)
        elif kind == "retry_outcome":
            self._close(TURN, bool(event.recovered), event.attempts)
        elif kind == "turn_failed":
            outcome = None if event.message == "interrupted" else False
            self._close(REQUEST, outcome)
            self._close(TURN, outcome)

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
        bump(d["by_scope"], scope, "attempts")
        bump(d["by_scope"], scope, "wait_seconds", float(event.wait_seconds or 0))
        bump(d["by_reason"], _reason_key(event.reason), "attempts")

    def _close(self, scope: str, recovered: bool | None, attempts: int | None = None) -> None:
        episode = self.open.pop(scope, None)
        if episode is None:
            return
        outcome = "recovered" if recovered else ("failed" if recovered is False else "interrupted")
        episode["attempts"][-1]["outcome"] = outcome
        total = attempts or len(episode["attempts"]) + 1
        d = self.delta
        d["retry_episodes"] += 1
        bump(d["by_scope"], scope, "episodes")
        reason = _reason_key(episode["attempts"][0]["reason"])
        bump(d["by_reason"], reason, "episodes")
        if recovered:
            d["recoveries"] += 1
            bump(d["by_scope"], scope, "recoveries")
            bump(d["by_reason"], reason, "recoveries")
            d["recovered_at_attempt"][str(total)] = d["recovered_at_attempt"].get(str(total), 0) + 1
        elif recovered is False:
            d["retry_failures"] += 1
        else:
            d["retry_interrupted"] += 1

    def finish(self) -> None:
        """End of the run: a retry still waiting (Ctrl-C during the wait) was interrupted."""
        if self.pending is not None:
            self._classify(REQUEST)
        for scope in list(self.open):
            self._close(scope, None)

    def take(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        attempts, delta = self.attempts, self.delta
        self.attempts, self.delta = [], empty_totals()
        return attempts, delta
