"""Issue 16, Codex's interface through the real CLI: -a/-s/--full-auto/--yolo, exec --color and
--output-schema, `codex-lite completion`, and exec on a device without git."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from support.cli import REPO_ROOT, cli_env, run_codex
from scripted_server import completion

pytestmark = pytest.mark.e2e

BASE = ("-m", "scripted", "-c", "retry.wait_seconds=0")


def exec_run(run_cli, *args: str, **kwargs):
    return run_cli("exec", *BASE, *args, **kwargs)


def no_traceback(r) -> None:
    assert "Traceback" not in r.output, r.describe()


# --------------------------------------------------------------------------- -a / -s / --yolo


ADD_FILE = "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** End Patch"


def test_sandbox_flag_read_only_refuses_patches(model, run_cli, git_repo):
    model.set_script([completion(tool_calls=[("apply_patch", {"input": ADD_FILE})]), completion("done")])
    r = exec_run(run_cli, "-s", "read-only", "add a file")
    assert r.returncode == 0, r.describe()
    assert not (git_repo / "new.txt").exists()
    tool = [m for m in model.chat_requests()[1]["messages"] if m["role"] == "tool"][0]
    assert "read-only" in tool["content"]


def test_sandbox_flag_given_before_the_command_too(model, run_cli, git_repo):
    model.set_script([completion(tool_calls=[("apply_patch", {"input": ADD_FILE})]), completion("done")])
    r = run_cli("-s", "read-only", "exec", *BASE, "add a file")
    assert r.returncode == 0, r.describe()
    assert not (git_repo / "new.txt").exists()


def test_yolo_lets_a_patch_write_outside_the_workspace(model, run_cli, git_repo, tmp_path):
    outside = tmp_path / "outside.txt"
    patch = f"*** Begin Patch\n*** Add File: {outside}\n+free\n*** End Patch"
    model.set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("done")])
    r = exec_run(run_cli, "--yolo", "write outside")
    assert r.returncode == 0, r.describe()
    assert outside.read_text() == "free\n"
    # and without it, the same patch is refused
    outside.unlink()
    model.set_script([completion(tool_calls=[("apply_patch", {"input": patch})]), completion("done")])
    r = exec_run(run_cli, "write outside")
    assert r.returncode == 0, r.describe()
    assert not outside.exists()


def test_exec_with_an_explicit_approval_policy_declines_what_it_would_ask(model, run_cli, git_repo):
    model.set_script([completion(tool_calls=[("shell", {"command": ["touch", "made.txt"]})]),
                      completion("could not")])
    r = exec_run(run_cli, "-a", "untrusted", "make a file")
    assert r.returncode == 0, r.describe()
    assert not (git_repo / "made.txt").exists()
    tool = [m for m in model.chat_requests()[1]["messages"] if m["role"] == "tool"][0]
    assert "no one to ask" in tool["content"]
    # a read-only command still runs
    model.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]), completion("listed")])
    r = exec_run(run_cli, "-a", "untrusted", "list")
    tool = [m for m in model.chat_requests()[-1]["messages"] if m["role"] == "tool"][0]
    assert "calc.py" in tool["content"], r.describe()


def test_full_auto_in_exec_still_runs_commands(model, run_cli, git_repo):
    model.set_script([completion(tool_calls=[("shell", {"command": ["touch", "made.txt"]})]), completion("ok")])
    r = exec_run(run_cli, "--full-auto", "make a file")
    assert r.returncode == 0, r.describe()
    assert (git_repo / "made.txt").exists()


@pytest.mark.parametrize("flags", [("--yolo", "--full-auto"), ("--yolo", "-s", "read-only"),
                                   ("--full-auto", "-a", "never"),
                                   ("--dangerously-bypass-approvals-and-sandbox", "-a", "never")])
def test_contradicting_flags_are_a_command_line_mistake(model, run_cli, flags):
    r = exec_run(run_cli, *flags, "hello")
    assert r.returncode == 2, r.describe()
    no_traceback(r)
    assert "cannot be combined" in r.stderr
    assert model.requests() == []


def test_bad_policy_value_names_the_choices(run_cli):
    r = run_cli("exec", "-a", "sometimes", "hello")
    assert r.returncode == 2
    assert "untrusted" in r.stderr and "never" in r.stderr


def test_help_lists_the_codex_flags(run_cli):
    top = run_cli("--help").stdout
    ex = run_cli("exec", "--help").stdout
    for text in (top, ex):
        for flag in ("--ask-for-approval", "--sandbox", "--full-auto", "--yolo",
                     "--dangerously-bypass-approvals-and-sandbox"):
            assert flag in text
    assert "--color" in ex and "--output-schema" in ex
    assert "undo" in top and "completion" in top


# --------------------------------------------------------------------------- exec --color


def test_color_always_colours_progress_even_in_a_pipe(model, run_cli):
    model.set_script([completion(tool_calls=[("shell", {"command": ["true"]})]), completion("fine")])
    r = exec_run(run_cli, "--color", "always", "go")
    assert r.returncode == 0, r.describe()
    assert "\x1b[" in r.stderr
    assert r.stdout.strip() == "fine"  # the answer itself stays plain
    model.set_script([completion(tool_calls=[("shell", {"command": ["true"]})]), completion("fine")])
    r = exec_run(run_cli, "--color", "never", "go")
    assert "\x1b[" not in r.stderr


# --------------------------------------------------------------------------- exec --output-schema


SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"},
                                           "status": {"type": "string", "enum": ["ok", "action_required"]}},
          "required": ["summary", "status"], "additionalProperties": False}


def test_output_schema_is_sent_and_a_matching_answer_passes(model, run_cli, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    answer = json.dumps({"summary": "all good", "status": "ok"})
    model.set_script([completion(answer)])
    r = exec_run(run_cli, "--output-schema", str(schema), "report")
    assert r.returncode == 0, r.describe()
    assert json.loads(r.stdout) == {"summary": "all good", "status": "ok"}
    body = model.chat_requests()[0]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA


@pytest.mark.parametrize("answer", ['{"summary": "x", "status": "maybe"}', "not json at all",
                                    '{"summary": "x"}'])
def test_output_schema_mismatch_fails_clearly(model, run_cli, tmp_path, answer):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    model.set_script([completion(answer)])
    r = exec_run(run_cli, "--output-schema", str(schema), "-o", str(tmp_path / "last.txt"), "report")
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "--output-schema" in r.stderr
    assert r.stdout == ""
    assert (tmp_path / "last.txt").read_text() == ""


def test_output_schema_file_problems_fail_before_any_request(model, run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path in (bad, tmp_path / "missing.json"):
        r = exec_run(run_cli, "--output-schema", str(path), "report")
        assert r.returncode == 1, r.describe()
        no_traceback(r)
        assert str(path) in r.stderr
    assert model.requests() == []


# --------------------------------------------------------------------------- completion


def _complete(shell: str, script: str, words: list[str]) -> list[str]:
    """What the shell's completion offers for the last word of `words` (a real bash, zsh or fish)."""
    cur, prev = words[-1], words[-2]
    if shell == "fish":
        program = f"{script}\ncomplete -C {json.dumps(' '.join(words))}"
        argv = ["fish", "--no-config", "-c", program]
    elif shell == "zsh":  # what _bash_complete does on Tab; zsh's own matching then keeps the prefix
        line = " ".join(json.dumps(w) for w in words)
        program = (f"autoload -U +X bashcompinit && bashcompinit\n{script}\nwords=({line}); "
                   f"CURRENT={len(words)}; COMP_WORDS=($words); COMP_CWORD={len(words) - 1}; "
                   f"compgen -F _codex_lite -- {json.dumps(cur)}")
        argv = ["zsh", "-f", "-c", program]
    else:  # what bash does on Tab: COMP_WORDS, COMP_CWORD, the function with command, word, previous
        line = " ".join(json.dumps(w) for w in words)
        call = f"COMPREPLY=(); _codex_lite codex-lite {json.dumps(cur)} {json.dumps(prev)}"
        program = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; {call}; "
                   "printf '%s\\n' \"${COMPREPLY[@]}\"")
        argv = ["bash", "-c", program]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    offered = [line.split("\t")[0] for line in out.stdout.splitlines() if line.strip()]
    return [w for w in offered if w.startswith(cur)]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_complete_commands_options_and_values(run_cli, shell):
    r = run_cli("completion", shell)
    assert r.returncode == 0, r.describe()
    script = r.stdout
    assert set(_complete(shell, script, ["codex-lite", "ex"])) == {"exec"}
    assert "--output-schema" in _complete(shell, script, ["codex-lite", "exec", "--out"])
    assert _complete(shell, script, ["codex-lite", "exec", "-s", "w"]) == ["workspace-write"]
    assert set(_complete(shell, script, ["codex-lite", "--ask-for-approval", "on"])) == {"on-failure", "on-request"}
    assert {"bash", "zsh", "fish"} <= set(_complete(shell, script, ["codex-lite", "completion", ""]))
    assert "--yes" in _complete(shell, script, ["codex-lite", "undo", "--y"])


def test_completion_for_an_unknown_shell_is_a_usage_error(run_cli):
    r = run_cli("completion", "ash")
    assert r.returncode == 2
    assert "bash" in r.stderr


# --------------------------------------------------------------------------- exec without git


def _path_without_git(tmp_path) -> str:
    """PATH with python and the usual tools but no git (a device that has none)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("sh", "ls", "cat", "true", "touch"):
        for d in os.environ["PATH"].split(os.pathsep):
            src = os.path.join(d, name)
            if os.path.isfile(src):
                os.symlink(src, folder / name)
                break
    return str(folder)


def test_exec_on_a_device_without_git_says_so_and_how(model, litellm_proxy, codex_home, tmp_path):
    plain = tmp_path / "etc_config"
    plain.mkdir()
    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, codex_home,
                  {"PATH": _path_without_git(tmp_path)})
    model.set_script([completion("ran")])
    r = run_codex(["exec", *BASE, "hello"], cwd=plain, env=env)
    assert r.returncode == 1, r.describe()
    no_traceback(r)
    assert "git is not installed" in r.stderr
    assert "--skip-git-repo-check" in r.stderr and "require_git = false" in r.stderr
    assert model.requests() == []
    # [exec] require_git = false in config.toml lets it run
    (codex_home / "config.toml").write_text("[exec]\nrequire_git = false\n")
    r = run_codex(["exec", *BASE, "hello"], cwd=plain, env=env)
    assert r.returncode == 0, r.describe()
    assert r.stdout.strip() == "ran"


def test_exec_outside_a_repository_with_git_installed_keeps_its_message(model, run_cli, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    r = exec_run(run_cli, "hello", cwd=plain)
    assert r.returncode == 1
    assert "not inside a git repository" in r.stderr and "require_git" in r.stderr


def test_readme_documents_the_new_commands():
    text = (REPO_ROOT / "README.md").read_text()
    for needle in ("--output-schema", "--yolo", "completion bash", "codex-lite undo", "history.jsonl",
                   "prompts/", "notify", "require_git"):
        assert needle in text, needle
