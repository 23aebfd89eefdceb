"""Harmony envelope recovery (issue: "Harmony envelope recovery"). CONTRACT STUB.

The helper building this module replaces the body, keeping these names and signatures:

    recover(content, reasoning_texts, structured_calls) -> Recovery

`content`: the message's content (str or None). `reasoning_texts`: every reasoning field found in the
answer, in order (None entries allowed). `structured_calls`: the answer's `tool_calls` as
(call_id, name, arguments_json_text) tuples. Returns Recovery(text, reasoning, calls, diagnostics),
where `calls` is a list of RecoveredCall: structured calls first (normalised), then leaked ones,
with duplicates removed. Never raises; output text never contains a harmony special token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass
class RecoveredCall:
    call_id: str
    name: str
    arguments: dict[str, Any] | None
    error: str | None = None  # set when the call could not be understood; sent back to the model
    recovered: bool = False   # True when it came from leaked text


@dataclass
class Recovery:
    text: str = ""
    reasoning: str = ""
    calls: list[RecoveredCall] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)


def normalize_call(call_id: str, name: str, arguments_text: str | None) -> RecoveredCall:
    try:
        args = json.loads(arguments_text or "{}")
    except ValueError as exc:
        return RecoveredCall(call_id, name, None, f"arguments are not valid JSON: {exc}")
    if not isinstance(args, dict):
        return RecoveredCall(call_id, name, None, "arguments must be a JSON object")
    return RecoveredCall(call_id, name, args)


def recover(content: str | None, reasoning_texts: Iterable[str | None] = (),
            structured_calls: Iterable[tuple[str, str, str | None]] = ()) -> Recovery:
    reasoning = "\n".join(t for t in reasoning_texts if t)
    calls = [normalize_call(*c) for c in structured_calls]
    return Recovery(text=content or "", reasoning=reasoning, calls=calls)
