"""A model request has one deadline for the whole of it (connect, headers, body) and a total budget
over its retries: a server that drips, stalls or throttles forever fails in bounded time, with one
line. (How long a silent server takes with the defaults is measured in bench/faults_bench.py.)"""

from __future__ import annotations

import pytest
from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line, retry_lines_are_sane  # noqa: F401

FAST = """
[model_providers.litellm]
request_timeout_seconds = 3
request_max_retries = 0
"""


@pytest.mark.parametrize("behaviour", ["drip", "slow_headers", "silent"])
def test_a_stalling_server_times_out_within_request_timeout(bad_server, fault_cli, behaviour):
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url(behaviour), config=FAST)
    line = one_error_line(run, "timed out", "3s")
    assert behaviour in line  # the URL is named
    assert run.wall < 20, run.describe()


def test_the_total_budget_stops_retries_of_a_silent_server(bad_server, fault_cli):
    config = """
[model_providers.litellm]
request_timeout_seconds = 2
request_total_timeout_seconds = 5
request_max_retries = 50
"""
    url = bad_server.url("silent")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=config)
    assert run.returncode == 1, run.describe()
    assert run.wall < 20, run.describe()
    assert bad_server.hits(url) <= 4
    last = run.err_lines[-1]
    assert last.startswith("error:") and "timed out" in last and "5s" in last, run.describe()
    assert "Traceback" not in run.stderr
    retry_lines_are_sane(run)


@pytest.mark.parametrize("value", ["999999", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_retry_after_beyond_the_budget_fails_at_once(bad_server, fault_cli, value):
    url = bad_server.url(f"retry_after={value}")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url)
    line = one_error_line(run, "429", "retry")
    assert "budget" in line or "request_total_timeout_seconds" in line
    assert bad_server.hits(url) == 1
    assert run.wall < 20, run.describe()


@pytest.mark.parametrize("value", ["nan", "-1", "soon"])
def test_a_meaningless_retry_after_falls_back_to_backoff(bad_server, fault_cli, value):
    url = bad_server.url(f"retry_after={value}")
    config = "[model_providers.litellm]\nrequest_max_retries = 1\n"
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, config=config)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.describe()
    assert bad_server.hits(url) == 2
    assert run.err_lines[-1].startswith("error:") and "429" in run.err_lines[-1], run.describe()
    assert run.wall < 20, run.describe()
    retry_lines_are_sane(run)


def test_an_endless_short_retry_after_ends_with_the_retries(bad_server, fault_cli):
    url = bad_server.url("retry_after=1")
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url)
    assert run.returncode == 1, run.describe()
    assert bad_server.hits(url) == 5  # the default: 4 retries
    assert run.err_lines[-1].startswith("error:") and "5 attempts" in run.err_lines[-1]
    assert run.wall < 30, run.describe()
    retry_lines_are_sane(run)
