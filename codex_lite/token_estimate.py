"""How many tokens a request will cost, without a tokenizer.

A tokenizer (tiktoken, the model's own) is megabytes of tables and a compiled extension: too much
for a router, and the model behind a LiteLLM proxy may not even use a known one. Four bytes of
UTF-8 make about one token for English, code and JSON, so that is the first guess; every answer's
`usage.prompt_tokens` (the server's own count of what we sent) then corrects it: the ratio between
the server's count and our byte count for that request scales the next estimates. The estimate only
has to be good enough to compact before a request would pass the window; a server that still says
"too long" triggers the overflow recovery (agent.py).
"""

from __future__ import annotations

import json
from typing import Any

BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD_BYTES = 16  # role, separators and the template's special tokens, per message
RATIO_RANGE = (0.5, 4.0)      # how far calibration may move the guess (a wrong `usage` cannot zero it)


def message_bytes(message: dict[str, Any]) -> int:
    """The bytes of one message that the model reads: its text, its calls' names and arguments."""
    size = MESSAGE_OVERHEAD_BYTES
    content = message.get("content")
    if isinstance(content, str):
        size += _utf8_len(content)
    elif isinstance(content, list):  # content parts
        size += sum(_utf8_len(p.get("text") or "") if isinstance(p, dict) else 0 for p in content)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {} if isinstance(call, dict) else {}
        size += MESSAGE_OVERHEAD_BYTES + _utf8_len(str(function.get("name") or ""))
        size += _utf8_len(str(function.get("arguments") or ""))
    return size


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


class TokenEstimator:
    """Token estimates for one model, calibrated by the server's counts (see the module doc)."""

    def __init__(self) -> None:
        self.ratio = 1.0
        self._tools_id: int | None = None
        self._tools_bytes = 0

    def request_bytes(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        return sum(message_bytes(m) for m in messages) + self._tool_bytes(tools)

    def tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        """The estimated prompt tokens of a request with these messages and tools."""
        return self.of_bytes(self.request_bytes(messages, tools))

    def of_bytes(self, size: int) -> int:
        return int(size * self.ratio / BYTES_PER_TOKEN) + 1

    def calibrate(self, sent_bytes: int, prompt_tokens: int) -> None:
        """The server counted `prompt_tokens` for a request of `sent_bytes` (request_bytes): later
        estimates follow its tokenizer. Nonsense counts (0, absurd ratios) are clamped, not trusted."""
        if sent_bytes <= 0 or prompt_tokens <= 0:
            return
        low, high = RATIO_RANGE
        self.ratio = min(high, max(low, prompt_tokens * BYTES_PER_TOKEN / sent_bytes))

    def _tool_bytes(self, tools: list[dict[str, Any]] | None) -> int:
        if not tools:
            return 0
        if id(tools) != self._tools_id:  # the tool specs are one list for the whole session
            self._tools_id, self._tools_bytes = id(tools), len(json.dumps(tools))
        return self._tools_bytes
