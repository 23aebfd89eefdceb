"""The model's context window (config, else the LiteLLM proxy's max_input_tokens, else unknown) and
servers saying "too long" (tests/test_context_window.py cites where each message was seen)."""

from __future__ import annotations

from typing import Any

from codex_lite.records import dataclass

AUTO_COMPACT_FRACTION = 0.8  # of the window: room for the answer and the estimate's error
LOOKUP_FLOOR = 4096  # tokens: smaller requests fit any window, the proxy is not asked
SANE_WINDOWS = (1024, 10 ** 9)  # a proxy's answer outside is ignored

# What OpenAI, vLLM, LiteLLM, llama.cpp, Ollama, LM Studio, Anthropic, Bedrock, Gemini say (lower case).
OVERFLOW_MARKERS = (
    "maximum context length", "context_length_exceeded", "exceeds the context window",
    "contextwindowexceedederror", "exceeds the available context size", "exceed_context_size_error",
    "context size has been exceeded", "exceed context window", "greater than the context length",
    "prompt is too long", "input is too long", "input tokens exceed the configured limit",
    "is longer than the model's context length", "exceeds the maximum number of tokens allowed",
    "max_tokens must be at least 1",
)
OVERFLOW_STATUSES = (400, 413, 422, 500)  # 413: a front server's body limit; 500: older llama.cpp


def is_overflow(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in OVERFLOW_MARKERS) or ("n_keep" in low and "n_ctx" in low)


@dataclass
class Window:
    tokens: int | None = None  # None: unknown
    source: str = "unknown"    # shown by /status


_found: dict[tuple[str, str], Window] = {}  # (base_url, model) -> what the proxy said, this session


def find_window(config: Any, client: Any, model: str, lookup: bool = True) -> Window:
    """Config first, then the proxy, asked once per proxy and model and only when `lookup` (the
    agent asks past LOOKUP_FLOOR: a short task costs no round trip, a slow proxy no delay)."""
    if config.model_context_window:
        return Window(config.model_context_window, "model_context_window in config")
    key = (client.provider.base_url, model)
    if key not in _found and not lookup:
        return Window()
    if key not in _found:
        tokens, source = client.max_input_tokens(model)
        _found[key] = Window(tokens, source) if tokens else Window()
    return _found[key]


def compact_limit(window: Window, configured: int | None) -> int | None:
    """model_auto_compact_token_limit, else 80% of the window, else None (only an overflow compacts)."""
    if configured:
        return configured if not window.tokens else min(configured, window.tokens)
    return int(window.tokens * AUTO_COMPACT_FRACTION) if window.tokens else None
