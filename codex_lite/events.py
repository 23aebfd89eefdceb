"""Typed events: the one stream that every front end, the telemetry and the session file consume.

The agent never prints. It emits these events to listeners (callables taking one event), so the
JSONL output, the REPL screen, the logs and a resumed session can never disagree about what happened.
Every event turns into a plain dict with `to_dict()` (used by telemetry and session files) and back
with `from_dict()` (used by resume).
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar

from codex_lite.records import asdict, dataclass, field, fields


def duration_text(seconds: float) -> str:
    """1s, 45s, 2m05s, 3h20m, 11d13h: rounded up, never "0.53s"."""
    if not math.isfinite(seconds):
        return "forever"
    s = max(1, math.ceil(seconds - 1e-9))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.kind
        return data


@dataclass
class TurnStarted(Event):
    kind: ClassVar[str] = "turn_started"
    prompt: str = ""
    attempt: int = 1


@dataclass
class Reasoning(Event):
    kind: ClassVar[str] = "reasoning"
    text: str = ""


@dataclass
class AgentMessage(Event):
    kind: ClassVar[str] = "agent_message"
    text: str = ""
    final: bool = False  # the turn's answer, as opposed to a preamble before tool calls


@dataclass
class ToolCall(Event):
    """A call the model asked for. `error` is set when it could not be understood (bad JSON, unknown
    shape); such a call is answered with an error result instead of being run."""

    kind: ClassVar[str] = "tool_call"
    call_id: str = ""
    name: str = ""
    arguments: dict[str, Any] | None = None
    error: str | None = None
    recovered: bool = False  # came from a leaked harmony envelope rather than structured tool_calls


@dataclass
class CommandStarted(Event):
    """A shell command is about to run (front ends show it before its possibly long run)."""

    kind: ClassVar[str] = "command_started"
    call_id: str = ""
    command: str = ""
    cwd: str = ""


@dataclass
class ToolResult(Event):
    """What a tool answered. `output` is exactly what the model sees; `metadata` carries the facts
    front ends show (exit_code, duration_seconds, command, peak_rss_kb, ...)."""

    kind: ClassVar[str] = "tool_result"
    call_id: str = ""
    name: str = ""
    output: str = ""
    ok: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileChange(Event):
    """One applied (or failed) patch. `changes` is [{"path": str, "kind": "add"|"delete"|"update"}]."""

    kind: ClassVar[str] = "file_change"
    call_id: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    status: str = "completed"  # or "failed"
    diff: str = ""


@dataclass
class PlanUpdate(Event):
    kind: ClassVar[str] = "plan_update"
    call_id: str = ""
    plan: list[dict[str, str]] = field(default_factory=list)
    explanation: str | None = None


@dataclass
class HistoryAppend(Event):
    """A message added to the conversation sent to the model; the session file keeps these so
    `resume` can rebuild the exact history."""

    kind: ClassVar[str] = "history_append"
    message: dict[str, Any] = field(default_factory=dict)


@dataclass
class HistoryRewind(Event):
    """The history was cut back to `length` messages (a fallback attempt's transcript dropped)."""

    kind: ClassVar[str] = "history_rewind"
    length: int = 0


@dataclass
class Usage(Event):
    kind: ClassVar[str] = "usage"
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    latency_seconds: float = 0.0


@dataclass
class Retry(Event):
    """A fallback turn or a failed request that will be tried again after `wait_seconds`."""

    kind: ClassVar[str] = "retry"
    attempt: int = 1
    max_attempts: int = 1
    wait_seconds: float = 0.0
    reason: str = ""
    scope: str = "turn"  # codex_lite.retry.TURN: a fallback turn sent again; REQUEST: an HTTP request retried

    def summary(self, width: int = 80, note: str = "") -> str:
        """One line for front ends, cut to `width`: "retrying in 2s (2/5): 503: upstream down"."""
        wait = f" in {duration_text(self.wait_seconds)}" if self.wait_seconds > 0 else ""
        line = (f"retrying{wait} ({self.attempt + 1}/{self.max_attempts}{note}): "
                + " ".join(str(self.reason).split()))
        return line if len(line) <= width else line[:max(0, width - 3)] + "..."


@dataclass
class RetryOutcome(Event):
    """How a retried task ended, for the telemetry's recovery rate."""

    kind: ClassVar[str] = "retry_outcome"
    attempts: int = 1
    recovered: bool = False


@dataclass
class EnvelopeRepair(Event):
    """What envelope recovery did to one model answer, per class of leak (envelope.CLASSES):
    calls recovered from text and run, calls answered with an error telling the model how to call
    (nudges), and pieces of protocol removed from what is shown. Front ends say so in one dim line;
    telemetry counts it so a user can see how often their server leaks."""

    kind: ClassVar[str] = "envelope_repair"
    recovered: dict[str, int] = field(default_factory=dict)
    nudged: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """The lines a person is shown (scrubbed debris is only counted)."""
        out = []
        n = sum(self.recovered.values())
        if n:
            out.append("recovered a tool call the model sent as text" if n == 1
                       else f"recovered {n} tool calls the model sent as text")
        n = sum(self.nudged.values())
        if n:
            out.append("the model sent a tool call as text that could not be run; it was told how to call "
                       "the tool" if n == 1 else f"the model sent {n} tool calls as text that could not be "
                       "run; it was told how to call the tools")
        return out


@dataclass
class ContextCompacted(Event):
    """The older part of the conversation became a model-written summary; `reason`: "auto", "overflow"
    or "manual"; tokens: estimates of the next request before and after."""

    kind: ClassVar[str] = "context_compacted"
    reason: str = "auto"
    tokens_before: int = 0
    tokens_after: int = 0
    messages: int = 0  # how many the summary replaced
    limit: int = 0     # the compaction limit (0: none)

    def summary(self) -> str:
        why = {"auto": f"it neared the {self.limit:,}-token limit" if self.limit else "it grew too long",
               "overflow": "the server said it no longer fits the context window",
               "manual": "/compact"}.get(self.reason, self.reason)
        older = "1 older message" if self.messages == 1 else f"{self.messages} older messages"
        return (f"context compacted ({why}): {older} summarised, about {self.tokens_before:,} -> "
                f"{self.tokens_after:,} tokens")


@dataclass
class Error(Event):
    kind: ClassVar[str] = "error"
    message: str = ""


@dataclass
class TurnCompleted(Event):
    kind: ClassVar[str] = "turn_completed"
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class TurnFailed(Event):
    kind: ClassVar[str] = "turn_failed"
    message: str = ""


@dataclass
class ModelSelection(Event):
    """A model chosen in onboarding or with /model. `action` names what happened ("listed",
    "selected", "fallback", ...), `source` where the choice came from ("onboarding", "/model",
    "config", "cli"); telemetry logs it as `model_selection.<action>`."""

    kind: ClassVar[str] = "model_selection"
    action: str = ""
    model: str = ""
    reasoning_effort: str | None = None
    source: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (TurnStarted, Reasoning, AgentMessage, ToolCall, CommandStarted, ToolResult, FileChange,
                PlanUpdate, HistoryAppend, HistoryRewind, Usage, Retry, RetryOutcome, EnvelopeRepair,
                ContextCompacted, Error,
                TurnCompleted, TurnFailed, ModelSelection)
}


def from_dict(data: dict[str, Any]) -> Event | None:
    """Rebuild an event written by `to_dict`; None for an unknown or damaged record (a field of the
    wrong type)."""
    cls = EVENT_TYPES.get(str(data.get("event")))
    if cls is None:
        return None
    types = _field_types(cls)
    values = {k: v for k, v in data.items() if k in types}
    if not all(_is_a(v, types[k]) for k, v in values.items()):
        return None
    try:
        event = cls(**values)
    except TypeError:
        return None
    return event if _nested_ok(event) else None


def _nested_ok(event: Event) -> bool:
    """The insides front ends read without checking: lists of objects, tables of counts."""
    if isinstance(event, (PlanUpdate, FileChange)):
        items = event.plan if isinstance(event, PlanUpdate) else event.changes
        return all(isinstance(item, dict) for item in items)
    if isinstance(event, EnvelopeRepair):
        return all(isinstance(n, int) and not isinstance(n, bool)
                   for table in (event.recovered, event.nudged, event.scrubbed) for n in table.values())
    return True


_TYPE_NAMES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "dict": (dict,),
    "list": (list,), "None": (type(None),)}
_FIELD_TYPES: dict[type, dict[str, tuple[type, ...] | None]] = {}


def _field_types(cls: type[Event]) -> dict[str, tuple[type, ...] | None]:
    """Field -> the types its annotation allows ("dict[str, Any] | None" -> (dict, NoneType)), or
    None for anything."""
    if cls not in _FIELD_TYPES:
        hints = getattr(cls, "__annotations__", {})  # strings: this module defers annotations
        table: dict[str, tuple[type, ...] | None] = {}
        for f in fields(cls):
            found = [_TYPE_NAMES.get(p.strip().split("[")[0]) for p in str(hints.get(f.name)).split("|")]
            table[f.name] = None if None in found else sum(found, ())
        _FIELD_TYPES[cls] = table
    return _FIELD_TYPES[cls]


def _is_a(value: Any, allowed: tuple[type, ...] | None) -> bool:
    if allowed is None:
        return True
    if isinstance(value, bool) and bool not in allowed:
        return False
    if isinstance(value, float) and float in allowed and not math.isfinite(value):
        return False
    return isinstance(value, allowed)


Listener = Callable[[Event], None]


class Bus:
    """Hands each event to every listener. A listener that breaks (a closed pipe, a full disk) is
    dropped with one warning; the agent and the other listeners carry on. With a `scrub` function
    (the session's redact.Redactor.event) every listener sees the event with secrets redacted: the
    screen, JSON output, the session file and telemetry alike."""

    def __init__(self, *listeners: Listener):
        self.listeners: list[Listener] = [listener for listener in listeners if listener]
        self.scrub: Callable[[Event], Event] | None = None

    def add(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def __call__(self, event: Event) -> None:
        if self.scrub is not None:
            event = self.scrub(event)
        for listener in list(self.listeners):
            try:
                listener(event)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - a front end must not kill the agent
                self.listeners.remove(listener)
                import sys

                from codex_lite.security.visible import visible

                name = getattr(listener, "__qualname__", None) or type(listener).__name__
                try:  # stderr may be the closed pipe or the terminal that went away
                    print(f"codex-lite: warning: {name} stopped: {visible(str(exc))}", file=sys.stderr)
                except (OSError, ValueError):
                    pass
