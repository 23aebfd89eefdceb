"""The same faults through the real LiteLLM proxy, where it is meaningful: the upstream (the scripted
server) misbehaves and the proxy passes it on in its own way (it renames Retry-After, wraps broken
bodies in a 500), and codex-lite must still fail in bounded time with one line."""

from __future__ import annotations

import time

import pytest
from scripted_server import completion, delayed, raw

pytestmark = pytest.mark.e2e

NO_RETRIES = ("-c", "model_providers.litellm.request_max_retries=0")


def _one_line(r, *needles: str) -> str:
    assert r.returncode == 1 and not r.timed_out, r.describe()
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.describe()
    for needle in needles:
        assert needle.lower() in lines[0].lower(), r.describe()
    return lines[0]


def test_a_retry_after_beyond_the_budget_through_litellm_fails_at_once(model, run_cli):
    """LiteLLM renames Retry-After to llm_provider-retry-after; it is honoured, and beyond the
    budget it ends the request at once instead of waiting."""
    model.set_script([raw(429, {"error": {"message": "slow down"}}, {"Retry-After": "999999"})] * 3)
    started = time.monotonic()
    r = run_cli("exec", "-m", "scripted", "hi")
    _one_line(r, "429", "budget")
    assert time.monotonic() - started < 30 and len(model.chat_requests()) == 1


def test_a_silent_upstream_behind_litellm_times_out(model, run_cli):
    model.set_script([delayed(60, completion("too late"))])
    started = time.monotonic()
    r = run_cli("exec", "-m", "scripted", *NO_RETRIES,
                "-c", "model_providers.litellm.request_timeout_seconds=3", "hi")
    _one_line(r, "timed out after 3s")
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("body, status", [
    ("[" * 200_000 + "]" * 200_000, 500),
    ({"choices": [{"index": 0, "message": "hello", "finish_reason": "stop"}]}, 400),
    ({"choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": 5},
                   "finish_reason": "stop"}]}, 500),
], ids=["deep", "message_string", "tool_calls_number"])
def test_a_broken_upstream_body_through_litellm_is_one_line(model, run_cli, body, status):
    """LiteLLM 1.106.2 refuses these itself (its own traceback inside a 400 message is left out)."""
    model.set_script([raw(200, body)])
    r = run_cli("exec", "-m", "scripted", *NO_RETRIES, "hi")
    line = _one_line(r, f"answered {status}", "litellm")
    assert len(line) < 420, line
