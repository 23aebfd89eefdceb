"""End to end: leaked tool calls from real bug reports -> the real LiteLLM proxy -> `codex-lite exec`.

Every second-generation corpus case (tests/envelope_corpus/corpus.jsonl, the lines with a `class`)
is replayed as the scripted model's answer. What the agent ran, or told the model, is read from the
next request it sent; what the user got (JSONL text, the -o file, stdout, stderr) is checked against
the rule: no harmony token, recipient marker or channel word glued to a role, ever. Then the note a
user sees, the bound on nudges, `codex-lite stats` and the demo.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import REPO_ROOT, cli_env
from scripted_server import completion

from codex_lite.envelope import find_leak

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).parent / "envelope_corpus" / "corpus.jsonl"
SECOND = [c for c in (json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
                      if line.strip()) if "class" in c]
RUN = ("exec", "-m", "scripted", "-c", "retry.wait_seconds=0")
NOTE = "recovered a tool call the model sent as text"


def leak_free(*texts: str) -> None:
    for text in texts:
        assert find_leak(text) is None, text


@pytest.mark.parametrize("case", SECOND, ids=[c["id"] for c in SECOND])
def test_corpus_case_end_to_end(case, model, run_cli, tmp_path):
    given, want = case["input"], case["expected"]
    reasoning = given["reasoning"][0] if given["reasoning"] else None
    script = [completion(given["content"], reasoning_content=reasoning)]
    if want["calls"]:
        script.append(completion("Done."))
    model.set_script(script)
    out_file = tmp_path / "last.txt"
    r = run_cli(*RUN, "--json", "-o", str(out_file), "do the task")
    assert r.returncode == 0, r.describe()
    assert not r.bad_lines and "Traceback" not in r.stderr, r.describe()
    texts = [i.get("text", "") for i in r.items() if i.get("type") in ("agent_message", "reasoning")]
    leak_free(r.stdout, r.stderr, out_file.read_text(), *texts)
    messages = [i["text"] for i in r.items("agent_message")]
    if want["text"]:
        assert messages[0] == want["text"], r.describe()
    requests = model.chat_requests()
    assert len(requests) == (2 if want["calls"] else 1), r.describe()
    if not want["calls"]:
        assert out_file.read_text() == want["text"]
        return
    assert out_file.read_text() == "Done."
    sent = requests[1]["messages"]
    assistant = next(m for m in reversed(sent) if m["role"] == "assistant")
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == [c["name"] for c in want["calls"]]
    assert "content" not in assistant or find_leak(assistant["content"] or "") is None
    results = [m for m in sent if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == [c["id"] for c in assistant["tool_calls"]]
    for call, result in zip(want["calls"], results):
        if "error_contains" in call:
            assert call["error_contains"] in result["content"], result
        elif call["name"] not in ("shell", "apply_patch", "update_plan"):
            assert f"no tool named {call['name']!r}" in result["content"], result


def test_human_exec_says_a_call_was_recovered(model, run_cli, git_repo):
    model.set_script([completion('{"name": "shell", "arguments": {"command": ["touch", "made.txt"]}}'),
                      completion("Made it.")])
    r = run_cli(*RUN, "make a file")
    assert r.returncode == 0, r.describe()
    assert (git_repo / "made.txt").exists()
    assert r.stdout.strip() == "Made it."
    assert [line for line in r.stderr.splitlines() if NOTE in line] == [NOTE], r.describe()


def test_human_exec_says_the_model_was_told_how_to_call(model, run_cli):
    model.set_script([completion("Listing the files now. to=functions.shell"), completion("Nothing to list.")])
    r = run_cli(*RUN, "list files")
    assert r.returncode == 0, r.describe()
    assert "the model sent a tool call as text that could not be run" in r.stderr, r.describe()
    assert "to=" not in r.stderr and "to=" not in r.stdout


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_endless_nudges_fail_the_turn_with_one_line(model, run_cli, json_mode):
    model.set_script([completion("to=functions.shell ...")] * 4 + [completion("never sent")])
    r = run_cli(*RUN, *(["--json"] if json_mode else []), "list files")
    assert r.returncode == 1, r.describe()
    assert len(model.chat_requests()) == 4
    if json_mode:
        failed = r.events[-1]
        assert failed["type"] == "turn.failed" and "\n" not in failed["error"]["message"]
        assert "tool calls as text" in failed["error"]["message"]
    else:
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "tool calls as text" in errors[0], r.describe()
    leak_free(r.stdout, r.stderr)


def test_stats_counts_leaks_per_class(model, run_cli):
    model.set_script([completion('{"command": ["true"]}'), completion("ok")])
    assert run_cli(*RUN, "one").returncode == 0
    model.set_script([completion("to=functions.shell"), completion('[{"name": "shell", "arguments": '
                                                                  '{"command": ["true"]}}]'), completion("ok")])
    assert run_cli(*RUN, "two").returncode == 0
    r = run_cli("stats", "--json")
    assert r.returncode == 0, r.describe()
    envelope = json.loads(r.stdout)["all_time"]["envelope"]
    assert envelope["recovered"] == {"bare_json": 2} and envelope["nudged"] == {"recipient_only": 1}
    r = run_cli("stats")
    assert "recovered        2 (bare_json 2)" in r.stdout and "nudged           1 (recipient_only 1)" in r.stdout


def test_demo_shows_the_note(litellm_proxy, tmp_path):
    """scripts/demo starts its own proxy; its leaked call is recovered and the user is told."""
    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, tmp_path / "unused")
    env.pop("CODEX_HOME")
    r = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "demo")], env=env, text=True,
                       capture_output=True, timeout=180, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert NOTE in r.stderr, r.stderr[-3000:]
    leak_free(r.stdout, r.stderr)
