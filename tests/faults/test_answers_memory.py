"""Memory stays bounded on hostile answers: the body is read with a cap that applies after
decompression (gzip and deflate bombs included), and structured tool calls per answer are capped
like leaked ones, so neither the next request nor the session file grows with the answer.
(Peak RSS figures for these cases are in bench/faults_bench.py.)"""

from __future__ import annotations

import json

import pytest
from request_faults import bad_server_fixture, bare_python_peak_mb, fault_cli_fixture, one_error_line  # noqa: F401

# Generous: an exec turn peaks near bare python + 16 MiB; a 16 MiB body at most doubles that.
HEADROOM_MB = 64


@pytest.fixture(scope="module")
def bare_mb(tmp_path_factory):
    return bare_python_peak_mb(tmp_path_factory.mktemp("bare"))


@pytest.mark.parametrize("behaviour", ["gzip_bomb", "deflate_bomb", "big=50"])
def test_an_oversized_body_is_one_line_and_memory_stays_flat(bad_server, fault_cli, bare_mb, behaviour):
    url = bad_server.url(behaviour)
    run = fault_cli("exec", "-m", "bad", "hi", base_url=url, timeout=180)
    one_error_line(run, "16 MiB", "max_response_bytes")
    assert bad_server.hits(url) == 1  # too big is final: retrying would only fetch it again
    assert run.peak_mb is not None and run.peak_mb < bare_mb + HEADROOM_MB, run.describe()


def test_the_body_cap_is_configurable(bad_server, fault_cli):
    config = "[model_providers.litellm]\nmax_response_bytes = 4096\n"
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url("big=0.01"), config=config)
    one_error_line(run, "4 KiB", "max_response_bytes")


def test_100000_structured_calls_run_64_and_tell_the_model_about_the_rest(bad_server, fault_cli, bare_mb):
    url = bad_server.url("calls=100000")
    run = fault_cli("exec", "--json", "-m", "bad", "hi", base_url=url, timeout=180)
    assert run.returncode == 0, run.describe()
    assert run.stderr == "", run.describe()
    events = [json.loads(line) for line in run.stdout.splitlines()]
    errors = [e["item"]["message"] for e in events
              if e.get("type") == "item.completed" and e["item"]["type"] == "error"]
    assert len(errors) == 1 and "99936 more tool calls" in errors[0], errors
    # the next request carries 64 calls and 65 results, not 100,000 of each
    assert bad_server.hits(url) == 2
    assert bad_server.last_request_bytes(url) < 200_000
    sessions = list((fault_cli.home / "sessions").rglob("*.jsonl"))
    assert len(sessions) == 1 and sessions[0].stat().st_size < 500_000
    # parsing 11 MB of small JSON objects costs about 70 MB whatever is kept (263 MB before the cap)
    assert run.peak_mb is not None and run.peak_mb < bare_mb + 128, run.describe()
