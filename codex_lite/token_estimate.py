"""Token estimates without a tokenizer (too big for a router): bytes/4, the ratio corrected by each
answer's usage.prompt_tokens for what was sent."""

from __future__ import annotations

import json
from typing import Any

BYTES_PER_TOKEN = 4
OVERHEAD = 16  # bytes per message and per call: role, separators, the template's tokens


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def message_bytes(message: dict[str, Any]) -> int:
    content = message.get("content")
    parts = [content] if isinstance(content, str) else [
        p.get("text") or "" for p in content or () if isinstance(p, dict)]
    size = OVERHEAD + sum(_size(p) for p in parts)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        size += OVERHEAD + _size(str(function.get("name"))) + _size(str(function.get("arguments")))
    return size


class TokenEstimator:
    def __init__(self) -> None:
        self.ratio = 1.0
        self._tools: tuple[int, int] = (0, 0)  # (id of the tool specs, their JSON size)

    def request_bytes(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        size = sum(message_bytes(m) for m in messages)
        if tools:
            if self._tools[0] != id(tools):  # one list for the whole session
                self._tools = (id(tools), len(json.dumps(tools)))
            size += self._tools[1]
        return size

    def tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        return int(self.request_bytes(messages, tools) * self.ratio / BYTES_PER_TOKEN) + 1

    def calibrate(self, sent_bytes: int, prompt_tokens: int) -> None:
        if sent_bytes > 0 and prompt_tokens > 0:
            self.ratio = min(4.0, max(0.5, prompt_tokens * BYTES_PER_TOKEN / sent_bytes))
