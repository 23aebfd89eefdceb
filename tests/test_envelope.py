"""Unit tests of envelope recovery: name clean-up, argument normalisation, tolerant JSON, routing of
channels, de-duplication and the shapes listed in DESIGN.md section 3 that the corpus does not
already pin down."""

from __future__ import annotations

import json
import re

import pytest

from codex_lite.envelope import (
    MAX_LEAKED_CALLS,
    RecoveredCall,
    Recovery,
    clean_name,
    normalize_call,
    parse_arguments,
    recover,
)

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


# -- routing of channels ---------------------------------------------------------------------------

def test_plain_content_is_untouched():
    text = "  Done. The analysis of the code shows\nfinally two bugs.  "
    assert recover(text) == Recovery(text=text)


@pytest.mark.parametrize("text", ["finally, it works", "Final answer: 4", "analysis of logs",
                                  "final", "commentary is welcome", "A to=B mapping",
                                  "analysis_report.md is ready", "analysis.py", "commentary-free",
                                  "final2 passed", "Use x |> f in Elixir", "Haskell's a <|> b"])
def test_prose_that_starts_like_a_channel_is_not_an_envelope(text):
    assert recover(text).text == text


def test_none_and_empty_fields():
    assert recover(None) == Recovery()
    assert recover("", [None, ""], []) == Recovery()


def test_channels_route_to_text_and_reasoning():
    got = recover("<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>commentary"
                  "<|message|>I will look.<|end|><|start|>assistant<|channel|>final<|message|>Done.<|return|>")
    assert (got.text, got.reasoning, got.calls) == ("I will look.\n\nDone.", "think", [])


def test_missing_start_and_end_between_channels():
    got = recover("<|channel|>analysis<|message|>think<|channel|>final<|message|>Answer")
    assert (got.text, got.reasoning) == ("Answer", "think")


def test_assistant_residue_before_a_channel_is_dropped():
    got = recover("<|channel|>analysis<|message|>think assistant<|channel|>final<|message|>Answer")
    assert (got.text, got.reasoning) == ("Answer", "think")


def test_return_where_call_belongs():
    got = recover('<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|return|>')
    assert only_call(got).arguments == {"command": ["ls"]}


def test_stripped_tokens_with_call_and_final():
    got = recover('analysisUser wants files.assistantcommentary to=functions.shell json'
                  '{"command":["ls"]}assistantfinalHere they are.')
    assert (got.text, got.reasoning) == ("Here they are.", "User wants files.")
    assert only_call(got).arguments == {"command": ["ls"]}


def test_stripped_preamble_is_text():
    got = recover("analysisThink.assistantcommentaryI will list the files.")
    assert (got.text, got.reasoning) == ("I will list the files.", "Think.")


def test_partially_stripped_header_with_real_constrain():
    got = recover('analysisThink.assistantcommentary to=functions.shell <|constrain|>json<|message|>'
                  '{"command":["pwd"]}<|call|>')
    assert (got.reasoning, only_call(got).arguments) == ("Think.", {"command": ["pwd"]})


def test_call_in_reasoning_field_only():
    leaked = ('We need ls.<|end|><|start|>assistant<|channel|>commentary to=functions.shell '
              '<|constrain|>json<|message|>{"cmd":"ls"}<|call|>')
    got = recover("", [leaked])
    assert got.reasoning == "We need ls."
    assert only_call(got).arguments == {"command": ["bash", "-lc", "ls"]}


def test_header_glued_into_previous_body():
    got = recover('<|channel|>analysis<|message|>Need ls. commentary to=functions.shell '
                  '<|constrain|>json<|message|>{"command":["ls"]}')
    assert got.reasoning == "Need ls."
    assert only_call(got).arguments == {"command": ["ls"]}


def test_hallucinated_tool_output_is_dropped_with_a_diagnostic():
    got = recover('<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>'
                  "<|start|>functions.shell to=assistant<|channel|>commentary<|message|>a.txt<|end|>"
                  "<|start|>assistant<|channel|>final<|message|>There is a.txt")
    assert got.text == "There is a.txt" and len(got.calls) == 1
    assert any("functions.shell" in d for d in got.diagnostics)


def test_truncated_header_without_body_is_an_error_call():
    got = recover("<|channel|>analysis<|message|>go<|end|><|start|>assistant to=functions.shell"
                  "<|channel|>commentary <|constrain|>json")
    call = only_call(got)
    assert call.name == "shell" and 'missing "command"' in call.error and call.origin == "recipient_only"


@pytest.mark.parametrize("tail", ["<|", "<|ret", "<|end", "<|call", "|>", "<|start|"])
def test_dangling_token_fragments_are_removed(tail):
    assert recover("<|channel|>final<|message|>Hello" + tail).text == "Hello"


def test_tokens_missing_a_bracket():
    got = recover("<|channel>analysis<|message>think<|end><|start|>assistant channel|>final"
                  "<|message|>Answer")
    assert (got.text, got.reasoning) == ("Answer", "think")


def test_endoftext_is_not_shown():
    assert recover("<|channel|>final<|message|>Bye<|endoftext|>").text == "Bye"


def test_bare_json_call_object_as_the_whole_answer():
    got = recover('{"name": "shell", "arguments": {"command": ["ls"]}}')
    assert (got.text, only_call(got).name, only_call(got).arguments) == ("", "shell", {"command": ["ls"]})


def test_bare_json_of_an_unknown_tool_is_a_call_for_the_agent_to_refuse():
    call = only_call(recover('{"name": "lookup", "arguments": {"q": 1}}'))
    assert (call.name, call.arguments, call.origin) == ("lookup", {"q": 1}, "bare_json")


def test_a_record_with_a_name_stays_text():
    text = '{"name": "lookup", "q": 1}'
    assert recover(text) == Recovery(text=text)


def test_commentary_arguments_without_recipient_infer_our_tool():
    got = recover('<|channel|>commentary<|message|>{"cmd": ["ls"]}<|end|>')
    assert (only_call(got).name, only_call(got).arguments) == ("shell", {"command": ["ls"]})


def test_builtin_recipient_passes_through_as_unknown_tool():
    call = only_call(recover('<|channel|>analysis to=browser.search<|message|>{"query": "x"}<|call|>'))
    assert (call.name, call.arguments) == ("browser.search", {"query": "x"})


# -- ids, order, duplicates ------------------------------------------------------------------------

def test_leaked_calls_get_synthetic_ids_and_follow_structured_ones():
    got = recover('<|channel|>commentary to=functions.shell<|message|>{"command":["pwd"]}',
                  (), [("call_abc", "update_plan", '{"plan": []}')])
    assert got.calls[0].call_id == "call_abc"
    assert re.fullmatch(r"call_[0-9a-f]{12}", got.calls[1].call_id)
    assert [c.recovered for c in got.calls] == [False, True]


def test_synthetic_ids_are_unique():
    text = '<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>' * 20
    ids = [c.call_id for c in recover(text).calls]
    assert len(ids) == 20 and len(set(ids)) == 20


def test_leaked_copy_of_a_structured_call_is_dropped_even_when_spelled_differently():
    got = recover('<|channel|>commentary to=container.exec<|message|>{"cmd": "ls"}<|call|>', (),
                  [("call_1", "shell", '{"command": ["bash", "-lc", "ls"]}')])
    assert [c.call_id for c in got.calls] == ["call_1"]
    assert any("copy" in d for d in got.diagnostics)


def test_same_call_in_content_and_reasoning_counts_once():
    env = '<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>'
    got = recover(env, [env])
    assert len(got.calls) == 1


def test_a_call_repeated_within_one_field_is_kept():
    env = '<|start|>assistant<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>'
    assert len(recover(env + env).calls) == 2


def test_text_copied_into_content_and_reasoning_shows_once():
    env = "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>Hi"
    got = recover(env, [env])
    assert (got.text, got.reasoning) == ("Hi", "think")


def test_structured_calls_with_dict_arguments():
    call = only_call(recover(None, (), [("c9", "functions.shell", {"cmd": "ls"})]))
    assert (call.call_id, call.name, call.arguments) == ("c9", "shell", {"command": ["bash", "-lc", "ls"]})


def test_structured_call_without_arguments():
    call = only_call(recover(None, (), [("c9", "get_time", None)]))
    assert call.arguments == {} and call.error is None


def test_error_calls_are_listed_in_diagnostics():
    got = recover('<|channel|>commentary to=functions.shell<|message|>{"command": [<|call|>')
    assert got.calls[0].error and any(got.calls[0].error in d for d in got.diagnostics)


def test_patch_with_escaped_newlines_is_unescaped():
    escaped = PATCH.replace("\n", "\\n")
    assert args_of("apply_patch", {"input": escaped}) == ("apply_patch", {"input": PATCH})
    assert args_of("shell", {"command": ["apply_patch", escaped], "workdir": "w"}) == \
        ("shell", {"command": ["apply_patch", PATCH], "workdir": "w"})


def test_patch_with_real_newlines_keeps_its_backslashes():
    patch = '*** Begin Patch\n*** Add File: a.c\n+printf("a\\n");\n*** End Patch'
    assert args_of("apply_patch", {"input": patch}) == ("apply_patch", {"input": patch})


def test_a_model_looping_on_calls_is_cut_and_told():
    env = '<|start|>assistant<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>'
    got = recover(env * (MAX_LEAKED_CALLS + 10))
    assert len(got.calls) == MAX_LEAKED_CALLS + 1
    last = got.calls[-1]
    assert last.name == "unnamed_tool" and "10 more tool calls" in last.error


def test_normalize_call_accepts_dict_arguments():
    call = normalize_call("c1", "container.exec", {"cmd": ["ls"], "timeout": 5})  # type: ignore[arg-type]
    assert (call.name, call.arguments) == ("shell", {"command": ["ls"], "timeout_ms": 5000})
