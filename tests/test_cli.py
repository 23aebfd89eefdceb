"""The command line itself: what each path imports, --version, --help, argument routing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from codex_lite import __version__
from codex_lite.cli import _command_of, _rewrite_exec_resume, _split_repl_prompt, build_parser
from scripted_server import ScriptedServer, completion


def imported(args, env=None, cwd=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -X importtime -m codex_lite ARGS`; the names of every module it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "codex_lite", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return proc, names


def test_version_is_fast_and_imports_next_to_nothing():
    proc, names = imported(["--version"])
    assert proc.stdout.strip() == f"codex-lite {__version__}"
    ours = {n for n in names if n.startswith("codex_lite")}
    assert ours == {"codex_lite", "codex_lite.cli"}
    assert not names & {"argparse", "json", "urllib3", "tomllib", "prompt_toolkit"}


def test_exec_turn_never_imports_prompt_toolkit(tmp_path):
    """Nor the TOML parser when there is no config.toml and no -c, nor the standard dataclasses
    (codex_lite.records): each costs tens of milliseconds on a router's CPU."""
    server = ScriptedServer().start()
    try:
        server.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]), completion("done")])
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        env = {**os.environ, "CODEX_HOME": str(tmp_path / "home"), "LITELLM_BASE_URL": server.url,
               "LITELLM_API_KEY": "sk-test"}
        proc, names = imported(["exec", "-m", "scripted", "list files"], env=env, cwd=tmp_path)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "codex_lite.agent" in names and "urllib3" in names
    assert not {n for n in names if n.startswith("prompt_toolkit")}
    assert "codex_lite.repl" not in names and "codex_lite.onboarding" not in names
    assert not names & {"tomllib", "tomli", "dataclasses", "inspect"}


def test_help_names_every_command_and_exec_option():
    proc = subprocess.run([sys.executable, "-m", "codex_lite", "--help"], capture_output=True, text=True,
                          timeout=60)
    for word in ("exec", "resume", "stats", "--model", "--config", "--profile", "--cd", "--telemetry"):
        assert word in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "codex_lite", "exec", "--help"], capture_output=True,
                          text=True, timeout=60)
    for word in ("--json", "--output-last-message", "--skip-git-repo-check", "--cd", "stdin"):
        assert word in proc.stdout


@pytest.mark.parametrize("argv, command, prompt", [
    (["exec", "hi"], "exec", "hi"),
    (["fix the bug"], None, "fix the bug"),
    (["-m", "x", "fix it"], None, "fix it"),
    (["-m", "x", "exec", "--json", "hi"], "exec", "hi"),
    (["resume", "--last"], "resume", None),
])
def test_routing(argv, command, prompt):
    rest, repl_prompt = _split_repl_prompt(_rewrite_exec_resume(argv))
    args = build_parser().parse_args(rest)
    assert args.command == command
    assert (args.prompt if command else repl_prompt) == prompt


@pytest.mark.parametrize("argv", [
    ["exec", "--json", "-m", "x", "-o", "out.txt", "hi"], ["-p", "small", "exec", "-C", "/tmp", "hi"],
    ["exec", "--resume-last", "go on"], ["stats", "--json"], ["resume", "--last"], ["resume", "abc", "go"],
    ["-m", "exec", "fix it"], ["fix it"], [],
])
def test_the_parser_of_one_command_reads_like_the_whole(argv):
    """main() builds only the options of the command it runs: the result must not change."""
    rest, _ = _split_repl_prompt(argv)
    assert vars(build_parser(_command_of(rest)).parse_args(rest)) == vars(build_parser().parse_args(rest))


def test_exec_resume_forms():
    assert _rewrite_exec_resume(["exec", "resume", "--last", "go on"]) == ["exec", "--resume-last", "go on"]
    assert _rewrite_exec_resume(["exec", "resume", "abc", "go"]) == ["exec", "--resume-id", "abc", "go"]
    assert _rewrite_exec_resume(["exec", "--json", "resume this"]) == ["exec", "--json", "resume this"]


def test_unknown_flag_is_a_usage_error_not_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "codex_lite", "exec", "--nope"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "unrecognized arguments: --nope" in proc.stderr
    assert "Traceback" not in proc.stderr
