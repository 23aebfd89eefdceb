"""The corpus of real malformed answers (tests/envelope_corpus/corpus.jsonl).

Each line holds one answer as a server returned it (content, reasoning fields, structured calls),
where the payload came from (a public issue or test fixture), and what the agent must get out of it.
"""

import json
from pathlib import Path

import pytest

from codex_lite.envelope import SPECIAL_TOKENS, recover

CORPUS = Path(__file__).parent / "envelope_corpus" / "corpus.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_is_big_and_sourced():
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert len({c["shape"] for c in CASES}) >= 40
    for c in CASES:
        assert c["source"].startswith("https://"), c["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case):
    given, want = case["input"], case["expected"]
    got = recover(given["content"], given["reasoning"], [tuple(t) for t in given["tool_calls"]])
    assert got.text == want["text"]
    assert got.reasoning == want["reasoning"]
    assert len(got.calls) == len(want["calls"]), got.calls
    for call, expected in zip(got.calls, want["calls"]):
        assert call.name == expected["name"]
        if "error_contains" in expected:
            assert call.arguments is None and expected["error_contains"] in call.error
        else:
            assert call.error is None, call.error
            assert call.arguments == expected["arguments"]
    for tok in SPECIAL_TOKENS:
        assert tok not in got.text and tok not in got.reasoning


@pytest.mark.parametrize("case", [c for c in CASES if c["input"]["tool_calls"]],
                         ids=lambda c: c["id"])
def test_structured_calls_keep_their_ids(case):
    given = case["input"]
    got = recover(given["content"], given["reasoning"], [tuple(t) for t in given["tool_calls"]])
    assert [c.call_id for c in got.calls[:len(given["tool_calls"])]] == \
        [t[0] for t in given["tool_calls"]]
    assert not any(c.recovered for c in got.calls[:len(given["tool_calls"])])
