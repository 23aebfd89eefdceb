"""One chat-completion answer -> typed events and the assistant message for the history.

Every text field (content and every place servers put reasoning) goes through envelope recovery
first, so a call that leaked as harmony text is an ordinary tool call from here on, and no raw token,
recipient or glued channel word (envelope.find_leak) reaches a screen, a log or the next request:
recovery's last step enforces that rule on the text and reasoning it returns.
"""

from __future__ import annotations

import json
from typing import Any

from codex_lite import envelope
from codex_lite import events as ev
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


def structured_calls(message: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        if not isinstance(call, dict):
            continue
        fn = call.get("function") or {}
        args = fn.get("arguments")
        if not isinstance(args, str) and args is not None:
            args = json.dumps(args)
        calls.append((str(call.get("id") or f"call_{i}"), str(fn.get("name") or ""), args))
    return calls


def parse_usage(answer: dict[str, Any], latency: float) -> ev.Usage:
    usage = answer.get("usage") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return ev.Usage(input_tokens=_int(usage.get("prompt_tokens")),
                    cached_input_tokens=_int(prompt_details.get("cached_tokens")),
                    output_tokens=_int(usage.get("completion_tokens")),
                    reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
                    latency_seconds=round(latency, 3))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_answer(answer: dict[str, Any], latency: float = 0.0) -> Answer:
    choice = answer["choices"][0] if isinstance(answer["choices"][0], dict) else {}
    message = choice.get("message") or {}
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    recovered = envelope.recover(content if isinstance(content, str) else None,
                                 reasoning_fields(choice, message), structured_calls(message))
    history: dict[str, Any] = {"role": "assistant", "content": recovered.text or None}
    if recovered.calls:
        history["tool_calls"] = [
            {"id": c.call_id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments or {}, ensure_ascii=False)}}
            for c in recovered.calls
        ]
    return Answer(recovered.text, recovered.reasoning, recovered.calls, parse_usage(answer, latency),
                  history, recovered.diagnostics, recovered.scrubbed)
