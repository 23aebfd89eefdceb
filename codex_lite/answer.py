"""One chat-completion answer -> typed events and the assistant message for the history.

Every text field (content and every place servers put reasoning) goes through envelope recovery
first, so a call that leaked as harmony text is an ordinary tool call from here on, and no raw token,
recipient or glued channel word (envelope.find_leak) reaches a screen, a log or the next request:
recovery's last step enforces that rule on the text and reasoning it returns.
"""

from __future__ import annotations

import json
import os
from typing import Any

from codex_lite import envelope
from codex_lite import events as ev
from codex_lite.json_limits import json_type, too_deep
from codex_lite.records import dataclass, field


@dataclass
class Answer:
    text: str
    reasoning: str
    calls: list[envelope.RecoveredCall]
    usage: ev.Usage
    history_message: dict[str, Any]
    diagnostics: list[str] = field(default_factory=list)
    scrubbed: dict[str, int] = field(default_factory=dict)  # leak class -> pieces removed from text

    @property
    def is_final(self) -> bool:
        """A turn ends with an assistant message and no further calls."""
        return not self.calls and bool(self.text.strip())


def reasoning_fields(choice: dict[str, Any], message: dict[str, Any]) -> list[str]:
    """Every place a server may have put reasoning (DESIGN.md section 2), in a stable order, each
    text once. LiteLLM moves fields into `provider_specific_fields` and copies `reasoning` into
    `reasoning_content`, so the same text can arrive twice."""
    texts: list[Any] = []
    for holder in (message, _dict(message.get("provider_specific_fields")), choice,
                   _dict(choice.get("provider_specific_fields"))):
        texts += [holder.get("reasoning_content"), holder.get("reasoning")]
        blocks = holder.get("thinking_blocks")
        if isinstance(blocks, list):
            texts += [b.get("thinking") for b in blocks if isinstance(b, dict)]
    unique: list[str] = []
    for text in texts:
        if isinstance(text, str) and text.strip() and text not in unique:
            unique.append(text)
    return unique


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


MAX_STRUCTURED_CALLS = envelope.MAX_LEAKED_CALLS  # calls run from one answer's tool_calls
MAX_ARGUMENT_DEPTH = 32  # a shell call is 2 levels deep, a plan 3


def structured_calls(message: dict[str, Any]) -> tuple[list[tuple[str | None, str, str | None]],
                                                      list[envelope.RecoveredCall]]:
    """(usable calls as (id, name, arguments), error calls): a call of the wrong shape is answered
    with an error, not run; calls beyond MAX_STRUCTURED_CALLS get one error call (a model looping
    on calls would grow the next request and the session file without bound)."""
    raw = message.get("tool_calls")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [_error_call(f"tool_calls was {json_type(raw)}, not a list; nothing was run")]
    calls: list[tuple[str | None, str, str | None]] = []
    errors: list[envelope.RecoveredCall] = []
    for call in raw[:MAX_STRUCTURED_CALLS]:
        usable = _structured_call(call)
        if isinstance(usable, envelope.RecoveredCall):
            errors.append(usable)
        else:
            calls.append(usable)
    if len(raw) > MAX_STRUCTURED_CALLS:
        errors.append(_error_call(
            f"{len(raw) - MAX_STRUCTURED_CALLS} more tool calls in this answer were not run: at most "
            f"{MAX_STRUCTURED_CALLS} calls are read from one answer; send the remaining ones again"))
    return calls, errors


def _structured_call(call: Any) -> tuple[str | None, str, str | None] | envelope.RecoveredCall:
    if not isinstance(call, dict):
        return _error_call(f"a tool call was {json_type(call)}, not an object; not run")
    call_id = call.get("id")
    call_id = str(call_id) if isinstance(call_id, (str, int)) and not isinstance(call_id, bool) else None
    fn = call.get("function")
    if not isinstance(fn, dict):
        return _error_call(f"the call's function was {json_type(fn)}, not an object; not run", call_id)
    name, args = fn.get("name"), fn.get("arguments")
    if not isinstance(name, str):
        return _error_call(f"the function name was {json_type(name)}, not a string; not run", call_id)
    if isinstance(args, (dict, list)):
        if too_deep(args, MAX_ARGUMENT_DEPTH):
            return _deep_arguments(call_id, name)
        args = json.dumps(args)
    elif args is not None and not isinstance(args, str):
        return _error_call(f"the arguments were {json_type(args)}, not a JSON object; not run", call_id, name)
    return call_id, name, args


def _error_call(error: str, call_id: str | None = None, name: str = "") -> envelope.RecoveredCall:
    return envelope.RecoveredCall(call_id or "call_" + os.urandom(6).hex(),
                                  envelope.clean_name(name) or envelope.UNNAMED, None, error)


def _deep_arguments(call_id: str | None, name: str) -> envelope.RecoveredCall:
    return _error_call(f"the arguments are nested over {MAX_ARGUMENT_DEPTH} levels deep; not run", call_id, name)


def parse_usage(answer: dict[str, Any], latency: float) -> ev.Usage:
    """Token counts; missing or of the wrong type counts as 0 (no reason to fail a turn)."""
    usage = _dict(answer.get("usage"))
    prompt_details = _dict(usage.get("prompt_tokens_details"))
    completion_details = _dict(usage.get("completion_tokens_details"))
    return ev.Usage(input_tokens=_int(usage.get("prompt_tokens")),
                    cached_input_tokens=_int(prompt_details.get("cached_tokens")),
                    output_tokens=_int(usage.get("completion_tokens")),
                    reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
                    latency_seconds=round(latency, 3))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def message_text(content: Any) -> str | None:
    """`content` as text: a string, or the string texts of a list of parts; None otherwise."""
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else None


def parse_answer(answer: dict[str, Any], latency: float = 0.0) -> Answer:
    """The answer's meaning (client.py checked its outer shape; here every field is read defensively)."""
    choices = answer.get("choices")
    choice = _dict(choices[0]) if isinstance(choices, list) and choices else {}
    message = _dict(choice.get("message"))
    calls, bad_calls = structured_calls(message)
    recovered = envelope.recover(message_text(message.get("content")), reasoning_fields(choice, message),
                                 calls)
    recovered.calls[len(calls):len(calls)] = bad_calls
    for i, call in enumerate(recovered.calls):
        if call.arguments is not None and too_deep(call.arguments, MAX_ARGUMENT_DEPTH):
            recovered.calls[i] = _deep_arguments(call.call_id, call.name)
    history: dict[str, Any] = {"role": "assistant", "content": recovered.text or None}
    if recovered.calls:
        history["tool_calls"] = [
            {"id": c.call_id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments or {}, ensure_ascii=False)}}
            for c in recovered.calls
        ]
    return Answer(recovered.text, recovered.reasoning, recovered.calls, parse_usage(answer, latency),
                  history, recovered.diagnostics + [c.error for c in bad_calls if c.error],
                  recovered.scrubbed)
