"""End to end: the real `codex-lite exec` (a subprocess) -> a real LiteLLM proxy -> the scripted model.

Each test scripts what "the model" answers, runs the CLI in a scratch git repo, and checks what the
user sees (stdout/stderr/JSONL, exit code), what really happened on disk, and what the agent sent
back to the model (tool results, tool_call_ids, the retry transcript).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from support.cli import cli_env
from scripted_server import completion, delayed, html_error, make_usage, rate_limited

pytestmark = pytest.mark.e2e

MODEL_ARGS = ("-m", "scripted")
FAST = ("-c", "retry.wait_seconds=0")
TOOL_NAMES = {"shell", "apply_patch", "update_plan"}


@pytest.fixture
def exec_cli(run_cli):
    """exec_cli(*args, json=True, **run_kwargs): `codex-lite exec [--json] -m scripted -c retry.wait_seconds=0 ARGS`."""
    def run(*args: str, json: bool = True, **kwargs):
        flags = ["exec", *(["--json"] if json else []), *MODEL_ARGS, *FAST]
        return run_cli(*flags, *args, **kwargs)
    return run


def assert_clean_jsonl(result) -> None:
    """Every stdout line is one JSON object in the `codex exec --json` shape."""
    assert not result.bad_lines, f"non-JSON lines on stdout:\n{result.bad_lines}\n{result.describe()}"
    assert result.events, result.describe()
    types = result.types()
    assert types[0] == "thread.started" and result.events[0].get("thread_id"), types
    assert types[1] == "turn.started", types
    assert types[-1] in ("turn.completed", "turn.failed"), types
    known = {"thread.started", "turn.started", "item.started", "item.updated", "item.completed",
             "turn.completed", "turn.failed"}
    assert set(types) <= known, types
    completed_ids = [i.get("id") for i in result.items()]
    assert all(completed_ids) and len(completed_ids) == len(set(completed_ids)), completed_ids
    started_ids = [i.get("id") for i in result.items(phase="item.started")]
    assert set(started_ids) <= set(completed_ids), "an item.started was never completed"
    for item in result.items():
        assert item.get("type") in {"agent_message", "reasoning", "command_execution", "file_change",
                                    "todo_list", "error", "mcp_tool_call", "web_search"}, item
    if types[-1] == "turn.completed":
        usage = result.events[-1]["usage"]
        assert all(isinstance(usage[k], int) for k in ("input_tokens", "cached_input_tokens", "output_tokens"))
    else:
        assert result.events[-1]["error"]["message"]


def no_traceback(result) -> None:
    assert "Traceback (most recent call last)" not in result.output, result.describe()


def final_text(result) -> str:
    msgs = result.items("agent_message")
    assert msgs, result.describe()
    return msgs[-1]["text"]


def tool_messages(body: dict) -> list[dict]:
    return [m for m in body["messages"] if m.get("role") == "tool"]


# --------------------------------------------------------------------------- structured tool calls


def test_one_structured_tool_call(model, exec_cli, litellm_proxy):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["cat", "calc.py"]}, "call_cat")]),
        completion("calc.add subtracts instead of adding."),
    ])
    r = exec_cli("what does calc.py do?")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    no_traceback(r)
    [cmd] = r.items("command_execution")
    assert "cat" in cmd["command"] and "calc.py" in cmd["command"]
    assert cmd["exit_code"] == 0 and cmd["status"] == "completed"
    assert "return a - b" in cmd["aggregated_output"]
    assert final_text(r) == "calc.add subtracts instead of adding."

    first, second = model.chat_requests()
    assert first.get("stream") in (None, False)  # LiteLLM drops "stream": false; true would reach us
    assert TOOL_NAMES <= {t["function"]["name"] for t in first["tools"]}
    assert first["tool_choice"] == "auto"
    assert first["model"] == "scripted"
    assert any(m["role"] == "user" and "what does calc.py do?" in str(m["content"]) for m in first["messages"])
    [result] = tool_messages(second)
    assert result["tool_call_id"] == "call_cat"
    payload = json.loads(result["content"])
    assert "return a - b" in payload["output"]
    assert payload["metadata"]["exit_code"] == 0
    assert isinstance(payload["metadata"]["duration_seconds"], (int, float))
    # the assistant message with the call is replayed before its result
    calls = [m for m in second["messages"] if m.get("role") == "assistant" and m.get("tool_calls")]
    assert [c["id"] for c in calls[-1]["tool_calls"]] == ["call_cat"]
    assert model.requests()[0]["headers"]["authorization"] == "Bearer " + litellm_proxy.upstream_key


def test_several_tool_calls_in_one_message(model, exec_cli, git_repo):
    model.set_script([
        completion(tool_calls=[
            ("shell", {"command": ["cat", "notes.txt"]}, "call_a"),
            ("shell", {"command": ["sh", "-c", "echo made > made.txt"]}, "call_b"),
            ("shell", {"command": ["false"]}, "call_c"),
        ]),
        completion("Three commands ran."),
    ])
    r = exec_cli("run three things")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert (git_repo / "made.txt").read_text() == "made\n"
    cmds = r.items("command_execution")
    assert [c["exit_code"] for c in cmds] == [0, 0, 1]
    assert cmds[2]["status"] in ("failed", "completed")

    second = model.chat_requests()[1]
    msgs = second["messages"]
    results = tool_messages(second)
    assert [m["tool_call_id"] for m in results] == ["call_a", "call_b", "call_c"]
    assert "second line" in json.loads(results[0]["content"])["output"]
    assert json.loads(results[2]["content"])["metadata"]["exit_code"] == 1
    # one assistant message with all calls, directly followed by all results
    idx = next(i for i, m in enumerate(msgs) if m.get("role") == "assistant" and m.get("tool_calls"))
    assert [c["id"] for c in msgs[idx]["tool_calls"]] == ["call_a", "call_b", "call_c"]
    assert [m.get("role") for m in msgs[idx + 1: idx + 4]] == ["tool", "tool", "tool"]


def test_human_mode_answer_on_stdout_progress_on_stderr(model, exec_cli):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["ls"]})], reasoning_content="Let me look around."),
        completion("The repo has three files."),
    ])
    r = exec_cli("list the repo", json=False)
    assert r.returncode == 0, r.describe()
    no_traceback(r)
    assert r.stdout.strip() == "The repo has three files."
    assert "ls" in r.stderr


def test_wire_format_without_the_proxy(model, exec_cli, proxy_key):
    """Straight at the scripted server (no LiteLLM in between, which drops "stream": false)."""
    model.set_script([completion("direct")])
    r = exec_cli("-c", "model_reasoning_effort=high", "hello", base_url=model.url)
    assert r.returncode == 0, r.describe()
    assert final_text(r) == "direct"
    [req] = model.requests()
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer " + proxy_key
    body = req["body"]
    assert body["stream"] is False
    assert body["model"] == "scripted"
    assert body["tool_choice"] == "auto"
    assert body["reasoning_effort"] == "high"
    for tool in body["tools"]:
        assert tool["type"] == "function" and tool["function"]["name"] and "parameters" in tool["function"]
    assert TOOL_NAMES <= {t["function"]["name"] for t in body["tools"]}


def test_reasoning_effort_reaches_the_model_through_litellm(model, exec_cli):
    model.set_script([completion("ok")])
    r = exec_cli("-c", "model_reasoning_effort=low", "hello")
    assert r.returncode == 0, r.describe()
    assert model.chat_requests()[0]["reasoning_effort"] == "low"


REASONING_SHAPES = {
    "message.reasoning_content": lambda t: completion("answer", reasoning_content=t),
    "message.reasoning": lambda t: completion("answer", reasoning=t),
    "choice.reasoning_content": lambda t: {**completion("answer"), "choices": [
        {"index": 0, "finish_reason": "stop", "reasoning_content": t,
         "message": {"role": "assistant", "content": "answer"}}]},
    "thinking_blocks": lambda t: completion("answer", message_extra={
        "thinking_blocks": [{"type": "thinking", "thinking": t}]}),
}


@pytest.mark.parametrize("shape", list(REASONING_SHAPES))
def test_reasoning_in_every_place_litellm_may_put_it(model, exec_cli, shape):
    model.set_script([REASONING_SHAPES[shape]("I weigh the options carefully.")])
    r = exec_cli("think")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert [i["text"] for i in r.items("reasoning")] == ["I weigh the options carefully."], r.describe()
    assert final_text(r) == "answer"


def test_usage_is_summed_over_the_turn(model, exec_cli):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["true"]})],
                   usage=make_usage(100, 20, cached_tokens=64, reasoning_tokens=12)),
        completion("ok", usage=make_usage(150, 10, cached_tokens=100)),
    ])
    r = exec_cli("go")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert r.events[-1]["usage"] == {"input_tokens": 250, "cached_input_tokens": 164, "output_tokens": 30}


def test_update_plan_becomes_a_todo_list(model, exec_cli):
    plan = {"plan": [{"step": "read calc.py", "status": "completed"},
                     {"step": "fix add", "status": "in_progress"}], "explanation": "two steps"}
    model.set_script([completion(tool_calls=[("update_plan", plan)]), completion("planned")])
    r = exec_cli("plan it")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    [todo] = r.items("todo_list")
    assert todo["items"] == [{"text": "read calc.py", "completed": True}, {"text": "fix add", "completed": False}]
    assert len(tool_messages(model.chat_requests()[1])) == 1


# --------------------------------------------------------------------------- leaked harmony envelopes


ENVELOPE = ('<|channel|>commentary to=functions.shell <|constrain|>json<|message|>'
            '{"command":["touch","from_envelope.txt"]}<|call|>')


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_harmony_envelope_in_content_runs_the_command(model, exec_cli, git_repo, json_mode):
    model.set_script([completion(ENVELOPE), completion("<|channel|>final<|message|>Created the file.<|return|>")])
    r = exec_cli("make a file", json=json_mode)
    assert r.returncode == 0, r.describe()
    no_traceback(r)
    assert (git_repo / "from_envelope.txt").exists(), r.describe()
    assert "<|" not in r.stdout and "<|" not in r.stderr, r.describe()
    if json_mode:
        assert_clean_jsonl(r)
        [cmd] = r.items("command_execution")
        assert cmd["exit_code"] == 0
        assert final_text(r) == "Created the file."
    else:
        assert r.stdout.strip() == "Created the file."
    # the model hears back about the recovered call
    second = model.chat_requests()[1]
    assert len(second["messages"]) > len(model.chat_requests()[0]["messages"])
    assert "exit_code" in json.dumps(second["messages"][-1])


def test_harmony_envelope_in_reasoning_only(model, exec_cli, git_repo):
    reasoning = ("<|channel|>analysis<|message|>I should create the file.<|end|>"
                 "<|start|>assistant<|channel|>commentary to=functions.shell <|constrain|>json<|message|>"
                 '{"command":["touch","from_reasoning.txt"]}<|call|>')
    model.set_script([completion(None, reasoning_content=reasoning), completion("Done.")])
    r = exec_cli("make a file")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert (git_repo / "from_reasoning.txt").exists(), r.describe()
    assert "<|" not in r.stdout and "<|" not in r.stderr
    assert [c["exit_code"] for c in r.items("command_execution")] == [0]
    assert final_text(r) == "Done."


def test_harmony_envelope_with_arguments_variants(model, exec_cli, git_repo):
    # `cmd` for `command`, a string instead of an argv list, content type glued to the name
    env = ('<|channel|>commentary to=functions.shell<|constrain|>json<|message|>'
           '{"cmd":"touch variant.txt","timeout":10}<|call|>')
    model.set_script([completion(env), completion("ok")])
    r = exec_cli("variant")
    assert r.returncode == 0, r.describe()
    assert (git_repo / "variant.txt").exists(), r.describe()
    assert "<|" not in r.stdout


def test_two_envelopes_in_one_message_both_run(model, exec_cli, git_repo):
    two = ('<|channel|>commentary to=functions.shell <|constrain|>json<|message|>'
           '{"command":["touch","one.txt"]}<|call|>'
           '<|start|>assistant<|channel|>commentary to=functions.shell <|constrain|>json<|message|>'
           '{"command":["touch","two.txt"]}<|call|>')
    model.set_script([completion(two), completion("Both made.")])
    r = exec_cli("make two files")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert (git_repo / "one.txt").exists() and (git_repo / "two.txt").exists(), r.describe()
    assert len(r.items("command_execution")) == 2
    assert "<|" not in r.stdout


def test_apply_patch_through_an_envelope(model, exec_cli, git_repo):
    env = ('<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>'
           + json.dumps({"input": PATCH}) + '<|call|>')
    model.set_script([completion(env), completion("Patched.")])
    r = exec_cli("fix it")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert (git_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n", r.describe()
    assert [c["status"] for c in r.items("file_change")] == ["completed"]
    assert "<|" not in r.stdout


# --------------------------------------------------------------------------- shell limits


def test_shell_timeout_kills_the_command_and_the_turn_goes_on(model, exec_cli):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["sh", "-c", "sleep 30 & sleep 30"], "timeout_ms": 500},
                                "call_slow")]),
        completion("It timed out."),
    ])
    t0 = time.monotonic()
    r = exec_cli("run something slow")
    assert time.monotonic() - t0 < 20, r.describe()
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    [cmd] = r.items("command_execution")
    assert cmd["exit_code"] != 0
    [result] = tool_messages(model.chat_requests()[1])
    assert result["tool_call_id"] == "call_slow"
    assert "time" in result["content"].lower()  # the model is told it timed out


def _interrupt_while(model, litellm_proxy, codex_home, git_repo, until, script):
    """Start exec, wait until `until()` is true (bounded), send SIGINT to its process group like a
    terminal's Ctrl-C, and return (exit code, seconds to exit, stdout, stderr)."""
    model.set_script(script)
    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, codex_home)
    proc = subprocess.Popen([sys.executable, "-m", "codex_lite", "exec", *MODEL_ARGS, *FAST, "go"],
                            cwd=git_repo, env=env, text=True, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not until() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert until(), "the CLI never got to the point to interrupt"
        time.sleep(0.3)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        return proc.returncode, time.monotonic() - t0, out, err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def test_ctrl_c_stops_a_running_command(model, litellm_proxy, codex_home, git_repo):
    marker = git_repo / "started.txt"
    script = [completion(tool_calls=[("shell", {"command": ["sh", "-c", "touch started.txt; exec sleep 47.5"]})]),
              completion("should not be needed")]
    code, took, _out, err = _interrupt_while(model, litellm_proxy, codex_home, git_repo, marker.exists, script)
    assert took < 10, err
    assert code != 0 and "Traceback" not in err, err
    ps = subprocess.run(["ps", "-eo", "args"], check=False, capture_output=True, text=True, timeout=10).stdout
    assert "sleep 47.5" not in ps  # the command's process group died with it


def test_ctrl_c_stops_a_waiting_request(model, litellm_proxy, codex_home, git_repo):
    script = [delayed(60, completion("too late"))]
    code, took, out, err = _interrupt_while(model, litellm_proxy, codex_home, git_repo,
                                            lambda: len(model.chat_requests()) >= 1, script)
    assert took < 10, err
    assert code != 0 and "Traceback" not in err, err
    assert "too late" not in out


# --------------------------------------------------------------------------- apply_patch


PATCH = """*** Begin Patch
*** Update File: calc.py
@@
 def add(a, b):
-    return a - b
+    return a + b
*** Update File: notes.txt
@@
 first line
-second line
+second line, patched
*** End Patch"""


@pytest.mark.parametrize("how", ["tool", "shell-argv", "bash-heredoc"])
def test_patch_edits_two_files(model, exec_cli, git_repo, how):
    if how == "tool":
        call = ("apply_patch", {"input": PATCH})
    elif how == "shell-argv":
        call = ("shell", {"command": ["apply_patch", PATCH]})
    else:
        call = ("shell", {"command": ["bash", "-lc", f"apply_patch <<'EOF'\n{PATCH}\nEOF\n"]})
    model.set_script([completion(tool_calls=[call]), completion("Fixed add and patched the notes.")])
    r = exec_cli("fix calc.add")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    no_traceback(r)
    assert (git_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (git_repo / "notes.txt").read_text() == "first line\nsecond line, patched\n"
    [change] = r.items("file_change")
    assert change["status"] == "completed"
    assert sorted((c["path"].rsplit("/", 1)[-1], c["kind"]) for c in change["changes"]) == [
        ("calc.py", "update"), ("notes.txt", "update")]
    assert len(tool_messages(model.chat_requests()[1])) == 1


def test_bad_patch_changes_nothing_and_tells_the_model(model, exec_cli, git_repo):
    bad = PATCH.replace("second line\n+", "no such line\n+")
    model.set_script([completion(tool_calls=[("apply_patch", {"input": bad}, "call_p")]), completion("I failed.")])
    r = exec_cli("patch")
    assert r.returncode == 0, r.describe()
    assert (git_repo / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"  # all or nothing
    [result] = tool_messages(model.chat_requests()[1])
    assert result["tool_call_id"] == "call_p"
    assert "notes.txt" in result["content"]


# --------------------------------------------------------------------------- fallback turns (exec retry)


def reasoning_only(text: str = "Thinking about it...") -> dict:
    return completion(None, reasoning_content=text)


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_reasoning_only_turns_recover_on_attempt_3(model, exec_cli, json_mode):
    model.set_script([reasoning_only("first try"), reasoning_only("second try"), completion("Third time lucky.")])
    r = exec_cli("-c", "retry.max_attempts=5", "answer me", json=json_mode)
    assert r.returncode == 0, r.describe()
    no_traceback(r)
    reqs = model.chat_requests()
    assert len(reqs) == 3
    # no tools ran: each attempt resends the prompt, the partial transcript is thrown away
    assert reqs[2]["messages"] == reqs[0]["messages"]
    if json_mode:
        assert_clean_jsonl(r)
        assert len(r.items("error")) == 2, r.describe()
        assert final_text(r) == "Third time lucky."
        assert r.types()[-1] == "turn.completed"
    else:
        assert r.stdout.strip() == "Third time lucky."
        notices = [line for line in r.stderr.splitlines() if "retry" in line.lower()]
        assert len(notices) == 2, r.describe()


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_turns_that_never_recover_fail_after_5_attempts(model, exec_cli, json_mode):
    model.set_script([reasoning_only(f"try {i}") for i in range(1, 7)])
    t0 = time.monotonic()
    r = exec_cli("-c", "retry.max_attempts=5", "answer me", json=json_mode)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert len(model.chat_requests()) == 5
    if json_mode:
        assert_clean_jsonl(r)
        assert r.types()[-1] == "turn.failed"
        assert not r.items("agent_message")
    else:
        assert r.stdout.strip() == ""
        assert r.stderr.strip()


def test_fallback_after_tools_ran_keeps_history_and_nudges(model, exec_cli, git_repo):
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["sh", "-c", "echo x >> counter.txt"]}, "call_once")]),
        reasoning_only("I ran it, now what"),
        completion("Counter bumped once."),
    ])
    r = exec_cli("bump the counter")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert (git_repo / "counter.txt").read_text() == "x\n"  # not run again
    third = model.chat_requests()[2]
    assert [m["tool_call_id"] for m in tool_messages(third)] == ["call_once"]
    assert third["messages"][-1]["role"] == "user"  # the "continue and answer" nudge
    assert final_text(r) == "Counter bumped once."


def test_envelope_debris_only_is_a_fallback_turn(model, exec_cli):
    model.set_script([completion("<|start|>assistant<|channel|>analysis<|message|>hmm<|end|>"), completion("Fine.")])
    r = exec_cli("answer")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert final_text(r) == "Fine."
    assert "<|" not in r.stdout


# --------------------------------------------------------------------------- transport failures


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: nothing listens there


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_proxy_down(exec_cli, json_mode):
    url = f"http://127.0.0.1:{dead_port()}"
    t0 = time.monotonic()
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=1", "hello", json=json_mode, base_url=url)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert url.split("//")[1] in r.output, r.describe()
    if json_mode:
        assert_clean_jsonl(r)
        assert r.types()[-1] == "turn.failed"
        assert url.split("//")[1] in r.events[-1]["error"]["message"]


def test_429_with_retry_after_is_retried_by_the_client(model, exec_cli):
    model.set_script([rate_limited(1), completion("after the rate limit")])
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=3", "hello")
    assert r.returncode == 0, r.describe()
    assert_clean_jsonl(r)
    assert final_text(r) == "after the rate limit"
    assert len(model.chat_requests()) == 2


def test_429_retry_after_through_litellm_is_honoured(model, exec_cli):
    """LiteLLM renames the upstream's Retry-After to `llm_provider-retry-after` (tests/README.md)."""
    model.set_script([rate_limited(3), completion("waited")])
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=3", "hello")
    assert r.returncode == 0, r.describe()
    # the gap between the two upstream requests is what the server asked for
    times = model.request_times()
    assert len(times) == 2
    assert times[1] - times[0] >= 2.5, f"retried after {times[1] - times[0]:.2f}s, server asked 3s"


def test_429_without_retries_left_fails_clearly(model, exec_cli):
    model.set_script([rate_limited(1, "Rate limit reached for scripted")] * 2)
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=0", "hello", json=False)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "429" in r.stderr or "rate limit" in r.stderr.lower(), r.describe()
    assert len(model.chat_requests()) == 1


def test_slow_model_is_waited_for(model, exec_cli):
    model.set_script([delayed(2.5, completion("slow but fine"))])
    r = exec_cli("hello")
    assert r.returncode == 0, r.describe()
    assert final_text(r) == "slow but fine"
    assert len(model.chat_requests()) == 1  # not retried behind the model's back


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_500_html_page_gives_a_clear_message(model, exec_cli, json_mode):
    model.set_script([html_error(500)] * 3)
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=0", "hello", json=json_mode)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "500" in r.output, r.describe()
    low = r.output.lower()
    for html in ("<!doctype", "<html", "<h1>", "</body>", "<address>"):
        assert html not in low, r.describe()
    if json_mode:
        assert_clean_jsonl(r)
        assert r.types()[-1] == "turn.failed"


def test_500_then_success_is_retried(model, exec_cli):
    model.set_script([html_error(500), completion("recovered")])
    r = exec_cli("-c", "model_providers.litellm.request_max_retries=2", "hello")
    assert r.returncode == 0, r.describe()
    assert final_text(r) == "recovered"
    assert "<html" not in r.output.lower()


@pytest.mark.parametrize("json_mode", [True, False], ids=["jsonl", "human"])
def test_wrong_api_key(model, exec_cli, json_mode):
    secret = "sk-wrong-secret-key-9f8e7d6c5b4a"
    model.set_script([completion("never")])
    r = exec_cli("hello", json=json_mode, api_key=secret)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    low = r.output.lower()
    assert "401" in low or "auth" in low, r.describe()
    assert secret not in r.output
    assert secret[6:-6] not in r.output  # not even the middle of it
    assert model.requests() == []  # the proxy stopped it
    if json_mode:
        assert_clean_jsonl(r)
        assert r.types()[-1] == "turn.failed"


# --------------------------------------------------------------------------- CLI surface


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_with_or_without_v1(model, exec_cli, litellm_proxy, suffix):
    model.set_script([completion("reached")])
    r = exec_cli("hello", json=False, base_url=litellm_proxy.url + suffix)
    assert r.returncode == 0, r.describe()
    assert r.stdout.strip() == "reached"


def test_output_last_message_file(model, exec_cli, tmp_path):
    out = tmp_path / "last.txt"
    model.set_script([completion(tool_calls=[("shell", {"command": ["true"]})]), completion("The last message.")])
    r = exec_cli("-o", str(out), "say it", json=False)
    assert r.returncode == 0, r.describe()
    assert out.read_text().strip() == "The last message."


def test_refuses_to_run_outside_a_git_repo(model, exec_cli, tmp_path):
    plain = tmp_path / "not_a_repo"
    plain.mkdir()
    model.set_script([completion("ran outside")])
    r = exec_cli("hello", json=False, cwd=plain)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "git" in r.stderr.lower() and "--skip-git-repo-check" in r.stderr
    assert model.requests() == []
    r = exec_cli("--skip-git-repo-check", "hello", json=False, cwd=plain)
    assert r.returncode == 0, r.describe()
    assert r.stdout.strip() == "ran outside"


def test_cd_flag_and_prompt_from_stdin(model, exec_cli, git_repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    model.set_script([completion(tool_calls=[("shell", {"command": ["touch", "via_cd.txt"]})]), completion("ok")])
    r = exec_cli("-C", str(git_repo), "-", json=False, cwd=elsewhere, input="prompt from stdin\n")
    assert r.returncode == 0, r.describe()
    assert (git_repo / "via_cd.txt").exists()
    first = model.chat_requests()[0]
    assert any("prompt from stdin" in str(m.get("content")) for m in first["messages"])


def test_unknown_config_key_is_an_error_naming_it(model, exec_cli):
    r = exec_cli("-c", "retry.no_such_key=1", "hello", json=False)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "no_such_key" in r.stderr
    assert model.requests() == []
