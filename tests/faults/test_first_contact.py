"""First contact, tried as a new user would: with nothing configured the error says what to do and
which default URL it tried, in one line; `exec --json` that fails before a session exists still
emits thread.started/turn.started before turn.failed; `exec --help` mentions `exec resume`; the
first-run REPL at end of input says why it exits; README states the default URL and exit code 2."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
DEFAULT_URL = "http://127.0.0.1:4000"


@pytest.fixture
def nothing_at_the_default_url():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 4000)) == 0:
            pytest.fail("something listens on 127.0.0.1:4000, the default URL this test needs dead")


@pytest.mark.parametrize("args", [["exec", "hi"], ["exec", "-m", "gpt-oss-20b", "hi"]])
def test_nothing_configured_says_what_to_do(fault_cli, nothing_at_the_default_url, args):
    run = fault_cli(*args)
    line = one_error_line(run, DEFAULT_URL, "LITELLM_BASE_URL", "codex-lite", "config.toml")
    assert "attempts" not in line and "gave up" not in line
    assert run.wall < 10, run.describe()


def test_exec_json_that_fails_before_a_session_exists_still_starts_a_thread(bad_server, fault_cli):
    run = fault_cli("exec", "--json", "hi", base_url=bad_server.url("status=401"))
    assert run.returncode == 1 and run.stderr == "", run.describe()
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["type"] for e in events] == ["thread.started", "turn.started", "item.completed",
                                          "turn.failed"], events
    assert isinstance(events[0]["thread_id"], str) and events[0]["thread_id"]
    assert "401" in events[-1]["error"]["message"]


def test_exec_json_with_a_config_error_still_starts_a_thread(fault_cli):
    run = fault_cli("exec", "--json", "-c", "retry.wait_seconds=-1", "hi", base_url="http://127.0.0.1:9")
    one_error_line(run, "retry.wait_seconds")  # a user's mistake is also said on stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["type"] for e in events] == ["thread.started", "turn.started", "item.completed",
                                          "turn.failed"], events
    assert "retry.wait_seconds" in events[-1]["error"]["message"]


def test_exec_help_mentions_exec_resume(fault_cli):
    run = fault_cli("exec", "--help")
    assert run.returncode == 0
    assert "exec resume --last" in run.stdout and "exec resume ID" in " ".join(run.stdout.split())


def test_a_usage_error_exits_2(fault_cli):
    run = fault_cli("exec", "--no-such-flag", "hi")
    assert run.returncode == 2 and "--no-such-flag" in run.stderr, run.describe()


@pytest.mark.parametrize("typed", ["", "http://127.0.0.1:9\n"])
def test_the_first_run_questions_at_end_of_input_say_why_they_stop(fault_cli, typed):
    run = fault_cli(input=typed)
    assert run.returncode == 1, run.describe()
    last = [line for line in run.output_lines() if line.strip()][-1]
    assert "end of input" in last and "nothing was saved" in last, run.describe()
    assert "LITELLM_BASE_URL" in last and len(last) <= 80, last
    assert not (fault_cli.home / "config.toml").exists()


def test_readme_states_the_default_url_and_exit_code_2():
    readme = (REPO / "README.md").read_text()
    assert DEFAULT_URL in readme
    codes = re.search(r"Exit codes:(.{0,800})", readme, re.DOTALL)
    assert codes and "`2`" in codes.group(1), "README's exit codes do not mention 2"
