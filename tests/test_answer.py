"""Answer parsing: reasoning from every field servers use, usage details that may be missing."""

from __future__ import annotations

from codex_lite.answer import parse_answer


def answer(message, **choice):
    return {"choices": [{"message": message, **choice}], "usage": None}


def test_reasoning_from_every_place_once():
    parsed = parse_answer(answer(
        {"content": "hi", "reasoning_content": "A", "reasoning": "A",
         "provider_specific_fields": {"reasoning": "A", "thinking_blocks": [{"thinking": "B"}]}},
        provider_specific_fields={"reasoning_content": "C"}))
    assert [p for p in parsed.reasoning.split("\n") if p] == ["A", "B", "C"]
    assert parsed.text == "hi" and parsed.is_final


def test_call_leaked_in_moved_choice_reasoning_is_recovered():
    leaked = '<|channel|>commentary to=functions.shell <|constrain|>json<|message|>{"command":["ls"]}<|call|>'
    parsed = parse_answer(answer({"content": None}, provider_specific_fields={"reasoning_content": leaked}))
    assert [(c.name, c.arguments) for c in parsed.calls] == [("shell", {"command": ["ls"]})]
    assert parsed.history_message["tool_calls"][0]["function"]["name"] == "shell"
    assert "<|" not in parsed.reasoning and not parsed.is_final


def test_usage_details_may_be_missing_or_null():
    body = answer({"content": "x"})
    body["usage"] = {"prompt_tokens": 5, "completion_tokens": None, "prompt_tokens_details": None}
    usage = parse_answer(body).usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (5, 0, 0)


def test_content_parts_and_empty_answer():
    parsed = parse_answer(answer({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}))
    assert parsed.text == "ab"
    empty = parse_answer(answer({"content": "   "}))
    assert not empty.is_final and not empty.calls
