"""The corpus of real malformed answers (tests/envelope_corpus/corpus.jsonl).

Each line holds one answer as a server returned it (content, reasoning fields, structured calls),
where the payload came from (a public issue or test fixture), and what the agent must get out of it.
Lines with a `class` are the second generation (issue 13): leaks found in public bug reports that
the first parser got wrong; each also runs end to end through LiteLLM in test_e2e_envelope.py.
"""

import json
from pathlib import Path

import pytest

from codex_lite.envelope import CLASSES, find_leak, recover

CORPUS = Path(__file__).parent / "envelope_corpus" / "corpus.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
SECOND = [c for c in CASES if "class" in c]


def test_corpus_is_big_and_sourced():
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert len({c["shape"] for c in CASES}) == len(CASES)
    for c in CASES:
        assert c["source"].startswith("https://"), c["id"]


def test_second_generation_covers_the_four_classes_from_public_reports():
    assert len(SECOND) >= 30
    classes = {c["class"] for c in SECOND} | {k for c in SECOND for k in c["expected"].get("scrubbed", [])}
    assert {"bare_json", "recipient_only", "glued_channel", "residue"} <= classes
    assert {c["class"] for c in SECOND} <= set(CLASSES)
    for c in SECOND:  # issue and pull request threads, one cited per case
        assert c["source"].startswith("https://github.com/") and ("/issues/" in c["source"]
                                                                 or "/pull/" in c["source"]), c["id"]


def _check(case, got):
    want = case["expected"]
    assert got.text == want["text"]
    assert got.reasoning == want["reasoning"]
    assert len(got.calls) == len(want["calls"]), got.calls
    for call, expected in zip(got.calls, want["calls"]):
        assert call.name == expected["name"]
        if "error_contains" in expected:
            assert call.arguments is None and expected["error_contains"] in call.error, call.error
        else:
            assert call.error is None, call.error
            assert call.arguments == expected["arguments"]
    assert find_leak(got.text) is None and find_leak(got.reasoning) is None


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case):
    given = case["input"]
    _check(case, recover(given["content"], given["reasoning"], [tuple(t) for t in given["tool_calls"]]))


@pytest.mark.parametrize("case", SECOND, ids=[c["id"] for c in SECOND])
def test_second_generation_case_is_classified(case):
    """Telemetry counts leaks per class: every leaked call says which class it came from, and what
    was scrubbed from the text is counted under its class."""
    given = case["input"]
    got = recover(given["content"], given["reasoning"], [])
    for call in got.calls:
        assert call.recovered and call.origin == case["class"], (call.name, call.origin)
    assert sorted(got.scrubbed) == sorted(case["expected"].get("scrubbed", [])), got.scrubbed


@pytest.mark.parametrize("case", [c for c in CASES if c["input"]["tool_calls"]],
                         ids=lambda c: c["id"])
def test_structured_calls_keep_their_ids(case):
    given = case["input"]
    got = recover(given["content"], given["reasoning"], [tuple(t) for t in given["tool_calls"]])
    assert [c.call_id for c in got.calls[:len(given["tool_calls"])]] == \
        [t[0] for t in given["tool_calls"]]
    assert not any(c.recovered for c in got.calls[:len(given["tool_calls"])])
