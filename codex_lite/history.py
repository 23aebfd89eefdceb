"""The conversation: the one owner of the messages sent to the model, and the token counts.

    History(emit, instructions="")      the agent's conversation; every change is an event
      .messages                         every message, in order (what the session file replays)
      .append(message) / .rewind(length) / .restore(messages)
      .close_dangling_calls(reason)     answer tool calls left without a result (after Ctrl-C, ...)
      .to_send(cap_bytes=None) -> list  the messages for the next request, old tool output cut
      .preamble_length() -> int         the leading system messages: never summarised away
      .summary_request(cut, budget, count) -> list   what a summarising request sends
      .compact(summary, cut, prompt=None, limit=None) -> int   messages[preamble:cut] become
                                        `summary`; returns how many messages there were before
    Tokens                              the four token counters as one value (+, of(), as_dict())
    close_dangling_calls(messages, reason), drop_orphan_results(messages), valid_message(message)
                                        the repairs `rollout.load` and History share

Why it looks like this: a chat API rejects a conversation with a tool call left unanswered or a
result whose call is gone, and a resumed session must rebuild exactly what was sent. So every
change goes out as a HistoryAppend/HistoryRewind event (the session file replays them in order),
and one algorithm repairs unanswered calls wherever they come from: an interrupted turn, a failed
turn, a session file cut by kill -9. `to_send()` and `compact()` are the two seams of a bounded
conversation (compaction.py says how): what is resent has old tool output cut without touching
`messages` (nor the session file), and compaction keeps the system instructions (AGENTS.md
included) and the newest rounds, and is itself a rewind and appends, so a resumed session
continues from the summary.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from codex_lite import compaction
from codex_lite import events as ev
from codex_lite.records import dataclass, fields

SUMMARY_PROMPT, SUMMARY_INTRO = compaction.SUMMARY_PROMPT, compaction.SUMMARY_INTRO
ROLES = ("system", "user", "assistant", "tool")


@dataclass
class Tokens:
    """Token counts of one answer, one turn or a whole session (Usage and TurnCompleted events
    carry the same four fields flat, which is how they are written to files and JSON)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def of(cls, source: Any) -> Tokens:
        """The counters of anything that has them: an event, a Tokens, a dict (missing = 0)."""
        get = source.get if isinstance(source, dict) else (lambda name, d: getattr(source, name, d))
        return cls(*(int(get(name, 0) or 0) for name in TOKEN_FIELDS))

    def __add__(self, other: Any) -> Tokens:
        other = Tokens.of(other)
        return Tokens(*(getattr(self, n) + getattr(other, n) for n in TOKEN_FIELDS))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TOKEN_FIELDS}

    def text(self) -> str:
        """How /status shows them."""
        return (f"in {self.input_tokens} (cached {self.cached_input_tokens}), out {self.output_tokens} "
                f"(reasoning {self.reasoning_tokens})")


TOKEN_FIELDS = tuple(f.name for f in fields(Tokens))


class History:
    """The agent's conversation. `emit` receives a HistoryAppend or HistoryRewind for every change
    (the session file records them), except `restore`, which takes a history the file already holds."""

    def __init__(self, emit: Callable[[ev.Event], None], instructions: str = ""):
        self.emit = emit
        self.messages: list[dict[str, Any]] = []
        self.resender = compaction.Resender()
        if instructions:
            self.append({"role": "system", "content": instructions})

    def __len__(self) -> int:
        return len(self.messages)

    def append(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.emit(ev.HistoryAppend(message=message))

    def rewind(self, length: int) -> None:
        del self.messages[length:]
        self.emit(ev.HistoryRewind(length=length))

    def restore(self, messages: list[dict[str, Any]]) -> None:
        """Continue a resumed session: its saved history, instructions included, replaces the fresh
        one, so the session file's record stays consistent (no event is emitted)."""
        self.messages = list(messages)

    def close_dangling_calls(self, reason: str) -> None:
        """Answer every call left without a result with an "interrupted" result saying `reason`,
        so the next request is valid. Emitted as events: appends when the gap is at the end (an
        interrupted turn), else a rewind to the first repair and the rest again."""
        repaired = list(self.messages)
        close_dangling_calls(repaired, reason)
        same = next((i for i, (a, b) in enumerate(zip(self.messages, repaired)) if a is not b),
                    len(self.messages))
        if same == len(repaired):
            return
        if same < len(self.messages):
            self.rewind(same)
        for message in repaired[same:]:
            self.append(message)

    # -- what is sent, and making it smaller -------------------------------------------------------

    def to_send(self, cap_bytes: int | None = None) -> list[dict[str, Any]]:
        """The messages for the next request: tool results older than a few rounds cut to their head
        and tail, newer ones to `cap_bytes` (compaction.Resender); `messages` stays whole."""
        return self.resender.view(self.messages, cap_bytes)

    def preamble_length(self) -> int:
        """How many leading messages are system instructions (AGENTS.md included): compaction keeps
        them verbatim."""
        n = 0
        while n < len(self.messages) and self.messages[n].get("role") == "system":
            n += 1
        return n

    def summary_request(self, cut: int, budget: int, count: compaction.Count,
                        cap_bytes: int | None = None) -> list[dict[str, Any]]:
        """The messages of a request (sent without tools) asking the model to summarise
        messages[preamble:cut], within `budget` tokens as `count` estimates them."""
        return compaction.summary_request(self.to_send(cap_bytes), self.preamble_length(), cut, budget, count)

    def compact(self, summary: str, cut: int, prompt: str | None = None, limit: int | None = None) -> int:
        """Replace messages[preamble:cut] with `summary`, a user message (quoting `prompt`, the
        running request, when it was in that part); the preamble and messages[cut:] stay verbatim.
        Returns the number of messages before."""
        before, keep = len(self.messages), self.preamble_length()
        tail = self.messages[cut:]
        self.rewind(keep)
        self.append(compaction.summary_message(summary, prompt, limit))
        for message in tail:
            self.append(message)
        return before


def interrupted_result(call_id: str, reason: str) -> dict[str, Any]:
    """The result given to a call that never finished: the shell tool's shape, exit code 130."""
    return {"role": "tool", "tool_call_id": call_id,
            "content": json.dumps({"output": reason, "metadata": {"exit_code": 130}})}


def close_dangling_calls(messages: list[dict[str, Any]], reason: str) -> None:
    """Insert an "interrupted" result (`reason`) right after the results of any assistant message
    whose calls were left unanswered (the API rejects such a history). In place."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    i = 0
    while i < len(messages):
        calls = messages[i].get("tool_calls") if messages[i].get("role") == "assistant" else None
        i += 1
        missing = [c.get("id") for c in calls or [] if isinstance(c, dict) and c.get("id") not in answered]
        if not missing:
            continue
        while i < len(messages) and messages[i].get("role") == "tool":
            i += 1
        for call_id in missing:
            messages.insert(i, interrupted_result(call_id, reason))
            answered.add(call_id)
            i += 1


def drop_orphan_results(messages: list[dict[str, Any]]) -> None:
    """Remove tool results whose call is gone (on a damaged line): the API rejects them. In place."""
    called: set[Any] = set()
    kept = []
    for message in messages:
        if message.get("role") == "assistant":
            called.update(c.get("id") for c in message.get("tool_calls") or [])
        if message.get("role") == "tool" and message.get("tool_call_id") not in called:
            continue
        kept.append(message)
    messages[:] = kept


def valid_message(message: dict[str, Any]) -> bool:
    """Is this a message of the shapes the agent writes (what the model server accepts back)?"""
    content = message.get("content")
    if message.get("role") not in ROLES or not isinstance(content, (str, list, type(None))):
        return False
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        return False
    calls = message.get("tool_calls")
    if calls is None:
        return True
    return isinstance(calls, list) and all(
        isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("function"), dict)
        and isinstance(c["function"].get("name"), str) and isinstance(c["function"].get("arguments"), str)
        for c in calls)
