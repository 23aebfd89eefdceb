"""The Redactor: exact secret values become [redacted] in text, nested values and events; a cut is
moved rather than split a secret; a command's bounded output is redacted before it is cut.
The attacks through the CLI are in tests/security/test_secrets_*.py."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from codex_lite import events as ev
from codex_lite.config import Provider
from codex_lite.security.redact import REDACTED, Redactor
from codex_lite.tools.shell import BoundedOutput, ShellSettings, run_command

KEY = "sk-live-0123456789abcdef"


def test_the_provider_key_and_header_values_are_the_secrets():
    provider = Provider(id="p", base_url="http://x", api_key=KEY,
                        http_headers={"X-Token": "hdr-0123456789", "X-Device": "wrt54", "X-Tag": "sk-1234",
                                      "X-Title": "codex-lite", "HTTP-Referer": "https://example.org"})
    redactor = Redactor.for_provider(provider)
    # "wrt54" is too short to be a secret (LiteLLM's example key sk-1234 is not); X-Title and
    # HTTP-Referer are public by nature
    assert redactor.raw == {KEY, "hdr-0123456789", "sk-1234"}
    assert redactor.text(f"a {KEY} b hdr-0123456789 wrt54 sk-1234 codex-lite") == \
        f"a {REDACTED} b {REDACTED} wrt54 {REDACTED} codex-lite"
    assert not Redactor.for_provider(Provider(id="p", base_url="http://x"))


def test_json_escaped_forms_are_redacted_too():
    secret = 'pa"ss\\wörd-123'
    redactor = Redactor([secret])
    for text in (json.dumps(secret), json.dumps(secret, ensure_ascii=False), secret):
        assert secret not in redactor.text(text) and REDACTED in redactor.text(text)


def test_values_and_events_are_copied_only_when_they_change():
    redactor = Redactor([KEY])
    clean = {"a": ["x", {"b": "y"}], "n": 1}
    assert redactor.value(clean) is clean
    dirty = {"a": ["x", {"b": f"key={KEY}"}], "n": 1}
    assert redactor.value(dirty) == {"a": ["x", {"b": f"key={REDACTED}"}], "n": 1}
    assert dirty["a"][1]["b"] == f"key={KEY}"  # the original is untouched
    event = ev.ToolResult(call_id="c", name="shell", output=f"out {KEY}", metadata={"aggregated_output": KEY})
    scrubbed = redactor.event(event)
    assert scrubbed.output == f"out {REDACTED}" and scrubbed.metadata["aggregated_output"] == REDACTED
    assert event.output == f"out {KEY}"
    plain = ev.AgentMessage(text="nothing secret")
    assert redactor.event(plain) is plain


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_safe_cut_never_splits_a_secret(before, at):
    redactor = Redactor([KEY])
    data = b"x" * before + KEY.encode() + b"y" * 20
    cut = redactor.safe_cut(data, at)
    assert cut >= min(at, len(data))
    assert not before < cut < before + len(KEY)  # the key is wholly on one side


@given(st.integers(min_value=0, max_value=3000), st.sampled_from([64, 100, 2048]))
def test_bounded_output_redacts_before_it_cuts(position, limit):
    redactor = Redactor([KEY])
    out = BoundedOutput(limit, redactor.longest_bytes)
    stream = b"a" * position + KEY.encode() + b"b" * 3000
    for i in range(0, len(stream), 777):
        out.add(stream[i:i + 777])
    text = out.text(redactor)
    assert KEY[:8] not in text and KEY[-8:] not in text


def test_run_command_redacts_and_uses_the_settings_environment(tmp_path):
    settings = ShellSettings(env={"ONLY": KEY}, redactor=Redactor([KEY]))
    result = run_command(["sh", "-c", 'echo "$ONLY"; echo "${HOME:-no home}"'], str(tmp_path), settings)
    assert result.output == f"{REDACTED}\nno home\n"
