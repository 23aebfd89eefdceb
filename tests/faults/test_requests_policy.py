"""Only transient failures are retried (refused or reset connections, timeouts, 429, 5xx); a
malformed URL, an unknown scheme and any other 4xx fail at once with one line; the model list
follows the same policy; the base URL is checked when the config is loaded."""

from __future__ import annotations

import socket

import pytest
from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line, retry_lines_are_sane  # noqa: F401

TWO_RETRIES = "[model_providers.litellm]\nrequest_max_retries = 2\n"


@pytest.mark.parametrize("status", [400, 404, 405, 413, 422])
def test_a_4xx_fails_at_once_with_the_server_message(bad_server, fault_cli, status):
    url = bad_server.url(f"status={status}")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=TWO_RETRIES)
    one_error_line(run, f"answered {status}", f"the bad server says {status}")
    assert bad_server.hits(url) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_429_and_5xx_are_retried(bad_server, fault_cli, status):
    url = bad_server.url(f"status={status}")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=TWO_RETRIES)
    assert run.returncode == 1, run.describe()
    assert bad_server.hits(url) == 3
    assert run.err_lines[-1].startswith("error:") and "3 attempts" in run.err_lines[-1]
    assert len(run.err_lines) == 3 and "Traceback" not in run.stderr, run.describe()
    retry_lines_are_sane(run)


def test_a_connection_reset_mid_body_is_retried(bad_server, fault_cli):
    url = bad_server.url("reset")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=TWO_RETRIES)
    assert run.returncode == 1, run.describe()
    assert bad_server.hits(url) == 3
    assert len(run.err_lines) == 3 and "Traceback" not in run.stderr, run.describe()
    retry_lines_are_sane(run)


def test_a_refused_connection_is_retried_when_a_url_is_configured(fault_cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = fault_cli("exec", "-m", "bad", "hi", base_url=f"http://127.0.0.1:{port}", config=TWO_RETRIES)
    assert run.returncode == 1, run.describe()
    assert len(run.err_lines) == 3, run.describe()
    assert f"127.0.0.1:{port}" in run.err_lines[-1] and "refused" in run.err_lines[-1]
    retry_lines_are_sane(run)


@pytest.mark.parametrize("url, needle", [
    ("http://[::1", "LITELLM_BASE_URL"),
    ("ftp://example.invalid", "http"),
    ("http://", "host"),
    ("http://127.0.0.1:99999", "port"),
    ("127.0.0.1:4000", "http"),
])
def test_a_malformed_base_url_fails_when_the_config_is_loaded(fault_cli, url, needle):
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url)
    one_error_line(run, needle)
    assert run.wall < 10, run.describe()


def test_a_malformed_base_url_in_config_toml_names_the_key(fault_cli):
    config = '[model_providers.litellm]\nbase_url = "http://[::1"\n'
    run = fault_cli("exec", "-m", "bad", "hi", config=config)
    one_error_line(run, "model_providers.litellm.base_url", "config.toml")


def test_the_model_list_is_retried_like_a_chat_request(bad_server, fault_cli):
    url = bad_server.url("status=503")
    run = fault_cli("exec", "hi", base_url=url, config=TWO_RETRIES)  # no -m: the model list is asked
    assert run.returncode == 1, run.describe()
    assert bad_server.hits(url) == 3  # not once per endpoint: a 503 means the server is in trouble
    assert "503" in run.err_lines[-1] and "3 attempts" in run.err_lines[-1], run.describe()
    retry_lines_are_sane(run)


def test_the_model_list_falls_back_across_endpoints_on_404_only(bad_server, fault_cli):
    url = bad_server.url("status=404")
    run = fault_cli("exec", "hi", base_url=url, config=TWO_RETRIES)
    one_error_line(run, "404")
    assert bad_server.hits(url) == 3  # /model_group/info, /model/info, /v1/models: once each


def test_the_model_list_stops_at_a_401(bad_server, fault_cli):
    url = bad_server.url("status=401")
    run = fault_cli("exec", "hi", base_url=url, config=TWO_RETRIES)
    one_error_line(run, "401", "API key")
    assert bad_server.hits(url) == 1
