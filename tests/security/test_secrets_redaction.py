"""Secrets stay home, part 2: the exact values of the configured API key and of `http_headers` are
written as `[redacted]` in everything codex-lite writes or sends: tool output before it goes to the
model, the session file, JSON output, stderr, stdout and telemetry. Secrets are replaced before any
text is cut, so a key that straddles a cut cannot leak its first or last part.

Finding 6 of the trust-boundary issue: a key read from a file went to the model, the session file and
`exec --json`; `http_headers` values echoed by a server were printed and recorded as they were; a key
at the 300-character cut of an error message leaked its first part.
"""

from __future__ import annotations

import pytest
from boundary_support import (
    EXEC,
    EXEC_JSON,
    hostile_provider,
    leaks,
    requests_text,
    session_text,
    telemetry_text,
    tool_messages,
    write_config,
)
from scripted_server import completion, error

pytestmark = pytest.mark.e2e

API_KEY = "sk-hostile-0123456789abcdefXYZ"
HEADER_SECRET = "hdr-secret-9f8e7d6c5b4a3210"


@pytest.mark.parametrize("mode", ["json", "human"])
def test_a_key_read_from_a_file_is_redacted_before_it_reaches_the_model(mode, model, run_cli, git_repo,
                                                                         proxy_key, codex_home):
    (git_repo / ".env").write_text(f"LITELLM_API_KEY={proxy_key}\nOTHER=1\n")
    model.set_script([completion(tool_calls=[("shell", {"command": ["cat", ".env"]})]),
                      completion(f"I found the key {proxy_key}")])  # and a model that repeats it

    r = run_cli(*(EXEC_JSON if mode == "json" else EXEC), "what is in .env?")

    assert r.returncode == 0, r.describe()
    assert "LITELLM_API_KEY=[redacted]" in tool_messages(model)[0]
    assert "OTHER=1" in tool_messages(model)[0]  # nothing else is touched
    assert "[redacted]" in r.stdout
    assert not leaks(proxy_key, request=requests_text(model), session=session_text(codex_home),
                     stdout=r.stdout, stderr=r.stderr)


@pytest.mark.parametrize("where", ["head", "tail"])
def test_a_key_across_the_output_cut_does_not_leak_a_part(where, model, run_cli, git_repo, proxy_key,
                                                          codex_home):
    """Command output is kept as a bounded head and tail: a key across either cut is redacted whole."""
    # max_output_bytes=2048 keeps 1024 bytes of head and of tail; the key straddles one of the cuts
    body = ("A" * 1010 + proxy_key + "B" * 5000) if where == "head" else ("A" * 5000 + proxy_key + "B" * 1010)
    (git_repo / "big.txt").write_text(body)
    model.set_script([completion(tool_calls=[("shell", {"command": ["cat", "big.txt"]})]), completion("ok")])

    r = run_cli(*EXEC_JSON, "-c", "shell.max_output_bytes=2048", "read big.txt")

    assert r.returncode == 0, r.describe()
    assert "omitted" in tool_messages(model)[0]  # the output really was cut
    assert not leaks(proxy_key, request=requests_text(model), session=session_text(codex_home),
                     json=r.stdout, stderr=r.stderr)


def test_a_key_across_the_telemetry_cut_does_not_leak_a_part(model, run_cli, git_repo, proxy_key, codex_home):
    """With log_prompts, telemetry keeps 4 KiB of each text: a key across that cut is redacted whole."""
    write_config(codex_home, "[telemetry]\nlog_prompts = true\n")
    (git_repo / "wide.txt").write_text("C" * 4080 + proxy_key + "D" * 3000)
    model.set_script([completion(tool_calls=[("shell", {"command": ["cat", "wide.txt"]})]), completion("ok")])

    r = run_cli(*EXEC_JSON, "--telemetry", "read wide.txt")

    assert r.returncode == 0, r.describe()
    logs = telemetry_text(codex_home)
    assert "CCCC" in logs  # the text itself was logged
    assert not leaks(proxy_key, telemetry=logs, session=session_text(codex_home), json=r.stdout)


# ---- a hostile server that echoes our secrets back -----------------------------------------------


@pytest.mark.parametrize("mode", ["json", "human"])
@pytest.mark.parametrize("status", [400, 401, 500])
def test_secrets_echoed_in_a_server_error_are_redacted(mode, status, model, run_cli, codex_home):
    hostile_provider(codex_home, model, API_KEY, {"X-Team-Token": HEADER_SECRET})
    model.set_script([error(status, f"bad request with headers X-Team-Token: {HEADER_SECRET}, "
                                    f"Authorization: Bearer {API_KEY}")])

    r = run_cli(*(EXEC_JSON if mode == "json" else EXEC), "hello")

    assert r.returncode == 1
    assert "[redacted]" in r.output, r.describe()
    assert model.requests()[0]["headers"]["x-team-token"] == HEADER_SECRET  # it was sent, as configured
    for secret in (API_KEY, HEADER_SECRET):
        assert not leaks(secret, stdout=r.stdout, stderr=r.stderr, session=session_text(codex_home),
                         telemetry=telemetry_text(codex_home))


@pytest.mark.parametrize("status", [400, 503])
def test_a_key_at_the_300_character_cut_of_an_error_does_not_leak_its_first_part(status, model, run_cli,
                                                                                  codex_home):
    hostile_provider(codex_home, model, API_KEY)
    model.set_script([error(status, "E" * 280 + " " + API_KEY + " and more text after the key")])

    r = run_cli(*EXEC_JSON, "hello")

    assert r.returncode == 1
    assert not leaks(API_KEY, json=r.stdout, stderr=r.stderr, session=session_text(codex_home)), r.describe()


def test_secrets_in_the_model_answer_are_redacted_everywhere(model, run_cli, codex_home):
    hostile_provider(codex_home, model, API_KEY, {"X-Team-Token": HEADER_SECRET})
    model.set_script([
        completion(f"thinking about {API_KEY}", reasoning_content=f"the header is {HEADER_SECRET}",
                   tool_calls=[("shell", {"command": ["echo", HEADER_SECRET]})]),
        completion(f"the key is {API_KEY} and the header {HEADER_SECRET}"),
    ])

    r = run_cli(*EXEC, "-o", str(codex_home / "last.txt"), "leak it")

    assert r.returncode == 0, r.describe()
    last = (codex_home / "last.txt").read_text()
    assert "[redacted]" in last and "[redacted]" in r.stdout
    later = requests_text(model)
    for secret in (API_KEY, HEADER_SECRET):
        assert not leaks(secret, stdout=r.stdout, stderr=r.stderr, last_message=last,
                         session=session_text(codex_home), request_bodies=later)
