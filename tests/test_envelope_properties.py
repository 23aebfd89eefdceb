"""Properties of envelope recovery on any input: it never raises, never shows a special token, and
its cost grows linearly (it runs on megabytes of model output on a slow CPU)."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_lite.answer import parse_answer
from codex_lite.envelope import SPECIAL_TOKENS, find_leak, normalize_call, recover, scrub

# Pieces that exercise every branch: tokens, halves of tokens, bare channel words, headers, JSON.
FRAGMENTS = list(SPECIAL_TOKENS) + [
    "<|", "|>", "<|end", "start|>", "<|ret", "<|endoftext|>", "<", "|", ">",
    "assistant", "analysis", "commentary", "final", "assistantfinal", "assistantcommentary",
    "assistantanalysis", " to=", "to=functions.shell", "to=container.exec", "functions.",
    "json", "code", "shelljson", " ", "\n", "{", "}", "[", "]", '"', "\\", ":", ",",
    '{"command": ["ls"]}', '{"cmd": "ls -la", "timeout": 5}', '{"input": "*** Begin Patch\\n"}',
    "*** Begin Patch", "Hello", "We need to", "é", "\u2028",
    # second generation: recipients anywhere, junk glued to channels, residue, bare JSON calls
    "to=assistant", "to=functions.exec_command", "to=repo_browser.open_file", "to=python", " to=web.run",
    "user", "XYZanalysis", "北京赛车", "মন্তব্য", "\U0004e000", "</commentary", ">", "...", "?...",
    "assistantcode", '{"name": "shell", "arguments": ', '{"name": "get_weather", "parameters": {"city": "x"}}',
    '[{"name": "shell", "arguments": {"command": ["ls"]}}]', '{"type": "function", ', "```json\n", "```",
    "\\(", '"workdir": "/tmp"',
]
SOUP = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=60).map("".join)
FIELD = st.none() | st.text(max_size=200) | SOUP
CALLS = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=30) | SOUP,
                           st.none() | st.text(max_size=40) | SOUP), max_size=3)


def no_special_token(s: str) -> bool:
    return not any(tok in s for tok in SPECIAL_TOKENS)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=FIELD, reasoning=st.lists(FIELD, max_size=3), calls=CALLS)
def test_never_raises_and_never_shows_tokens(content, reasoning, calls):
    got = recover(content, reasoning, calls)
    assert isinstance(got.text, str) and isinstance(got.reasoning, str)
    assert no_special_token(got.text) and no_special_token(got.reasoning)
    for call in got.calls:
        assert (call.arguments is None) == (call.error is not None)
        assert call.call_id and call.name and no_special_token(call.name)
    for given_call, call in zip(calls, got.calls):  # structured calls first, ids kept
        assert not call.recovered
        if given_call[0]:
            assert call.call_id == given_call[0]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=FIELD, reasoning=st.lists(FIELD, max_size=3), calls=CALLS)
def test_nothing_shown_ever_breaks_the_rule(content, reasoning, calls):
    """The one rule (issue 13): no text or reasoning carries a harmony token, a recipient marker or
    a channel word glued to a role, whatever the server sent; checked on the answer the agent shows."""
    got = recover(content, reasoning, calls)
    assert find_leak(got.text) is None, got.text
    assert find_leak(got.reasoning) is None, got.reasoning
    message = {"content": content, "reasoning_content": reasoning[0] if reasoning else None,
               "tool_calls": [{"id": c[0], "function": {"name": c[1], "arguments": c[2]}} for c in calls]}
    answer = parse_answer({"choices": [{"message": message}]})
    assert find_leak(answer.text) is None and find_leak(answer.reasoning) is None
    assert find_leak(answer.history_message.get("content") or "") is None


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=30) | SOUP, args=st.none() | st.text(max_size=60) | SOUP)
def test_normalize_call_never_raises(name, args):
    call = normalize_call("call_x", name, args)
    assert call.call_id == "call_x"
    assert (call.arguments is None) == (call.error is not None)
    assert no_special_token(call.name)


@settings(max_examples=300, deadline=None)
@given(text=SOUP)
def test_scrub_leaves_no_token(text):
    assert no_special_token(scrub(text))


def test_wrong_types_do_not_raise():
    """Servers send odd things: numbers, dicts as arguments, short tuples."""
    got = recover(123, [None, 5, "ok"], [("c1", None, {"command": "ls"}), ("c2",), ()])  # type: ignore
    assert got.reasoning == "ok"
    assert got.calls and got.calls[0].call_id == "c1"


# -- linear time -------------------------------------------------------------------------------

ADVERSARIAL = {
    "open-brackets": "<|",
    "half-tokens": "<|start|><|channel|>",
    "bare-markers": "assistantfinal",
    "assistant-words": "assistant ",
    "to-headers": "<|start|>assistant to=functions.x<|constrain|>",
    "tiny-calls": '<|start|>assistant to=functions.a<|channel|>commentary<|message|>{"a":1}<|call|>',
    "header-pieces": "x<|constrain|>",
    "channel-repeats": "<|channel|>c",
    "message-in-body": "<|channel|>analysis<|message|>a to=b<|message|>",
    "nested-json": "[",
    "stray-closers": '<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}]]]]',
    "quotes": '"\\',
    "bare-recipients": " to=functions.x",
    "glued-junk-headers": 'XYZanalysis to=container.exec 北京{"cmd":["ls"]}',
    "recipient-mentions": "we call to=functions.shell.",
    "residue": "user to=assistant ?...",
    "pseudo-tags": "</commentary to=functions.shell>",
    "bare-json-calls": '{"name": "shell", "arguments": {"command": ["ls"]}}\n',
    "bare-json-prefix": '{"name": "shell", "arguments": {',
    "json-strings-with-recipients": '{"input": "commentary to=functions.shell json',
}


def _best_time(text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        recover(text, [text[: len(text) // 2]])
        best = min(best, time.perf_counter() - start)
    return best


def _sized(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def test_linear_time_on_adversarial_inputs():
    """1 MB of each pathological pattern parses within a fixed multiple of the 10 KB version.
    Linear cost gives ~100x (measured 35x-180x); anything quadratic gives ~10000x. The bound
    (1000x) leaves room for timer noise and a loaded CI machine without letting a quadratic path
    through."""
    for name, unit in ADVERSARIAL.items():
        small = _best_time(_sized(unit, 10_000), repeats=5) + 1e-4
        big = _best_time(_sized(unit, 1_000_000), repeats=2)
        assert big < 1000 * small, f"{name}: 1 MB took {big:.3f}s, 10 KB {small:.5f}s"


def test_one_megabyte_of_a_large_patch_call_is_fast():
    patch = "*** Begin Patch\\n*** Add File: big.txt\\n" + "+line of text\\n" * 70_000 + "*** End Patch"
    text = ("<|channel|>analysis<|message|>Write it.<|end|><|start|>assistant<|channel|>commentary "
            'to=functions.apply_patch <|constrain|>json<|message|>{"input": "' + patch + '"}<|call|>')
    start = time.perf_counter()
    got = recover(text)
    assert time.perf_counter() - start < 2.0
    assert got.calls[0].name == "apply_patch" and got.calls[0].arguments["input"].count("\n") > 70_000


def test_memory_stays_proportional_to_the_input():
    """Routers have 128 MB: the peak allocation while parsing stays within a small multiple of the
    input (the lexer and the message grouping are streamed; looping calls are cut)."""
    import tracemalloc

    size = 300_000
    for name, unit in ADVERSARIAL.items():
        text = _sized(unit, size)
        tracemalloc.start()
        try:
            recover(text)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 12 * size, f"{name}: peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of input"
