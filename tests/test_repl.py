"""The REPL in process: prompt_toolkit reads from a pipe (the keys a user types), the screen goes to
a StringIO, the model is the scripted server. Each slash command and dialog is driven the way a
user would, and checked by what is on screen, on disk and what the model was sent."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from processes import pgroup_alive
from support.git import make_git_repo
from scripted_server import completion, make_usage

from codex_lite import cli, repl, rollout

CTRL_C, CTRL_D = "\x03", "\x04"


@pytest.fixture
def env(model, tmp_path, monkeypatch):
    return setup_env(model, tmp_path, monkeypatch)


def setup_env(model, tmp_path, monkeypatch) -> dict:
    """CODEX_HOME in tmp, the scripted server as the proxy (its root URL, as a user types it)."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(("LITELLM_", "CODEX_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CODEX_HOME", str(home))
    monkeypatch.setenv("LITELLM_BASE_URL", model.base_url.rsplit("/v1", 1)[0])
    monkeypatch.setenv("LITELLM_API_KEY", "sk-test")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    repo = make_git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    return {"home": home, "repo": repo, "model": model}


def run_repl(keys: str, *argv: str, plain: bool = False) -> tuple[int, str]:
    """Run `codex-lite ARGV` with `keys` typed; returns (exit code, screen text)."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    args = cli.build_parser().parse_args(["-m", "scripted", "-c", "retry.wait_seconds=0", *argv])
    out = io.StringIO()
    if plain:
        return repl.main(args, ui=repl.PlainUI(io.StringIO(keys), out), out=out), out.getvalue()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        pipe.close()  # end of input after the keys (like Ctrl-D), so a test cannot hang on a prompt
        with create_app_session(input=pipe, output=DummyOutput()):
            code = repl.main(args, ui=repl.PtkUI(), out=out)
    return code, out.getvalue()


def session_events(home: Path) -> list[dict]:
    path = rollout.find_session(str(home))
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_turn_with_command_approval(env):
    env["model"].set_script([
        completion(tool_calls=[("shell", {"command": ["touch", "made.txt"]}, "c1")]),
        completion("# Done\n- created `made.txt`"),
    ])
    code, screen = run_repl("make a file\ry\r/quit\r", "-c", "approval_policy=untrusted")
    assert code == 0, screen
    assert (env["repo"] / "made.txt").exists()
    assert "Allow this command?" in screen and "$ touch made.txt" in screen
    assert "don't ask again for" in screen and "/touch` with any other arguments" in screen.replace("\n  ", " ")
    assert "exit 0" in screen and "Done" in screen and "• created `made.txt`" in screen
    assert "<|" not in screen and '"tool_calls"' not in screen


def test_decline_with_feedback_and_always(env):
    env["model"].set_script([
        completion(tool_calls=[("shell", {"command": ["rm", "notes.txt"]}, "c1")]),
        completion(tool_calls=[("shell", {"command": ["touch", "a"]}, "c2")]),
        completion(tool_calls=[("shell", {"command": ["touch", "b"]}, "c3")]),
        completion("ok"),
    ])
    code, screen = run_repl("tidy up\rn\rkeep the notes\ra\r/quit\r", "-c", "approval_policy=untrusted")
    assert code == 0, screen
    assert (env["repo"] / "notes.txt").exists()
    assert (env["repo"] / "a").exists() and (env["repo"] / "b").exists()
    assert screen.count("Allow this command?") == 2  # `touch b` was remembered
    second = env["model"].chat_requests()[1]
    assert "keep the notes" in second["messages"][-1]["content"]


def test_patch_diff_is_shown_before_asking(env):
    patch = "*** Begin Patch\n*** Update File: calc.py\n@@\n def add(a, b):\n-    return a - b\n+    return a + b\n*** End Patch"
    env["model"].set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("fixed")])
    code, screen = run_repl("fix it\ry\r/quit\r", "-c", "approval_policy=untrusted")
    assert code == 0, screen
    ask = screen.index("Apply this patch?")
    assert screen.index("+    return a + b") > ask  # the patch text with the question
    assert "M calc.py" in screen
    assert (env["repo"] / "calc.py").read_text().endswith("return a + b\n")


def test_status_card(env):
    env["model"].set_script([completion("hello", usage=make_usage(120, 30, cached_tokens=100, reasoning_tokens=7))])
    code, screen = run_repl("hi\r/status\r/quit\r", "-c", "model_context_window=1000")
    assert code == 0, screen
    card = screen[screen.index("model      scripted"):]
    for row in ("provider", "reasoning", "approvals  on-request", "sandbox    workspace-write",
                "workdir", "AGENTS.md", "session", "telemetry", "memory     agent"):
        assert row in card, card
    assert "in 120 (cached 100), out 30 (reasoning 7)" in card
    assert "850 of 1,000 tokens left (85%); window from model_context_window in config; compacts past 800" \
        in " ".join(card.split()), card
    sid = session_events(env["home"])[0]["session_id"]
    assert sid in card
    assert "MB RSS" in card and "MB free" in card


def test_unknown_command_gets_a_hint(env):
    code, screen = run_repl("/stauts\r/help\r/exit\r")
    assert code == 0
    assert "Unknown command /stauts. Did you mean /status?" in screen
    assert "/compact" in screen and "/approvals" in screen


def test_model_picker_saves_config_and_records_the_selection(env):
    cfg = env["home"] / "config.toml"
    cfg.write_text("# my settings\nmodel = \"old\"  # keep this comment\n\n[retry]\nwait_seconds = 0\n")
    env["model"].set_script([completion("OK")])  # the test request
    code, screen = run_repl("/model\r1\r4\r/status\r/quit\r")
    assert code == 0, screen
    assert "Model (1 on the proxy):" in screen and "scripted" in screen
    assert "Reasoning effort:" in screen and "answered in" in screen
    text = cfg.read_text()
    assert text.startswith("# my settings\nmodel = \"scripted\"  # keep this comment\n")
    assert 'model_reasoning_effort = "medium"' in text and "[retry]\nwait_seconds = 0" in text
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    test_request = env["model"].chat_requests()[0]
    assert test_request["reasoning_effort"] == "medium" and "tools" not in test_request
    assert "reasoning  medium" in screen
    sel = [e for e in session_events(env["home"]) if e["event"] == "model_selection"]
    assert sel and sel[-1]["model"] == "scripted" and sel[-1]["source"] == "/model"


def test_approvals_command_changes_policy_and_sandbox(env):
    patch = "*** Begin Patch\n*** Add File: x.txt\n+x\n*** End Patch"
    env["model"].set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("no")])
    code, screen = run_repl("/approvals\runtrusted\r1\rwrite x\r/status\r/quit\r")
    assert code == 0, screen
    assert "approvals untrusted, sandbox read-only" in screen
    assert not (env["repo"] / "x.txt").exists()
    assert "read-only" in env["model"].chat_requests()[1]["messages"][-1]["content"]


def test_new_starts_a_fresh_session(env):
    env["model"].set_script([completion("one"), completion("two")])
    code, screen = run_repl("first\r/new\rsecond\r/quit\r")
    assert code == 0, screen
    assert len(rollout.list_sessions(str(env["home"]))) == 2
    second = env["model"].chat_requests()[1]
    assert not any("first" == m.get("content") for m in second["messages"])


def test_diff_includes_untracked_files(env):
    (env["repo"] / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (env["repo"] / "brand_new.txt").write_text("fresh\n")
    code, screen = run_repl("/diff\r/quit\r")
    assert code == 0, screen
    assert "-    return a - b" in screen and "+    return a + b" in screen
    assert "brand_new.txt" in screen and "+fresh" in screen


def test_compact_replaces_history_with_a_summary(env):
    env["model"].set_script([completion("answer one"), completion("SUMMARY: user asked one thing"),
                             completion("after compact")])
    code, screen = run_repl("question one\r/compact\rquestion two\r/quit\r")
    assert code == 0, screen
    assert "compacted" in screen
    third = env["model"].chat_requests()[2]
    roles = [m["role"] for m in third["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # the newest answer stays verbatim
    assert "SUMMARY: user asked one thing" in third["messages"][1]["content"]
    assert "question one" not in json.dumps(third["messages"])
    assert "tools" not in env["model"].chat_requests()[1]
    # the session file replays to the compacted history
    saved = rollout.load(rollout.find_session(str(env["home"])))
    assert [m["role"] for m in saved.history] == ["system", "user", "assistant", "user", "assistant"]


def test_init_writes_agents_md(env):
    patch = "*** Begin Patch\n*** Add File: AGENTS.md\n+# Repository Guidelines\n*** End Patch"
    env["model"].set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("Wrote it.")])
    code, screen = run_repl("/init\r/init\r/quit\r")
    assert code == 0, screen
    assert (env["repo"] / "AGENTS.md").read_text() == "# Repository Guidelines\n"
    assert "AGENTS.md" in env["model"].chat_requests()[0]["messages"][-1]["content"]
    assert "AGENTS.md already exists" in screen


def test_ctrl_c_twice_on_empty_prompt_exits_and_ctrl_c_clears_a_line(env):
    env["model"].set_script([completion("fine")])
    code, screen = run_repl("half typed" + CTRL_C + "real\r" + CTRL_C + CTRL_C)
    assert code == 0
    assert "fine" in screen and "Ctrl-C again" in screen
    assert env["model"].chat_requests()[0]["messages"][-1]["content"] == "real"


def test_ctrl_d_exits(env):
    code, _ = run_repl(CTRL_D)
    assert code == 0


def test_ctrl_c_during_a_command_kills_its_group_and_returns_to_the_prompt(env):
    pidfile = env["repo"] / "pid"
    script = f"echo $$ > {pidfile}; sleep 60 & sleep 60; wait"
    env["model"].set_script([completion(tool_calls=[("shell", {"command": ["sh", "-c", script]}, "long")]),
                             completion("after")])

    def interrupt() -> None:
        deadline = time.monotonic() + 20
        while not pidfile.exists() or not pidfile.read_text().strip():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    t0 = time.monotonic()
    code, screen = run_repl("run it\rnext\r/quit\r", "-c", "approval_policy=never")
    assert time.monotonic() - t0 < 30
    assert code == 0, screen
    assert "interrupted" in screen and "after" in screen
    assert not pgroup_alive(int(pidfile.read_text()))
    second = env["model"].chat_requests()[1]["messages"]
    assert any(m.get("tool_call_id") == "long" for m in second)  # the call was answered


def test_plain_input_without_prompt_toolkit(env):
    env["model"].set_script([completion(tool_calls=[("shell", {"command": ["touch", "p.txt"]})]),
                             completion("plain done")])
    code, screen = run_repl("go\ny\n/status\n/quit\n", "-c", "approval_policy=untrusted", plain=True)
    assert code == 0, screen
    assert (env["repo"] / "p.txt").exists() and "plain done" in screen and "session" in screen


def test_missing_prompt_toolkit_is_said_once(env, tmp_path):
    """A router without prompt_toolkit: a real process on a pseudo-terminal, the module blocked."""
    import pty

    code = ("import sys; sys.modules['prompt_toolkit'] = None; from codex_lite import cli; "
            "sys.exit(cli.main(['-m', 'scripted']))")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", code])
    screen = b""
    prompts = ("\n› ".encode(), b"\n> ")  # the plain prompt, in Unicode or ASCII
    try:
        screen = _read_until(fd, prompts, 20)
        assert any(p in screen for p in prompts), f"no prompt after the notice: {screen!r}"
        os.write(fd, b"/quit\n")
        screen += _read_until(fd, (b"\x00",), 5)  # until the REPL exits and the terminal closes
    finally:
        status = _reap_within(pid, 10)
    text = screen.decode(errors="replace")
    assert text.count("prompt_toolkit is not installed") == 1, text
    assert text.index("prompt_toolkit is not installed") < text.index("/help for commands")
    assert os.waitstatus_to_exitcode(status) == 0


def _reap_within(pid: int, seconds: float) -> int:
    """The child's wait status; killed first when it has not exited within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _read_until(fd: int, markers: tuple[bytes, ...], timeout: float) -> bytes:
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while not any(m in data for m in markers) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_resume_last_shows_the_earlier_turn_and_continues(env):
    env["model"].set_script([completion("the first answer"), completion("second answer")])
    run_repl("first question\r/quit\r")
    code, screen = run_repl("follow up\r/quit\r", "resume", "--last")
    assert code == 0, screen
    assert "resumed session" in screen
    assert "first question" in screen and "the first answer" in screen
    msgs = env["model"].chat_requests()[1]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == "the first answer" and msgs[3]["content"] == "follow up"
    assert len(rollout.list_sessions(str(env["home"]))) == 1  # appended to the same file


def test_resume_unknown_id_is_an_error(env):
    code, screen = run_repl("", "resume", "no-such-session")
    assert code == 1 and "not found" in screen


def test_exec_does_not_import_prompt_toolkit():
    code = ("import sys, codex_lite.cli, codex_lite.exec, codex_lite.session, codex_lite.rollout; "
            "assert 'prompt_toolkit' not in sys.modules, 'prompt_toolkit imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_wcwidth_tables_load_only_for_wide_characters():
    """The stand-in keeps wcwidth's tables out of memory until a non-ASCII character needs them,
    and then measures exactly like the real module."""
    code = (
        "import sys\n"
        "from codex_lite import repl\n"
        "repl.install_lazy_wcwidth()\n"
        "from prompt_toolkit.utils import get_cwidth\n"
        "assert get_cwidth('hello /status') == 13 and get_cwidth('› ') == 2\n"
        "assert getattr(sys.modules['wcwidth'], '__lazy_stub__', False), 'loaded too early'\n"
        "assert get_cwidth('漢字') == 4 and get_cwidth('\\u0301') == 0\n"
        "assert not getattr(sys.modules['wcwidth'], '__lazy_stub__', False)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_tab_completes_slash_commands(env):
    """Completion runs in the background, so the keys come at typing speed from a thread."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    args = cli.build_parser().parse_args(["-m", "scripted"])
    out = io.StringIO()

    def typist(pipe) -> None:
        for keys in ("/sta", "\t", "\r", "/ne", "\t", "\r", "/qu", "\t", "\r"):
            time.sleep(0.3)
            pipe.send_text(keys)
        time.sleep(0.3)
        pipe.close()

    with create_pipe_input() as pipe:
        threading.Thread(target=typist, args=(pipe,), daemon=True).start()
        with create_app_session(input=pipe, output=DummyOutput()):
            code = repl.main(args, ui=repl.PtkUI(), out=out)
    screen = out.getvalue()
    assert code == 0, screen
    assert "Unknown command" not in screen, screen
    assert "session" in screen and "telemetry" in screen  # /status ran
    assert screen.count("codex-lite 0.1.0") == 2  # /new ran (a second banner)


def test_fallback_turn_shows_a_toast_and_reasoning_never_envelopes(env):
    env["model"].set_script([
        completion("<|start|>assistant<|channel|>analysis<|message|>pondering<|end|>"),
        completion(None, reasoning_content="thinking hard about it"),
        completion("final words"),
    ])
    code, screen = run_repl("answer me\r/status\r/quit\r")
    assert code == 0, screen
    toasts = [line for line in screen.splitlines() if "retrying" in line]
    assert len(toasts) == 2, screen
    assert "thinking hard about it" in screen and "final words" in screen
    assert "<|" not in screen and "analysis" not in screen.replace("analysis)", "")
    assert "retries    2; turns retried 1, recovered 1" in screen


def test_ctrl_c_cancels_the_retry_wait(env):
    env["model"].set_script([completion(None, reasoning_content="only thoughts"), completion("never sent")])

    def interrupt() -> None:
        deadline = time.monotonic() + 20
        while not env["model"].chat_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    t0 = time.monotonic()
    args = cli.build_parser().parse_args(["-m", "scripted", "-c", "retry.wait_seconds=60"])
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("think\r/quit\r")
        with create_app_session(input=pipe, output=DummyOutput()):
            code = repl.main(args, ui=repl.PtkUI(), out=out)
    assert code == 0
    assert time.monotonic() - t0 < 30
    assert "Ctrl-C stops" in out.getvalue() and "interrupted" in out.getvalue()
    assert len(env["model"].chat_requests()) == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    from codex_lite import events as ev
    from codex_lite.render import Renderer

    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = FakeTerminal()
    Renderer(tty)(ev.TurnFailed(message="boom"))
    assert "\033[31m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    for out in (FakeTerminal(), io.StringIO()):
        Renderer(out)(ev.TurnFailed(message="boom"))
        assert "\033[" not in out.getvalue() and "error: boom" in out.getvalue()


def test_ctrl_c_at_the_approval_prompt_cancels_the_turn_cleanly(env):
    env["model"].set_script([completion(tool_calls=[("shell", {"command": ["touch", "no.txt"]}, "c1")]),
                             completion("next turn fine")])
    code, screen = run_repl("make it\r" + CTRL_C + "again\r/quit\r", "-c", "approval_policy=untrusted")
    assert code == 0, screen
    assert "interrupted" in screen and "next turn fine" in screen
    assert not (env["repo"] / "no.txt").exists()
    msgs = env["model"].chat_requests()[1]["messages"]
    assert [m.get("tool_call_id") for m in msgs if m["role"] == "tool"] == ["c1"]


def test_resume_without_an_id_offers_a_list(env):
    env["model"].set_script([completion("answer A"), completion("answer B"), completion("continued A")])
    run_repl("question A\r/quit\r")
    run_repl("question B\r/quit\r")
    older = rollout.list_sessions(str(env["home"]))[1]
    os.utime(older, (1, 1))
    code, screen = run_repl("2\rmore\r/quit\r", "resume")
    assert code == 0, screen
    assert "Resume which session?" in screen and "question B" in screen.split("Resume which")[1]
    assert "answer A" in screen
    msgs = env["model"].chat_requests()[2]["messages"]
    assert msgs[1]["content"] == "question A" and msgs[-1]["content"] == "more"


def test_the_repl_compacts_by_itself_and_says_so(env):
    """Issue 17: a window the conversation outgrows is compacted before the request, with one line
    (before: only a "context nearly full" hint, and the next request failed)."""
    (env["repo"] / "big.txt").write_text("a line of output that the model reads\n" * 220)
    env["model"].set_window(6000)
    env["model"].set_script([completion(tool_calls=[("shell", {"command": ["cat", "big.txt"]})])] * 4
                            + [completion("read it four times")])
    code, screen = run_repl("read big.txt four times\r/quit\r", "-c", "model_context_window=6000")
    assert code == 0, screen
    assert "context compacted (it neared the 4,800-token limit)" in " ".join(screen.split()), screen
    assert "read it four times" in screen
    assert all(env["model"].count_tokens(r) <= 6000 for r in env["model"].chat_requests())


def test_code_blocks_are_wrapped_not_cut():
    from codex_lite import events as ev
    from codex_lite.render import Renderer

    out = io.StringIO()
    Renderer(out, color=False, width=20)(ev.AgentMessage(text="```\n" + "x" * 30 + "END\n```", final=True))
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 20 for line in lines) and lines[-1].endswith("END")


def test_a_call_sent_as_text_is_recovered_with_a_note(env):
    env["model"].set_script([
        completion('{"name": "shell", "arguments": {"command": ["ls"]}}'),
        completion("I will look. to=functions.shell"),
        completion("made it"),
    ])
    code, screen = run_repl("list the files\r/quit\r")
    assert code == 0, screen
    assert "$ ls" in screen
    assert "recovered a tool call the model sent as text" in screen
    assert "the model sent a tool call as text that could not be run" in screen
    assert "to=" not in screen and "made it" in screen
