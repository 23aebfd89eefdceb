"""What a person is shown is what runs: control characters in commands, patches, model text and tool
output are drawn as visible escapes (`\\x1b`), never sent raw to the terminal, in the REPL (under
tmux, where a raw escape really moves the cursor) and in human `exec` output; `exec --json` stays
exact JSON.

Finding 4 of the trust-boundary issue: `touch x #ESC[2K\\r$ ls -la` showed as `$ ls -la` in the
approval dialog, and `ESC[3A ESC[J` in a patch line erased the lines above it.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from boundary_support import EXEC, EXEC_JSON, raw_controls, repl
from scripted_server import completion

pytestmark = pytest.mark.e2e

ERASE_LINE = "\x1b[2K\r"          # erase the line, back to column 0
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"  # write the user's clipboard
C1_CSI = "\x9b2J"                 # clear the screen with the 8-bit CSI
RLO = "\u202e"                    # right-to-left override: shows "txt.exe" as "exe.txt"
CLEAR = "\x1b[3A\x1b[J"           # three lines up, erase everything below


def hostile_turn(where: str) -> list[dict]:
    """A turn with control characters in one place: the command, its output, the model's reasoning,
    its plan, its preamble or its final answer."""
    command = ["echo", "ok"]
    reasoning, preamble, answer, plan = None, None, "the answer", None
    if where == "command":
        command = ["echo", f"safe{ERASE_LINE}$ ls -la"]
    elif where == "output":
        command = ["printf", "a\\033]52;c;cHduZWQ=\\007b\\033[2Kc\\r\\342\\200\\256d\\n"]
    elif where == "reasoning":
        reasoning = f"think {OSC_CLIPBOARD} hard {C1_CSI}"
    elif where == "preamble":
        preamble = f"I will run{ERASE_LINE}nothing"
    elif where == "answer":
        answer = f"done {C1_CSI}{RLO}gnp.exe\x07"
    elif where == "plan":
        plan = {"plan": [{"step": f"step{CLEAR}one", "status": "in_progress"}]}
    calls = [("shell", {"command": command}, "call_1")]
    if plan:
        calls.append(("update_plan", plan, "call_2"))
    return [completion(preamble, reasoning_content=reasoning, tool_calls=calls), completion(answer)]


WHERE = ["command", "output", "reasoning", "preamble", "answer", "plan"]


@pytest.mark.parametrize("where", WHERE)
def test_human_exec_output_shows_controls_as_text(where, model, run_cli):
    model.set_script(hostile_turn(where))

    r = run_cli(*EXEC, "go")

    assert r.returncode == 0, r.describe()
    assert raw_controls(r.stdout) == [] and raw_controls(r.stderr) == [], r.describe()
    assert "\\x1b" in r.output or "\\x9b" in r.output or "\\x07" in r.output, r.describe()


@pytest.mark.parametrize("where", WHERE)
def test_json_output_is_exact_and_terminal_safe(where, model, run_cli):
    turn = hostile_turn(where)
    model.set_script(turn)

    r = run_cli(*EXEC_JSON, "go")

    assert r.returncode == 0, r.describe()
    assert not r.bad_lines
    assert raw_controls(r.stdout) == []  # C1 and bidi characters are \u escapes too
    items = r.items()
    if where == "command":
        [cmd] = r.items("command_execution")
        assert f"safe{ERASE_LINE}$ ls -la" in cmd["command"]  # exact after json.loads
    elif where == "output":
        [cmd] = r.items("command_execution")
        assert f"a{OSC_CLIPBOARD}b\x1b[2Kc\r{RLO}d" in cmd["aggregated_output"]
    elif where == "reasoning":
        assert any(i["type"] == "reasoning" and i["text"] == f"think {OSC_CLIPBOARD} hard {C1_CSI}"
                   for i in items)
    elif where == "answer":
        assert items[-1] == {**items[-1], "type": "agent_message", "text": f"done {C1_CSI}{RLO}gnp.exe\x07"}
    elif where == "plan":
        todo = [e["item"] for e in r.events if e.get("item", {}).get("type") == "todo_list"]
        assert todo[0]["items"][0]["text"] == f"step{CLEAR}one"


# ---- the REPL in a real terminal ----------------------------------------------------------------


@pytest.fixture
def repl_term(litellm_proxy, codex_home, git_repo):
    """start(policy) -> a REPL at its prompt under tmux, with that approval policy."""
    with ExitStack() as stack:
        def start(policy: str = "on-request"):
            term = stack.enter_context(repl(litellm_proxy, codex_home, git_repo,
                                            f'approval_policy = "{policy}"'))
            term.wait_for("/help for commands")
            return term
        yield start


def dialog_then_no(term, prompt: str) -> str:
    """Type `prompt`, read the approval dialog it brings up, answer no without feedback; returns
    the screen as the dialog showed it."""
    term.type(prompt)
    screen = term.wait_for("[y/")
    term.type("n")
    term.wait_for("what should it do instead?")
    term.keys("Enter")
    term.wait_for("declined")
    return screen


def test_approval_dialog_shows_the_hidden_part_of_a_command(repl_term, model, git_repo):
    spoof = ["bash", "-lc", f"touch pwned #{ERASE_LINE}$ ls -la"]
    model.set_script([completion(tool_calls=[("shell", {"command": spoof})]), completion("declined")])
    screen = dialog_then_no(repl_term(), "list the files")
    assert "Allow this command?" in screen and "touch pwned" in screen, screen
    assert "\\x1b[2K" in screen, screen
    assert not (git_repo / "pwned").exists()


def test_patch_approval_cannot_erase_its_own_header(repl_term, model, git_repo):
    patch = f"*** Begin Patch\n*** Add File: pwned.txt\n+harmless{CLEAR}\n*** End Patch"
    model.set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("declined")])
    screen = dialog_then_no(repl_term(policy="untrusted"), "add a file")
    assert "Apply this patch?" in screen and "pwned.txt" in screen, screen
    assert "\\x1b[3A" in screen, screen
    assert not (git_repo / "pwned.txt").exists()


def test_model_text_and_tool_output_cannot_clear_the_screen(repl_term, model, git_repo):
    (git_repo / "evil.txt").write_text("line one\n\x1b[2J\x1b[Hfake prompt > \x1b]0;owned\x07\n")
    model.set_script([
        completion("first answer: MARKER-BEFORE"),
        completion(tool_calls=[("shell", {"command": ["cat", "evil.txt"]})]),
        completion(f"second {C1_CSI}\x1b[2J answer"),
    ])
    term = repl_term(policy="never")
    term.type("one")
    term.wait_for("MARKER-BEFORE")
    term.type("two")
    term.wait_for("second")
    screen = term.screen(joined=True)
    assert "MARKER-BEFORE" in screen, screen  # nothing was cleared
    assert "\\x1b[2J" in screen and "\\x9b2J" in screen, screen
    assert term.tmux("display-message", "-p", "-t", "main", "#{pane_title}").strip() != "owned"


def test_diff_shows_escapes_in_changed_files_and_runs_no_repository_program(repl_term, model, git_repo,
                                                                           tmp_path):
    """/diff draws the workspace's own changes: escapes in them are made visible, and the repository's
    config cannot make the diff start a program (diff.external, textconv, fsmonitor)."""
    sentinel = tmp_path / "ran.txt"
    with open(git_repo / ".git" / "config", "a") as f:
        f.write(f"[diff]\n\texternal = touch {sentinel}\n[core]\n\tfsmonitor = touch {sentinel}\n"
                f"\tpager = touch {sentinel}\n")
    (git_repo / ".gitattributes").write_text("*.txt diff=conv\n")
    with open(git_repo / ".git" / "config", "a") as f:
        f.write(f"[diff \"conv\"]\n\ttextconv = touch {sentinel};\n")
    (git_repo / "notes.txt").write_text(f"first line\nchanged{CLEAR} line\n")
    term = repl_term()
    term.type("/diff")
    screen = term.wait_for("changed")
    screen = term.screen(joined=True)
    assert "\\x1b[3A" in screen, screen
    assert not Path(sentinel).exists()
    json.dumps(screen)  # the screen text is plain text
