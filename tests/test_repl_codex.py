"""Issue 16 in the REPL under tmux: history across sessions (Up/Down, Ctrl-R), custom prompts with
Tab completion, `@` path completion, `/review`, `/undo` and `/diff` without git."""

from __future__ import annotations

import json
import time

import pytest
from scripted_server import completion
from support.cli import CODEX
from support.git import make_git_repo
from support.tmux import Tmux

pytestmark = pytest.mark.e2e


def _config(codex_home, litellm_proxy, extra: str = "") -> None:
    (codex_home / "config.toml").write_text(
        f'model = "scripted"\n{extra}\n[model_providers.litellm]\n'
        f'base_url = "{litellm_proxy.url}"\napi_key = "{litellm_proxy.master_key}"\n')


def _last_user(model) -> str:
    return [m for m in model.chat_requests()[-1]["messages"] if m["role"] == "user"][-1]["content"]


def _prompt_line(term: Tmux) -> str:
    lines = [line for line in term.screen().splitlines() if line.startswith(("› ", "> "))]
    return lines[-1] if lines else ""


def _wait_prompt_line(term: Tmux, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in _prompt_line(term):
        assert time.monotonic() < deadline, f"{text!r} not on the prompt line:\n{term.screen()}"
        time.sleep(0.1)


def test_history_across_sessions_up_down_ctrl_r_and_redaction(term, model, litellm_proxy, codex_home):
    _config(codex_home, litellm_proxy)
    key = litellm_proxy.master_key
    model.set_script([completion("A1"), completion("B2"), completion("C3")])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.type("first prompt alpha")
    term.wait_for("A1")
    term.type(f"second prompt beta with {key}")
    term.wait_for("B2")
    term.type("/quit")
    assert term.wait_dead() == "0"

    lines = [json.loads(line) for line in (codex_home / "history.jsonl").read_text().splitlines()]
    texts = [line["text"] for line in lines]
    assert texts[:2] == ["first prompt alpha", "second prompt beta with [redacted]"]
    assert all(set(line) == {"session_id", "ts", "text"} for line in lines)
    assert key not in (codex_home / "history.jsonl").read_text()

    # a new session: Up recalls the earlier session's prompts, newest first
    model.set_script([completion("again")])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.keys("Up")
    _wait_prompt_line(term, "/quit")
    term.keys("Up")
    _wait_prompt_line(term, "second prompt beta")
    term.keys("Up")
    _wait_prompt_line(term, "first prompt alpha")
    term.keys("Down")
    _wait_prompt_line(term, "second prompt beta")
    term.keys("C-u")
    # Ctrl-R searches backwards
    term.keys("C-r")
    time.sleep(0.3)
    term.tmux("send-keys", "-t", "main", "-l", "alph")
    term.wait_for("first prompt alpha")
    term.keys("Enter")  # accept the search result
    time.sleep(0.3)
    term.keys("Enter")  # send it
    term.wait_for("again")
    assert _last_user(model) == "first prompt alpha"


def test_history_persistence_none_writes_nothing(term, model, litellm_proxy, codex_home):
    _config(codex_home, litellm_proxy, '[history]\npersistence = "none"\n')
    model.set_script([completion("ok")])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.type("do not remember me")
    term.wait_for("ok")
    assert not (codex_home / "history.jsonl").exists()


def test_custom_prompt_tab_completion_and_arguments(term, model, litellm_proxy, codex_home):
    _config(codex_home, litellm_proxy)
    prompts = codex_home / "prompts"
    prompts.mkdir()
    (prompts / "fixbug.md").write_text('---\ndescription: "Fix a numbered bug"\nargument-hint: NUM FILE\n---\n'
                                       "Fix bug #$1 in $2. Arguments: $ARGUMENTS. Price: $$9\n")
    model.set_script([completion("fixed it")])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.tmux("send-keys", "-t", "main", "-l", "/fixb")
    term.wait_for("Fix a numbered bug")  # the menu shows the description
    term.keys("Tab")
    _wait_prompt_line(term, "/fixbug")
    term.keys("Escape")
    term.tmux("send-keys", "-t", "main", "-l", ' 42 "src/a b.py"')
    term.keys("Enter")
    term.wait_for("fixed it")
    assert _last_user(model) == "Fix bug #42 in src/a b.py. Arguments: 42 src/a b.py. Price: $9"


def test_at_completes_a_path_inserted_as_text(term, model, litellm_proxy, codex_home, git_repo):
    _config(codex_home, litellm_proxy)
    (git_repo / "deep" / "folder").mkdir(parents=True)
    (git_repo / "deep" / "folder" / "target_file.py").write_text("x = 1\n")
    (git_repo / "node_modules" / "target_pkg").mkdir(parents=True)
    model.set_script([completion("looked")])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.tmux("send-keys", "-t", "main", "-l", "look at @tgtfile")
    term.wait_for("deep/folder/target_file.py")
    assert "node_modules" not in term.screen()
    term.keys("Tab")
    _wait_prompt_line(term, "look at deep/folder/target_file.py")
    term.keys("Escape")
    term.keys("Enter")
    term.wait_for("looked")
    assert _last_user(model) == "look at deep/folder/target_file.py"


PATCH = "*** Begin Patch\n*** Update File: settings.conf\n@@\n-option x '1'\n+option x '2'\n*** End Patch"


def _patched_router(term, model, litellm_proxy, codex_home, tmp_path, *more):
    """A REPL in a folder without git (a router's /etc/config) after one turn that patched a file."""
    _config(codex_home, litellm_proxy)
    etc = tmp_path / "etc_config"
    etc.mkdir()
    (etc / "settings.conf").write_text("config main\noption x '1'\n")
    term.cwd = etc
    model.set_script([completion(tool_calls=[("apply_patch", {"input": PATCH})]), completion("changed x"),
                      *more])
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.type("set x to 2")
    term.wait_for("changed x")
    return etc


def test_undo_and_diff_without_git(term, model, litellm_proxy, codex_home, tmp_path):
    """/diff and /undo work from the snapshots where there is no repository."""
    etc = _patched_router(term, model, litellm_proxy, codex_home, tmp_path, completion("understood"))
    assert "option x '2'" in (etc / "settings.conf").read_text()
    term.type("/diff")
    term.wait_for("no git here")
    screen = term.screen(joined=True).split("/diff", 1)[1]
    assert "+option x '2'" in screen and "-option x '1'" in screen
    term.type("/undo")
    term.wait_for("Restore these 1 files?")
    screen = term.screen(joined=True)
    assert "shell commands" in screen and "covered" in screen
    term.type("y")
    term.wait_for("restored 1 files")
    assert (etc / "settings.conf").read_text() == "config main\noption x '1'\n"
    term.type("/undo")
    term.wait_for("nothing to undo")
    term.type("what happened?")
    term.wait_for("understood")
    messages = model.chat_requests()[-1]["messages"]
    assert any("undid the file changes" in str(m.get("content")) and "settings.conf" in str(m.get("content"))
               for m in messages)


def test_undo_declined_changes_nothing(term, model, litellm_proxy, codex_home, tmp_path):
    etc = _patched_router(term, model, litellm_proxy, codex_home, tmp_path)
    term.type("/undo")
    term.wait_for("Restore these 1 files?")
    term.type("n")
    term.wait_for("nothing was changed")
    assert (etc / "settings.conf").read_text() == "config main\noption x '2'\n"


def test_review_sends_the_git_diff_and_cannot_edit(term, model, litellm_proxy, codex_home, tmp_path):
    _config(codex_home, litellm_proxy)
    repo = make_git_repo(tmp_path / "reviewed")
    (repo / "calc.py").write_text("def add(a, b):\n    return a * b\n")
    term.cwd = repo
    edit = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a * b\n+    return a + b\n*** End Patch"
    model.set_script([completion(tool_calls=[("apply_patch", {"input": edit})]),
                      completion(tool_calls=[("shell", {"command": ["touch", "reviewer_was_here"]})]),
                      completion(tool_calls=[("shell", {"command": ["cat", "calc.py"]})]),
                      completion("[P1] calc.py:2 add multiplies instead of adding.")])
    term.start([*CODEX, "--ask-for-approval", "never"])  # even when nothing is ever asked
    term.wait_for("/help for commands")
    term.type("/review")
    term.wait_for("[P1] calc.py:2")
    request = model.chat_requests()[0]
    sent = [m for m in request["messages"] if m["role"] == "user"][-1]["content"]
    assert "+    return a * b" in sent and "-    return a - b" in sent and "Do not edit" in sent
    tools = [m["content"] for m in model.chat_requests()[3]["messages"] if m["role"] == "tool"]
    assert "read-only" in tools[0]
    assert "this is a review" in tools[1]
    assert "return a * b" in tools[2]  # reading still works
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a * b\n"  # untouched
    assert not (repo / "reviewer_was_here").exists()
    # after the review, patches work again
    model.set_script([completion(tool_calls=[("apply_patch", {"input": edit})]), completion("fixed")])
    term.type("fix it")
    term.wait_for("fixed")
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_review_without_changes_says_so(term, model, litellm_proxy, codex_home, git_repo):
    _config(codex_home, litellm_proxy)
    term.start(CODEX)
    term.wait_for("/help for commands")
    term.type("/review")
    term.wait_for("nothing to review")
    assert model.chat_requests() == []


@pytest.mark.parametrize("flags, policy, sandbox", [(["--yolo"], "never", "danger-full-access"),
                                                    (["--full-auto"], "on-request", "workspace-write"),
                                                    (["-a", "untrusted", "-s", "read-only"], "untrusted",
                                                     "read-only")])
def test_repl_flags_set_the_session_policy(term, model, litellm_proxy, codex_home, flags, policy, sandbox):
    _config(codex_home, litellm_proxy, 'approval_policy = "on-failure"\n')
    term.start([*CODEX, *flags])
    term.wait_for("/help for commands")
    term.type("/status")
    screen = term.wait_for("telemetry")
    assert f"approvals  {policy}" in screen and f"sandbox    {sandbox}" in screen
