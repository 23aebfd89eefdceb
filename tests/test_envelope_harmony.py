"""Round trips against the reference: openai-harmony renders what gpt-oss really emits, and parses
it back; our recovery must find the same text, reasoning and calls, from the raw text, from the text
with its tokens stripped to bare words (what llama.cpp and Ollama show), and from every field a
server might put it in.

openai-harmony is a compiled test-only dependency (the `test` extra); routers never import it.
"""

from __future__ import annotations

import json
import re

import openai_harmony as oh
import pytest
from conftest_harmony import harmony_encoding  # noqa: F401  (session fixture)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codex_lite.envelope import SPECIAL_TOKENS, recover

USER = oh.Message.from_role_and_content(oh.Role.USER, "Do the task.")


def assistant(text: str, channel: str) -> oh.Message:
    return oh.Message.from_role_and_content(oh.Role.ASSISTANT, text).with_channel(channel)


def tool_call(recipient: str, args: dict, channel: str = "commentary") -> oh.Message:
    msg = assistant(json.dumps(args), channel).with_recipient(recipient)
    return msg.with_content_type("<|constrain|>json")


def completion(enc, messages) -> tuple[str, list]:
    """What the model generated after the prompt: the render of the whole conversation minus the
    render of the prompt (as vLLM's own harmony tests build their fixtures)."""
    cfg = oh.RenderConversationConfig(auto_drop_analysis=False)
    prompt = enc.render_conversation_for_completion(oh.Conversation.from_messages([USER]),
                                                    oh.Role.ASSISTANT, config=cfg)
    full = enc.render_conversation(oh.Conversation.from_messages([USER, *messages]), config=cfg)
    assert full[:len(prompt)] == prompt
    tokens = full[len(prompt):]
    return enc.decode_utf8(tokens), tokens


def reference(enc, tokens) -> dict:
    """What openai-harmony itself parses out of the completion, in our terms."""
    parsed = enc.parse_messages_from_completion_tokens(tokens, oh.Role.ASSISTANT)
    text, reasoning, calls = [], [], []
    for msg in parsed:
        body = "".join(c.text for c in msg.content).strip()
        if msg.recipient:
            calls.append((msg.recipient.split(".", 1)[-1], json.loads(body)))
        elif msg.channel == "analysis":
            reasoning.append(body)
        elif body:
            text.append(body)
    return {"text": "\n\n".join(text), "reasoning": "\n\n".join(reasoning), "calls": calls}


def ours(recovery) -> dict:
    return {"text": recovery.text, "reasoning": recovery.reasoning,
            "calls": [(c.name, c.arguments) for c in recovery.calls]}


def strip_tokens(text: str) -> str:
    """What a server that detokenises without special tokens returns (`analysis...assistantfinal`)."""
    for tok in SPECIAL_TOKENS:
        text = text.replace(tok, "")
    return text


# What a stripped message may start with besides a letter and still be read as one (envelope/tokens.py).
GLUED_OPENERS = "<\"'*`#([{\u201c\u2018"


def channel_first(text: str) -> str:
    """Move each recipient from the role part to the channel part: the renderer writes
    `<|start|>assistant to=X<|channel|>commentary`, the model itself generates
    `<|start|>assistant<|channel|>commentary to=X` (both are valid harmony)."""
    return re.sub(r"(^|<\|start\|>assistant) to=([^<\s]+)<\|channel\|>(\w+)",
                  r"\1<|channel|>\3 to=\2", text)


CONVERSATIONS = {
    "answer": [assistant("Thinking about it.", "analysis"), assistant("The answer is 4.", "final")],
    "call": [assistant("Need to list files.", "analysis"),
             tool_call("functions.get_files", {"path": ".", "depth": 2})],
    "preamble-call": [assistant("Plan it.", "analysis"),
                      assistant("I will look around first.", "commentary"),
                      tool_call("functions.open_readme", {"path": "README.md"})],
    "two-calls-and-final": [assistant("Two lookups.", "analysis"),
                            tool_call("functions.get_weather", {"city": "Paris"}),
                            tool_call("functions.get_time", {"tz": "UTC"}),
                            assistant("Done.", "final")],
    "call-on-analysis": [tool_call("functions.lookup", {"q": "x"}, channel="analysis")],
    "unicode": [assistant("Überlegung: 2+2 → 4 ✓", "analysis"), assistant("Vier. 四.", "final")],
}


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_raw_render_matches_reference(harmony_encoding, name):  # noqa: F811
    text, tokens = completion(harmony_encoding, CONVERSATIONS[name])
    assert ours(recover(text)) == reference(harmony_encoding, tokens)


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_channel_first_recipients_match_reference(harmony_encoding, name):  # noqa: F811
    text, _ = completion(harmony_encoding, CONVERSATIONS[name])
    moved = channel_first(text)
    tokens = harmony_encoding.encode(moved, allowed_special="all")
    assert ours(recover(moved)) == reference(harmony_encoding, tokens)
    if "to=" in text:
        assert moved != text


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_render_in_reasoning_field_matches_reference(harmony_encoding, name):  # noqa: F811
    """Servers that put everything, calls included, in the reasoning text."""
    text, tokens = completion(harmony_encoding, CONVERSATIONS[name])
    assert ours(recover(None, [text])) == reference(harmony_encoding, tokens)


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_stripped_tokens_match_reference(harmony_encoding, name):  # noqa: F811
    text, tokens = completion(harmony_encoding, CONVERSATIONS[name])
    stripped = strip_tokens(text)
    assert "<|" not in stripped
    assert ours(recover(stripped)) == reference(harmony_encoding, tokens)


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_render_with_structured_duplicates(harmony_encoding, name):  # noqa: F811
    """A server that parses the calls and also leaks them: no duplicates, structured ids kept."""
    text, tokens = completion(harmony_encoding, CONVERSATIONS[name])
    want = reference(harmony_encoding, tokens)
    structured = [(f"call_{i}", n, json.dumps(a)) for i, (n, a) in enumerate(want["calls"])]
    got = recover(text, (), structured)
    assert ours(got) == want
    assert [c.call_id for c in got.calls] == [s[0] for s in structured]


def test_shell_call_normalised_after_round_trip(harmony_encoding):  # noqa: F811
    msgs = [tool_call("container.exec", {"cmd": "ls -la", "timeout": 30, "cwd": "/tmp"})]
    text, _ = completion(harmony_encoding, msgs)
    [call] = recover(text).calls
    assert (call.name, call.arguments) == \
        ("shell", {"command": ["bash", "-lc", "ls -la"], "timeout_ms": 30000, "workdir": "/tmp"})


# -- generated conversations -------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) |
                    st.sampled_from("\n\t{}[]\"'<>|=.:"), min_size=1, max_size=60).filter(
    lambda s: s.strip() and "<|" not in s and "|>" not in s and "assistant" not in s
    and "to=" not in s)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).map(lambda s: "tool_" + s)
ARGS = st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
                       st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.none(),
                                 SAFE_TEXT, st.lists(st.integers(0, 9), max_size=3)), max_size=4)
MESSAGE = st.one_of(
    st.builds(assistant, SAFE_TEXT, st.just("analysis")),
    st.builds(assistant, SAFE_TEXT, st.just("final")),
    st.builds(assistant, SAFE_TEXT, st.just("commentary")),
    st.builds(lambda n, a: tool_call("functions." + n, a), NAMES, ARGS),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(MESSAGE, min_size=1, max_size=6))
def test_generated_conversations_match_reference(harmony_encoding, messages):  # noqa: F811
    text, tokens = completion(harmony_encoding, messages)
    want = reference(harmony_encoding, tokens)
    assert ours(recover(text)) == want
    assert ours(recover("", [text])) == want
    moved = channel_first(text)
    assert ours(recover(moved)) == \
        reference(harmony_encoding, harmony_encoding.encode(moved, allowed_special="all"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(MESSAGE, min_size=1, max_size=6))
def test_generated_conversations_with_stripped_tokens(harmony_encoding, messages):  # noqa: F811
    """Tokens stripped to bare words. One shape is ambiguous by nature and left out: a first message
    whose text starts with something that could continue the channel word as prose or a name
    (`final` + lowercase is `finally`; `analysis` + `_x.py` is a file name)."""
    text, tokens = completion(harmony_encoding, messages)
    stripped = strip_tokens(text)
    first = "".join(c.text for c in messages[0].content)[:1]
    if not messages[0].recipient:
        opener = first != "" and first in GLUED_OPENERS
        assume(opener or (first.isupper() if messages[0].channel == "final" else first.isalpha()))
    assert ours(recover(stripped)) == reference(harmony_encoding, tokens)
