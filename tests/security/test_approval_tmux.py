"""Approval attacks in a real terminal: the REPL with prompt_toolkit under tmux, a person typing
"n" at each question (see approval_support.py for the pipe-driven bulk of the attacks)."""

from __future__ import annotations

import sys

import pytest
from approval_support import (
    ASK_COMMAND,
    ASK_PATCH,
    add_file,
    bash,
    outside_fixture,  # noqa: F401 - the `outside` fixture
    patch,
    shell,
    touch,
)
from scripted_server import completion

pytestmark = pytest.mark.e2e

CODEX = [sys.executable, "-m", "codex_lite", "-c", "retry.wait_seconds=0"]


@pytest.fixture
def configured(codex_home, litellm_proxy):
    """The proxy in config.toml, so that the REPL starts without onboarding."""
    (codex_home / "config.toml").write_text(
        f'model = "scripted"\n\n[model_providers.litellm]\n'
        f'base_url = "{litellm_proxy.url}"\napi_key = "{litellm_proxy.master_key}"\n')


def decline(term, question: str) -> str:
    screen = term.wait_for(question)
    term.type("n")
    term.wait_for("what should it do instead?")
    term.keys("Enter")
    return screen


def finish(term, model) -> None:
    term.wait_for("done")
    term.type("/quit")
    assert term.wait_dead() == "0"


def test_hidden_command_is_asked_and_declined(configured, term, model, git_repo, outside):
    model.set_script([completion(tool_calls=[bash(f"ls x#; {touch(outside.sentinel)}")]), completion("done")])
    term.start([*CODEX, "-c", "approval_policy=untrusted"])
    term.wait_for("/help for commands")
    term.type("list the files")
    decline(term, ASK_COMMAND)
    finish(term, model)
    assert not outside.sentinel.exists() and outside.intact()


def test_patch_to_git_config_is_asked_and_declined(configured, term, model, git_repo, outside):
    before = (git_repo / ".git" / "config").read_text()
    config = f'[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "{touch(outside.sentinel)}"'
    model.set_script([completion(tool_calls=[patch("*** Delete File: .git/config\n",
                                                   add_file(".git/config", config))]),
                      completion(tool_calls=[shell("git", "status")]), completion("done")])
    term.start([*CODEX, "-c", "approval_policy=on-request"])
    term.wait_for("/help for commands")
    term.type("tidy the repository")
    screen = decline(term, ASK_PATCH)
    assert "can make a program run later" in screen
    finish(term, model)
    assert (git_repo / ".git" / "config").read_text() == before
    assert not outside.sentinel.exists() and outside.intact()


def test_always_for_git_dash_c_does_not_cover_another(configured, term, model, git_repo, outside):
    model.set_script([completion(tool_calls=[shell("git", "-c", "color.ui=never", "log", "-1")]),
                      completion(tool_calls=[shell("git", "-c", f"core.fsmonitor={touch(outside.sentinel)}",
                                                   "status")]),
                      completion("done")])
    term.start([*CODEX, "-c", "approval_policy=untrusted"])
    term.wait_for("/help for commands")
    term.type("show the log")
    screen = term.wait_for(ASK_COMMAND)
    assert "this exact command" in screen
    term.type("a")
    term.wait_for("exit 0")
    decline(term, "core.fsmonitor")
    finish(term, model)
    assert not outside.sentinel.exists() and outside.intact()
