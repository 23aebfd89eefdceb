"""Red team, secrets: LiteLLM's well-known example master key `sk-1234` is 7 characters, and
values under 8 were not treated as secrets (telemetry used 6): a proxy running with it had its key
shown to the model, written to the session file and printed. Both now use 6, and headers that are
public by nature (`X-Title`, `HTTP-Referer`) are left out, so their values never garble output.

Not covered, on purpose (README, Secrets): a model that reads the key and writes it transformed
(`od -c`, `rev`, base64, two halves in two commands) is not stopped by redaction of exact values.
"""

from __future__ import annotations

import pytest
from boundary_support import EXEC_JSON, hostile_provider, leaks, requests_text, session_text, tool_messages
from scripted_server import completion

pytestmark = pytest.mark.e2e

EXAMPLE_KEY = "sk-1234"


def test_litellm_example_master_key_is_redacted(model, run_cli, git_repo, codex_home):
    hostile_provider(codex_home, model, EXAMPLE_KEY)
    (git_repo / ".env").write_text(f"LITELLM_MASTER_KEY={EXAMPLE_KEY}\nOTHER=1\n")
    model.set_script([completion(tool_calls=[("shell", {"command": ["cat", ".env"]})]),
                      completion(f"the key is {EXAMPLE_KEY}")])

    r = run_cli(*EXEC_JSON, "what is in .env?")

    assert r.returncode == 0, r.describe()
    assert "LITELLM_MASTER_KEY=[redacted]" in tool_messages(model)[0]
    assert model.requests()[0]["headers"]["authorization"] == f"Bearer {EXAMPLE_KEY}"  # sent, as it must be
    later = [r for r in model.requests()][1:]
    assert not leaks(EXAMPLE_KEY, later_requests=str([q.get("body") for q in later]),
                     session=session_text(codex_home), json=r.stdout, stderr=r.stderr)


def test_public_header_values_are_not_redacted(model, run_cli, codex_home):
    hostile_provider(codex_home, model, "sk-hostile-0123456789", {"X-Title": "router-lab",
                                                                   "X-Api-Key": "hdr-0123456789"})
    model.set_script([completion("router-lab is fine; hdr-0123456789 is not")])

    r = run_cli(*EXEC_JSON, "hello")

    assert r.returncode == 0, r.describe()
    assert "router-lab is fine; [redacted] is not" in r.stdout, r.describe()
    assert "hdr-0123456789" not in requests_text(model) + session_text(codex_home) + r.stdout
