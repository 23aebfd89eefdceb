"""history.History: every change is an event that replays to the same conversation, unanswered
calls are repaired by one rule wherever they are, compaction keeps the instructions and the last
turns; Tokens adds up any source of the four counters."""

from __future__ import annotations

import json

from codex_lite import events as ev
from codex_lite.history import SUMMARY_INTRO, SUMMARY_PROMPT, History, Tokens, close_dangling_calls
from codex_lite.token_estimate import TokenEstimator


def call(call_id: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": "shell", "arguments": "{}"}}


def replay(events: list) -> list[dict]:
    out: list[dict] = []
    for e in events:
        if isinstance(e, ev.HistoryAppend):
            out.append(e.message)
        elif isinstance(e, ev.HistoryRewind):
            del out[e.length:]
    return out


def test_repairs_at_the_end_are_appends_and_replay():
    seen: list = []
    h = History(seen.append, "be brief")
    h.append({"role": "user", "content": "q"})
    h.append({"role": "assistant", "content": None, "tool_calls": [call("a"), call("b")]})
    h.append({"role": "tool", "tool_call_id": "a", "content": "done"})
    h.close_dangling_calls("interrupted by the user")
    assert [m.get("tool_call_id") for m in h.messages[-2:]] == ["a", "b"]
    assert json.loads(h.messages[-1]["content"]) == {"output": "interrupted by the user",
                                                     "metadata": {"exit_code": 130}}
    assert not any(isinstance(e, ev.HistoryRewind) for e in seen)
    assert replay(seen) == h.messages


def test_a_gap_in_the_middle_is_repaired_in_place_and_still_replays():
    seen: list = []
    h = History(seen.append)
    h.append({"role": "assistant", "content": None, "tool_calls": [call("a")]})
    h.append({"role": "user", "content": "next"})
    h.close_dangling_calls("failed: ValueError")
    assert [m["role"] for m in h.messages] == ["assistant", "tool", "user"]
    assert replay(seen) == h.messages
    h.close_dangling_calls("again")  # nothing left to repair: no event
    assert replay(seen) == h.messages and len(h) == 3


def test_the_list_repair_matches_the_history_repair():
    messages = [{"role": "assistant", "content": None, "tool_calls": [call("x")]}]
    close_dangling_calls(messages, "interrupted: the session ended before this call finished")
    assert messages[1]["tool_call_id"] == "x" and "session ended" in messages[1]["content"]


def test_compact_keeps_the_instructions_and_the_last_turns():
    seen: list = []
    h = History(seen.append, "instructions and AGENTS.md")
    for n in range(3):
        h.append({"role": "user", "content": f"turn {n}"})
        h.append({"role": "assistant", "content": f"answer {n}"})
    count = TokenEstimator().tokens
    request = h.summary_request(5, 10_000, count)
    assert request[0]["content"] == "instructions and AGENTS.md" and len(request) == 6
    assert request[-1] == {"role": "user", "content": SUMMARY_PROMPT}
    assert h.compact("the gist", 5) == 7
    assert [m["content"] for m in h.messages] == ["instructions and AGENTS.md", SUMMARY_INTRO + "the gist",
                                                  "turn 2", "answer 2"]
    assert h.preamble_length() == 1 and h.to_send() == h.messages
    assert replay(seen) == h.messages
    h.compact("shorter", len(h.messages))
    assert [m["role"] for m in h.messages] == ["system", "user"]


def test_tokens_add_events_dicts_and_tokens():
    total = Tokens() + ev.Usage(input_tokens=10, cached_input_tokens=4, output_tokens=3, reasoning_tokens=1)
    total += {"input_tokens": 5}
    total += Tokens(output_tokens=2)
    assert total.as_dict() == {"input_tokens": 15, "cached_input_tokens": 4, "output_tokens": 5,
                               "reasoning_tokens": 1}
    assert total.text() == "in 15 (cached 4), out 5 (reasoning 1)"
