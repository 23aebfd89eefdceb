"""The agent loop in process, against the scripted model server over a real socket, with real tools."""

from __future__ import annotations

import json

import pytest

from codex_lite import events as ev
from codex_lite.agent import NUDGE, Agent
from codex_lite.retry import TurnPolicy
from codex_lite.client import Client
from codex_lite.config import Provider
from codex_lite.context import build_instructions, find_agents_files
from codex_lite.tools.shell import ShellSettings
from codex_lite.tools.toolbox import ToolBox
from scripted_server import ScriptedServer, completion, make_usage


@pytest.fixture(scope="module")
def server():
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def make_agent(server, tmp_path):
    server.reset()

    def make(*script, attempts=5, rounds=50, approver=None):
        server.set_script(list(script))
        seen: list[ev.Event] = []
        sleeps: list[float] = []
        client = Client(Provider(id="t", base_url=server.base_url, request_max_retries=0))
        tools = ToolBox(cwd=str(tmp_path), emit=seen.append, shell=ShellSettings(), approver=approver)
        agent = Agent(client, tools, "scripted", seen.append, instructions="be brief",
                      retry=TurnPolicy(attempts, 4.0), max_tool_rounds=rounds, sleep=sleeps.append)
        return agent, seen, sleeps

    return make


def of(seen, cls):
    return [e for e in seen if isinstance(e, cls)]


def test_simple_answer_and_usage(make_agent):
    agent, seen, _ = make_agent(completion("hello", usage=make_usage(100, 20, cached_tokens=60,
                                                                     reasoning_tokens=7)))
    result = agent.run("hi")
    assert result.ok and result.text == "hello"
    done = of(seen, ev.TurnCompleted)[0]
    assert (done.input_tokens, done.cached_input_tokens, done.output_tokens, done.reasoning_tokens) == \
        (100, 60, 20, 7)
    assert of(seen, ev.AgentMessage)[0].final


def test_several_calls_in_one_message_all_answered_in_order(make_agent, server, tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    agent, seen, _ = make_agent(
        completion(tool_calls=[("shell", {"command": ["cat", "a.txt"]}, "c1"),
                               ("shell", {"command": ["echo", "two"]}, "c2"),
                               ("update_plan", {"plan": [{"step": "s", "status": "completed"}]}, "c3")]),
        completion("done"))
    assert agent.run("go").ok
    messages = server.chat_requests()[1]["messages"]
    assert [m["role"] for m in messages[-4:]] == ["assistant", "tool", "tool", "tool"]
    assert [m["tool_call_id"] for m in messages[-3:]] == ["c1", "c2", "c3"]
    assert [c["id"] for c in messages[-4]["tool_calls"]] == ["c1", "c2", "c3"]
    assert json.loads(messages[-3]["content"])["output"] == "alpha\n"
    assert messages[-1]["content"] == "Plan updated"


def test_fallback_recovers_on_attempt_three_and_drops_partial_transcripts(make_agent, server):
    agent, seen, sleeps = make_agent(completion(reasoning_content="hmm"), completion(content=None),
                                     completion("the answer"))
    result = agent.run("question")
    assert result.ok and result.text == "the answer"
    retries = of(seen, ev.Retry)
    assert [r.reason for r in retries] == ["reasoning only", "empty answer"]
    assert sleeps == [4.0, 4.0]
    assert of(seen, ev.RetryOutcome)[0].recovered and of(seen, ev.RetryOutcome)[0].attempts == 3
    third = server.chat_requests()[2]["messages"]
    assert [m["role"] for m in third] == ["system", "user"] and third[1]["content"] == "question"
    assert [m["role"] for m in agent.history.messages] == ["system", "user", "assistant"]


def test_fallback_after_tools_keeps_history_and_nudges(make_agent, server, tmp_path):
    agent, seen, _ = make_agent(
        completion(tool_calls=[("shell", {"command": ["touch", "made.txt"]}, "t1")]),
        completion(reasoning_content="done thinking"),
        completion("created made.txt"))
    assert agent.run("make a file").ok
    third = server.chat_requests()[2]["messages"]
    assert third[-1] == {"role": "user", "content": NUDGE}
    assert any(m.get("tool_call_id") == "t1" for m in third)
    assert (tmp_path / "made.txt").exists()


def test_never_recovers_fails_after_max_attempts(make_agent):
    agent, seen, sleeps = make_agent(*[completion(reasoning_content="...")] * 3, attempts=3)
    result = agent.run("q")
    assert not result.ok and "after 3 attempts" in result.error
    assert len(of(seen, ev.Retry)) == 2 and len(sleeps) == 2
    assert of(seen, ev.TurnFailed)[0].message == result.error
    assert not of(seen, ev.RetryOutcome)[0].recovered


def test_tool_round_cap_ends_the_turn(make_agent):
    loop = completion(tool_calls=[("shell", {"command": ["true"]})])
    agent, seen, _ = make_agent(*[loop] * 4, rounds=3)
    result = agent.run("q")
    assert not result.ok and "stopped after 3 tool round trips" in result.error
    assert "max_tool_rounds" in result.error


def test_malformed_call_goes_back_to_the_model(make_agent, server):
    agent, seen, _ = make_agent(completion(tool_calls=[("update_plan", '{{{ plan: oops', "bad")]),
                                completion("ok"))
    assert agent.run("q").ok
    reply = server.chat_requests()[1]["messages"][-1]
    assert reply["tool_call_id"] == "bad" and "error" in reply["content"]
    assert not of(seen, ev.ToolResult)[0].ok


def test_interrupt_closes_dangling_calls(make_agent):
    class Approver:  # the user presses Ctrl-C in the approval dialog
        def __call__(self, request):
            raise KeyboardInterrupt

        def retry_failed(self, request, exit_code):
            return None

    agent, seen, _ = make_agent(completion(tool_calls=[("shell", {"command": ["ls"]}, "k1")]),
                                approver=Approver())
    with pytest.raises(KeyboardInterrupt):
        agent.run("q")
    assert agent.history.messages[-1]["tool_call_id"] == "k1"
    assert of(seen, ev.TurnFailed)[0].message == "interrupted"


def test_history_events_replay_to_the_same_history(make_agent):
    agent, seen, _ = make_agent(completion(reasoning_content="x"),
                                completion(tool_calls=[("shell", {"command": ["true"]})]), completion("y"))
    agent.run("q")
    replay: list[dict] = []
    for e in seen:
        if isinstance(e, ev.HistoryAppend):
            replay.append(e.message)
        elif isinstance(e, ev.HistoryRewind):
            del replay[e.length:]
    assert replay == agent.history.messages


def test_agents_md_from_repo_root_down_to_cwd(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "pkg").mkdir()
    (repo / "AGENTS.md").write_text("root rule")
    (repo / "pkg" / "AGENTS.md").write_text("pkg rule")
    home = tmp_path / "home"
    home.mkdir()
    (home / "AGENTS.md").write_text("my rule")
    files = find_agents_files(str(repo / "pkg"), str(home))
    assert files == [str(home / "AGENTS.md"), str(repo / "AGENTS.md"), str(repo / "pkg" / "AGENTS.md")]
    text = build_instructions(str(repo / "pkg"), str(home), 1000, files)
    assert text.index("my rule") < text.index("root rule") < text.index("pkg rule")
    assert "<environment_context>" in text
    capped = build_instructions(str(repo / "pkg"), str(home), 10, files)
    assert "my rule" in capped and "pkg rule" not in capped


def test_interrupt_during_the_retry_wait_is_a_failed_turn(server, tmp_path):
    server.reset()
    server.set_script([completion(reasoning_content="thinking only")])
    seen: list[ev.Event] = []

    def sleep(seconds):
        raise KeyboardInterrupt

    client = Client(Provider(id="t", base_url=server.base_url, request_max_retries=0))
    tools = ToolBox(cwd=str(tmp_path), emit=seen.append, shell=ShellSettings())
    agent = Agent(client, tools, "scripted", seen.append, retry=TurnPolicy(3, 30.0), sleep=sleep)
    with pytest.raises(KeyboardInterrupt):
        agent.run("q")
    assert of(seen, ev.Retry) and of(seen, ev.TurnFailed)[0].message == "interrupted"


# -- leaked tool calls: recovered, nudged, bounded -------------------------------------------------

def test_a_bare_json_call_runs_and_is_reported_as_recovered(make_agent, server, tmp_path):
    agent, seen, _ = make_agent(completion('{"name": "shell", "arguments": {"command": ["touch", "b.txt"]}}'),
                                completion("made it"))
    assert agent.run("make b.txt").ok
    assert (tmp_path / "b.txt").exists()
    [repair] = of(seen, ev.EnvelopeRepair)
    assert (repair.recovered, repair.nudged, repair.scrubbed) == ({"bare_json": 1}, {}, {})
    reply = server.chat_requests()[1]["messages"]
    assert reply[-2]["role"] == "assistant" and reply[-2]["content"] is None
    assert reply[-2]["tool_calls"][0]["function"]["name"] == "shell"


def test_a_leaked_call_to_an_unknown_tool_is_a_nudge_listing_the_tools(make_agent, server):
    agent, seen, _ = make_agent(completion('{"name": "get_weather", "arguments": {"city": "Berlin"}}'),
                                completion("I cannot check the weather."))
    assert agent.run("weather?").ok
    answer = server.chat_requests()[1]["messages"][-1]
    assert answer["role"] == "tool" and "no tool named 'get_weather'" in answer["content"]
    assert all(name in answer["content"] for name in ("shell", "apply_patch", "update_plan"))
    [repair] = of(seen, ev.EnvelopeRepair)
    assert (repair.recovered, repair.nudged) == ({}, {"bare_json": 1})


def test_nudges_are_bounded_then_the_turn_fails_with_one_line(make_agent, server):
    mention = completion("I will list the files. to=functions.shell")
    agent, seen, _ = make_agent(*[mention] * 4, completion("never reached"))
    result = agent.run("list the files")
    assert not result.ok and "\n" not in result.error
    assert "tool calls as text" in result.error and "3" in result.error
    assert len(server.chat_requests()) == 4  # three nudges sent, the fourth answer ends the turn
    called = {c["id"] for m in agent.history.messages for c in m.get("tool_calls") or []}
    answered = {m["tool_call_id"] for m in agent.history.messages if m.get("role") == "tool"}
    assert called == answered  # the history stays valid for a resume
    assert of(seen, ev.TurnFailed)[0].message == result.error
    assert sum(sum(r.nudged.values()) for r in of(seen, ev.EnvelopeRepair)) == 4


def test_a_nudge_then_a_good_call_completes_the_turn(make_agent, server, tmp_path):
    agent, seen, _ = make_agent(completion("to=functions.shell"),
                                completion('{"command": ["touch", "c.txt"]}'),
                                completion("done"))
    result = agent.run("make c.txt")
    assert result.ok and (tmp_path / "c.txt").exists()
    first_answer = server.chat_requests()[1]["messages"][-1]
    assert first_answer["role"] == "tool" and '{"command": ["bash", "-lc", "ls -la"]}' in first_answer["content"]


def test_a_fallback_after_a_compaction_rewinds_to_the_prompt_not_into_the_summary(make_agent, server, tmp_path):
    """Issue 17: compaction moves the running prompt; a fallback retry must drop its attempt from
    where the prompt is now (else the prompt is sent twice, or the summary is cut)."""
    from codex_lite.context_window import Window

    (tmp_path / "big.txt").write_text("a line of output\n" * 500)
    agent, seen, _ = make_agent(*[completion(tool_calls=[("shell", {"command": ["cat", "big.txt"]})])] * 3,
                                completion("first done"), completion(reasoning_content="thinking only"),
                                completion("second done"))
    server.set_window(10 ** 6, summary="SUMMARY: read big.txt three times")  # answers summary requests
    assert agent.run("read big.txt three times").ok
    agent.window_of = lambda model, lookup: Window(6000, "test")  # the next request is over 4,800
    assert agent.run("and now?").text == "second done"
    second = seen[seen.index(of(seen, ev.TurnStarted)[-1]):]
    assert [e.reason for e in of(second, ev.ContextCompacted)] == ["auto"]
    history = agent.history.messages
    assert history[1]["content"].startswith("Summary of the conversation so far")
    assert [m.get("content") for m in history].count("and now?") == 1
    assert history[-2:] == [{"role": "user", "content": "and now?"},
                            {"role": "assistant", "content": "second done"}]
