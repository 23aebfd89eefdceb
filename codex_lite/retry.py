"""The retry vocabulary: codex-lite retries at two levels, and both are named and tuned here.

    TURN, REQUEST                 the two scopes (ev.Retry.scope, telemetry's by_scope table)
    TurnPolicy(max_attempts=5, wait_seconds=30.0)
        a *fallback turn* (the model ended with reasoning only, or with envelope debris) is sent
        again up to max_attempts times in all, waiting wait_seconds between attempts.
        Config: [retry] max_attempts, wait_seconds. Used by agent.Agent.
        TurnPolicy.from_config(config)
    RequestPolicy(max_retries=4)
        a *transient HTTP failure* (connection refused, timeout, 429, 5xx) is retried up to
        max_retries times after the first attempt, inside the request_total_timeout_seconds budget;
        the wait is the server's Retry-After, else backoff(attempt).
        Config: [model_providers.X] request_max_retries. Used by client.Client.
        RequestPolicy.from_provider(provider)

Why one module: the two policies used to live in agent.py (turn) and in client.py and config.py
(request), and telemetry, stats and the front ends had to know both; reading this file is enough
to know what is retried, how often and how long codex-lite waits. The loops themselves stay where
the work is (Agent.run_turn, Client._request), and tell the world through ev.Retry events.
"""

from __future__ import annotations

from typing import Any

from codex_lite.records import dataclass

TURN = "turn"          # a fallback turn sent again (closed by an ev.RetryOutcome)
REQUEST = "request"    # an HTTP request retried inside one model call
SCOPES = (TURN, REQUEST)

TURN_MAX_ATTEMPTS = 5
TURN_WAIT_SECONDS = 30.0
REQUEST_MAX_RETRIES = 4
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0


@dataclass
class TurnPolicy:
    """How often a fallback turn is tried in all, and the wait between two attempts."""

    max_attempts: int = TURN_MAX_ATTEMPTS
    wait_seconds: float = TURN_WAIT_SECONDS

    @classmethod
    def from_config(cls, config: Any) -> TurnPolicy:
        return cls(config.retry_max_attempts, config.retry_wait_seconds)


@dataclass
class RequestPolicy:
    """How often a transient HTTP failure is retried after the first attempt; waits back off."""

    max_retries: int = REQUEST_MAX_RETRIES

    @classmethod
    def from_provider(cls, provider: Any) -> RequestPolicy:
        return cls(provider.request_max_retries)

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    @staticmethod
    def backoff(attempt: int) -> float:
        """Capped exponential backoff with full jitter in the upper half (no Retry-After given)."""
        import random

        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return ceiling / 2 + random.random() * ceiling / 2
