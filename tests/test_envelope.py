"""Unit tests of envelope recovery: routing of channels, de-duplication and the shapes listed in
DESIGN.md section 3 that the corpus does not already pin down. Call normalisation (names,
arguments, tolerant JSON) is tested in test_normalize.py."""

from __future__ import annotations

import re

import pytest

from codex_lite.envelope import (
    MAX_LEAKED_CALLS,
    RecoveredCall,
    Recovery,
    recover,
)


def only_call(recovery: Recovery) -> RecoveredCall:
    assert len(recovery.calls) == 1, recovery
    return recovery.calls[0]


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




def test_a_model_looping_on_calls_is_cut_and_told():
    env = '<|start|>assistant<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>'
    got = recover(env * (MAX_LEAKED_CALLS + 10))
    assert len(got.calls) == MAX_LEAKED_CALLS + 1
    last = got.calls[-1]
    assert last.name == "unnamed_tool" and "10 more tool calls" in last.error
