"""Unit tests of call normalisation (codex_lite/tools/normalize.py, arguments.py, calls.clean_name):
name clean-up, shell/apply_patch/update_plan arguments, tolerant JSON. Calls reach it through
envelope recovery as well, so a few go through `recover` with a structured call."""

from __future__ import annotations

import json

import pytest

from codex_lite.envelope import Recovery, recover
from codex_lite.tools.arguments import parse_arguments
from codex_lite.tools.calls import clean_name
from codex_lite.tools.normalize import RecoveredCall, normalize_call

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch"


def only_call(recovery: Recovery) -> RecoveredCall:
    assert len(recovery.calls) == 1, recovery
    return recovery.calls[0]


def args_of(name: str, arguments) -> tuple[str, dict | None]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = normalize_call("c1", name, text)
    assert call.error is None, call.error
    return call.name, call.arguments


# -- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, canonical", [
    ("shell", "shell"), ("functions.shell", "shell"), ("container.exec", "shell"),
    ("functions.container.exec", "shell"), ("exec", "shell"), ("shell_command", "shell"),
    ("bash", "shell"), ("exec_command", "shell"), ("Shell", "shell"),
    ("shell<|channel|>commentary", "shell"), ("functions.shell<|constrain|>json", "shell"),
    ("functions.shelljson", "shell"), ("shellcommentary", "shell"), ("container.execjson", "shell"),
    ("functions. shell", "shell"), ("functions .shell", "shell"), ("to=functions.shell", "shell"),
    (" functions.shell json", "shell"), ('"functions.apply_patch"', "apply_patch"),
    ("applypatch", "apply_patch"), ("functions.update_plan", "update_plan"),
    ("functions.get_weather", "get_weather"), ("math.sum", "math.sum"), ("Write", "Write"),
    ("python", "python"), ("get_json", "get_json"), ("<|constrain|>json", ""), ("", ""),
])
def test_clean_name(raw, canonical):
    assert clean_name(raw) == canonical


# -- shell arguments -----------------------------------------------------------------------------

def test_cmd_becomes_command_and_workdir_stays_absent():
    assert args_of("container.exec", {"cmd": ["ls", "-la"]}) == ("shell", {"command": ["ls", "-la"]})


def test_string_command_runs_through_bash():
    assert args_of("shell", {"command": "ls -la | head"}) == \
        ("shell", {"command": ["bash", "-lc", "ls -la | head"]})


def test_one_element_script_argv_runs_through_bash():
    assert args_of("shell", {"command": ["ls -la"]}) == ("shell", {"command": ["bash", "-lc", "ls -la"]})


def test_json_encoded_argv_string_is_decoded():
    assert args_of("shell", {"command": '["git", "status"]'}) == ("shell", {"command": ["git", "status"]})


def test_numbers_in_argv_become_strings():
    assert args_of("shell", {"command": ["head", "-n", 5]}) == ("shell", {"command": ["head", "-n", "5"]})


@pytest.mark.parametrize("key, value, ms", [
    ("timeout_ms", 5000, 5000), ("timeoutMs", 2500, 2500), ("timeout_seconds", 5, 5000),
    ("timeout_s", 1.5, 1500), ("timeoutSeconds", 60, 60000), ("timeout", 30, 30000),
    ("timeout", 120000, 120000), ("timeout", "30s", 30000), ("timeout", "2m", 120000),
    ("timeout", "1500ms", 1500), ("timeout_ms", "10000", 10000), ("timeout", 1000000, 1000000),
])
def test_timeouts_become_milliseconds(key, value, ms):
    _, args = args_of("shell", {"command": ["sleep", "1"], key: value})
    assert args == {"command": ["sleep", "1"], "timeout_ms": ms}


@pytest.mark.parametrize("value", [0, -5, "soon", True, None, float("nan")])
def test_unreadable_timeout_is_dropped_with_a_note(value):
    recovery = recover(None, (), [("c1", "shell", json.dumps({"command": ["ls"], "timeout": value}))])
    assert only_call(recovery).arguments == {"command": ["ls"]}
    assert any("timeout" in d for d in recovery.diagnostics)


@pytest.mark.parametrize("key", ["workdir", "cwd", "working_directory", "workingDirectory", "dir"])
def test_workdir_spellings(key):
    assert args_of("shell", {"command": ["ls"], key: "/srv"}) == \
        ("shell", {"command": ["ls"], "workdir": "/srv"})


def test_extra_keys_are_kept():
    _, args = args_of("shell", {"command": ["rm", "x"], "justification": "cleanup"})
    assert args["justification"] == "cleanup"


@pytest.mark.parametrize("arguments, error", [
    ({}, 'missing "command"'), ({"command": ""}, "empty"), ({"command": []}, "non-empty list"),
    ({"command": [["ls"]]}, "list of strings"), ({"command": {"a": 1}}, "non-empty list"),
])
def test_shell_without_a_usable_command_is_an_error(arguments, error):
    call = normalize_call("c1", "shell", json.dumps(arguments))
    assert call.arguments is None and error in call.error and call.name == "shell"


# -- apply_patch routing -------------------------------------------------------------------------

def test_input_patch_sent_to_shell_becomes_apply_patch():
    assert args_of("shell", {"input": PATCH}) == ("apply_patch", {"input": PATCH})


def test_argv_patch_without_workdir_becomes_apply_patch():
    assert args_of("shell", {"command": ["apply_patch", PATCH]}) == ("apply_patch", {"input": PATCH})
    assert args_of("shell", {"command": [PATCH]}) == ("apply_patch", {"input": PATCH})


def test_argv_patch_with_workdir_stays_shell():
    """The shell tool routes it itself and keeps the directory the paths are relative to."""
    assert args_of("shell", {"command": ["apply_patch", PATCH], "workdir": "sub"}) == \
        ("shell", {"command": ["apply_patch", PATCH], "workdir": "sub"})


def test_apply_patch_free_form_body():
    assert args_of("functions.apply_patch", PATCH) == ("apply_patch", {"input": PATCH})
    assert args_of("apply_patch", "```\n" + PATCH + "\n```") == ("apply_patch", {"input": PATCH})


@pytest.mark.parametrize("key", ["patch", "content", "diff"])
def test_apply_patch_input_spellings(key):
    assert args_of("apply_patch", {key: PATCH}) == ("apply_patch", {"input": PATCH})


def test_apply_patch_without_input_is_an_error():
    call = normalize_call("c1", "apply_patch", '{"file": "a"}')
    assert call.arguments is None and '"input"' in call.error


def test_update_plan():
    plan = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    assert args_of("update_plan", {"plan": plan}) == ("update_plan", {"plan": plan})
    assert args_of("update_plan", {"plan": json.dumps(plan)}) == ("update_plan", {"plan": plan})
    assert "list" in normalize_call("c1", "update_plan", '{"plan": "do it"}').error


# -- tolerant JSON -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, note", [
    ('{"command": ["ls"]} I will now run this.', "text around"),
    ('Here are the arguments: {"command": ["ls"]}', "text around"),
    ('{"command": ["ls"]}}', "stray closing bracket"),
    ('{"command": ["ls"]]}', "stray closing bracket"),
    ('{"command": ["ls"]', "truncated"),
    ('"{\\"command\\": [\\"ls\\"]}"', "double-encoded"),
    ('{\\"command\\": [\\"ls\\"]}', "over-escaped"),
    ('```json\n{"command": ["ls"]}\n```', None),
    ('[{"command": ["ls"]}]', "one-element list"),
    ('{"name": "shell", "arguments": {"command": ["ls"]}}', None),
    ('{"name": "shell", "arguments": "{\\"command\\": [\\"ls\\"]}"}', None),
])
def test_repairable_arguments(text, note):
    recovery = recover(None, (), [("c1", "shell", text)])
    assert only_call(recovery).arguments == {"command": ["ls"]}
    if note:
        assert any(note in d for d in recovery.diagnostics), recovery.diagnostics


@pytest.mark.parametrize("text, says", [
    ('{"command": ["ls"]} {"command": ["pwd"]}', "not valid JSON"),
    ('{"command": ["ls", "-la', "truncated"),
    ("{'command': ['ls']}", "not valid JSON"),
    ('{"command": ["ls"],', "truncated"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_ambiguous_or_broken_arguments_become_errors(text, says):
    call = normalize_call("c1", "functions.search", text)
    assert call.arguments is None and says in call.error, call.error
    assert call.name == "search"


def test_error_text_tells_the_model_what_to_send():
    call = normalize_call("c1", "get_weather", '{"city": Paris}')
    assert "get_weather" in call.error and "JSON" in call.error and "Paris" in call.error


def test_parse_arguments_empty_is_empty_object():
    assert parse_arguments("") == {} and parse_arguments(None) == {} and parse_arguments("  ") == {}


def test_non_object_arguments_are_an_error():
    assert "JSON object" in normalize_call("c1", "get_weather", "42").error


# -- patches ------------------------------------------------------------------------------------

def test_patch_with_escaped_newlines_is_unescaped():
    escaped = PATCH.replace("\n", "\\n")
    assert args_of("apply_patch", {"input": escaped}) == ("apply_patch", {"input": PATCH})
    assert args_of("shell", {"command": ["apply_patch", escaped], "workdir": "w"}) == \
        ("shell", {"command": ["apply_patch", PATCH], "workdir": "w"})


def test_patch_with_real_newlines_keeps_its_backslashes():
    patch = '*** Begin Patch\n*** Add File: a.c\n+printf("a\\n");\n*** End Patch'
    assert args_of("apply_patch", {"input": patch}) == ("apply_patch", {"input": patch})


def test_normalize_call_accepts_dict_arguments():
    call = normalize_call("c1", "container.exec", {"cmd": ["ls"], "timeout": 5})  # type: ignore[arg-type]
    assert (call.name, call.arguments) == ("shell", {"command": ["ls"], "timeout_ms": 5000})
