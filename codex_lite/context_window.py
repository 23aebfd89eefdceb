"""The model's context window: how big it is, where that came from, and a server saying "too long".

    Window(tokens, source)              tokens None when unknown; source is shown by /status
    find_window(config, client, model, lookup=True)
                                        config's model_context_window, else the proxy's
                                        max_input_tokens (asked once per proxy and model, and only
                                        when `lookup`), else unknown
    compact_limit(window, configured)   the token count past which a request compacts first
    is_overflow(text)                   does this error message say the context is too long?

Knowing the window lets the agent compact before a request fails; recognising the failure lets it
recover when the estimate was wrong or the window unknown. tests/test_context_window.py cites where
each server's message was seen.
"""

from __future__ import annotations

from typing import Any

from codex_lite.records import dataclass

AUTO_COMPACT_FRACTION = 0.8  # of the window: room for the answer and for the estimate's error
LOOKUP_FLOOR = 4096  # tokens: smaller requests fit any window worth using, so the proxy is not asked
SANE_WINDOWS = (1024, 10 ** 9)  # a proxy's answer outside these is ignored (it would compact every request)

# Lower-cased pieces of the messages servers answer when the prompt does not fit the context (OpenAI,
# vLLM, LiteLLM, llama.cpp, Ollama, LM Studio, llama-cpp-python, Anthropic, Bedrock, Gemini, old vLLM).
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
    tokens: int | None = None
    source: str = "unknown"

    def describe(self) -> str:
        return f"{self.tokens:,} tokens ({self.source})" if self.tokens else "unknown"


_found: dict[tuple[str, str], Window] = {}  # (base_url, model) -> what the proxy said, this session


def find_window(config: Any, client: Any, model: str, lookup: bool = True) -> Window:
    """The window of `model`: config first, then the proxy's answer. The agent asks the proxy only
    once a request nears a size where the window matters (LOOKUP_FLOOR), so a short task costs no
    extra round trip, and a proxy that answers slowly or oddly cannot delay it."""
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
    """model_auto_compact_token_limit when set, else 80% of a known window, else None (no
    compaction before a request; an overflow still compacts)."""
    if configured:
        return configured if not window.tokens else min(configured, window.tokens)
    return int(window.tokens * AUTO_COMPACT_FRACTION) if window.tokens else None
