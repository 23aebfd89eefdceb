"""Config values are validated when the config is loaded (finite, in range; header values without
CR/LF and encodable): one line naming the key, exit 1, before any request. ([shell] values are
covered with the command faults.)"""

from __future__ import annotations

import pytest
from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line  # noqa: F401

BAD_OVERRIDES = [
    ("retry.wait_seconds=inf", "retry.wait_seconds"),
    ("retry.wait_seconds=nan", "retry.wait_seconds"),
    ("retry.wait_seconds=-1", "retry.wait_seconds"),
    ("retry.max_attempts=0", "retry.max_attempts"),
    ("agent.max_tool_rounds=0", "agent.max_tool_rounds"),
    ("model_context_window=-5", "model_context_window"),
    ("project_doc_max_bytes=-1", "project_doc_max_bytes"),
    ("model_providers.litellm.request_timeout_seconds=nan", "request_timeout_seconds"),
    ("model_providers.litellm.request_timeout_seconds=-1", "request_timeout_seconds"),
    ("model_providers.litellm.request_timeout_seconds=0", "request_timeout_seconds"),
    ("model_providers.litellm.request_timeout_seconds=inf", "request_timeout_seconds"),
    ("model_providers.litellm.request_total_timeout_seconds=-1", "request_total_timeout_seconds"),
    ("model_providers.litellm.connect_timeout_seconds=-1", "connect_timeout_seconds"),
    ("model_providers.litellm.request_max_retries=-1", "request_max_retries"),
    ("model_providers.litellm.request_max_retries=100000", "request_max_retries"),
    ("model_providers.litellm.max_response_bytes=0", "max_response_bytes"),
    ("telemetry.max_total_bytes=-1", "telemetry.max_total_bytes"),
    ("telemetry.ring_buffer_bytes=-1", "telemetry.ring_buffer_bytes"),
]


@pytest.mark.parametrize("override, key", BAD_OVERRIDES)
def test_an_out_of_range_value_is_one_line_naming_the_key(bad_server, fault_cli, override, key):
    url = bad_server.url("ok")
    run = fault_cli("exec", "-m", "bad", "-c", override, "hi", base_url=url)
    one_error_line(run, key, "config error")
    assert bad_server.hits(url) == 0


@pytest.mark.parametrize("value", ['"a\\nInjected: 1"', '"a\\rb"', '"日本"', '"\\u0000"'])
def test_a_header_value_that_cannot_be_sent_is_one_line(bad_server, fault_cli, value):
    url = bad_server.url("ok")
    config = f"[model_providers.litellm.http_headers]\nX-Team = {value}\n"
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=config)
    one_error_line(run, "model_providers.litellm.http_headers.X-Team", "config.toml")
    assert bad_server.hits(url) == 0


@pytest.mark.parametrize("name", ['"Bad Name"', '"X:Y"', '""', '"X\\nY"'])
def test_a_header_name_that_cannot_be_sent_is_one_line(bad_server, fault_cli, name):
    config = f"[model_providers.litellm.http_headers]\n{name} = \"v\"\n"
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url("ok"), config=config)
    one_error_line(run, "http_headers", "config.toml")


@pytest.mark.parametrize("key", ["sk-line\nbreak", "sk-\u65e5\u672c"])
def test_an_api_key_that_cannot_be_sent_is_one_line_without_the_key(bad_server, fault_cli, key):
    url = bad_server.url("ok")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, env={"LITELLM_API_KEY": key})
    line = one_error_line(run, "LITELLM_API_KEY")
    assert key.split("\n")[0] not in line and "\u65e5" not in line
    assert bad_server.hits(url) == 0


def test_good_values_still_work(bad_server, fault_cli):
    config = """
[retry]
wait_seconds = 0
[model_providers.litellm]
request_timeout_seconds = 30
request_total_timeout_seconds = 60
request_max_retries = 0
max_response_bytes = 65536
http_headers = { "X-Team" = "caf\u00e9" }
"""
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url("ok"), config=config)
    assert run.returncode == 0 and run.stdout.strip() == "ok" and run.stderr == "", run.describe()
