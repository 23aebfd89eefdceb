"""Every field of an answer is type-checked on the way in: a wrong type is one line (the turn
fails), or, inside a tool call, an error result the model can act on (the turn goes on); optional
metadata of the wrong type (usage, reasoning) is ignored. JSON nesting is bounded: a 200,000-deep
body never lets a RecursionError escape, with status 200 or 500."""

from __future__ import annotations

import json

import pytest
from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line  # noqa: F401

NO_RETRIES = "[model_providers.litellm]\nrequest_max_retries = 0\n"

# name -> what the user sees: a needle of the one error line, or "ok" (the turn ends normally)
TURN_FAILS = {
    "body_list": "not an object",
    "body_string": "not an object",
    "choices_string": "choices",
    "choices_empty": "choices",
    "choice_number": "choice",
    "message_string": "message",
    "message_list": "message",
    "content_number": "content",
    "content_dict": "content",
}
TURN_ENDS = ["content_parts_bad", "usage_string", "usage_list", "usage_tokens_string",
             "prompt_details_string", "reasoning_number"]
BAD_CALLS = ["tool_calls_number", "tool_calls_string", "tool_call_string", "function_string",
             "function_missing", "name_number", "arguments_number", "arguments_deep"]


@pytest.mark.parametrize("name", sorted(TURN_FAILS))
def test_a_wrong_type_in_the_answer_is_one_line(bad_server, fault_cli, name):
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url(f"answer={name}"), config=NO_RETRIES)
    one_error_line(run, TURN_FAILS[name])


@pytest.mark.parametrize("name", TURN_ENDS)
def test_wrong_optional_fields_are_ignored(bad_server, fault_cli, name):
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url(f"answer={name}"))
    assert run.returncode == 0 and run.stdout.strip() == "ok" and run.stderr == "", run.describe()


@pytest.mark.parametrize("name", BAD_CALLS)
def test_a_wrong_type_in_a_tool_call_goes_back_to_the_model(bad_server, fault_cli, name):
    url = bad_server.url(f"answer={name}")
    run = fault_cli("exec", "--json", "-m", "bad", "hi", base_url=url)
    assert run.returncode == 0 and run.stderr == "", run.describe()
    events = [json.loads(line) for line in run.stdout.splitlines()]
    errors = [e["item"]["message"] for e in events
              if e.get("type") == "item.completed" and e["item"]["type"] == "error"]
    assert len(errors) == 1, run.describe()
    assert events[-1]["type"] == "turn.completed" and bad_server.hits(url) == 2
    commands = [e for e in events if e.get("item", {}).get("type") == "command_execution"]
    assert commands == []  # nothing that could not be read was run


def test_a_call_id_that_is_not_a_string_gets_one_of_ours(bad_server, fault_cli):
    url = bad_server.url("answer=id_dict")
    run = fault_cli("exec", "--json", "-m", "bad", "hi", base_url=url)
    assert run.returncode == 0 and run.stderr == "", run.describe()
    events = [json.loads(line) for line in run.stdout.splitlines()]
    commands = [e["item"] for e in events if e.get("type") == "item.completed"
                and e["item"]["type"] == "command_execution"]
    assert len(commands) == 1 and commands[0]["exit_code"] == 0, run.describe()


@pytest.mark.parametrize("status", [200, 500])
def test_a_200000_deep_body_is_one_line(bad_server, fault_cli, status):
    run = fault_cli("exec", "-m", "bad", "hi", base_url=bad_server.url(f"deep={status}"),
                    config=NO_RETRIES)
    one_error_line(run, str(status))
    assert "RecursionError" not in run.stderr
