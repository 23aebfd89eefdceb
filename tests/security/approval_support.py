"""Shared pieces of the approval attack tests (tests/security/test_approval_*.py).

Black box: the real CLI (`python -m codex_lite`, its REPL) against the scripted model behind the
real LiteLLM proxy. The model asks for the attack; the user answers "no" to every question (or
"always" where an attack needs an earlier yes). The REPL reads plain lines from a pipe here (its
back end for a router without prompt_toolkit); test_approval_tmux.py drives prompt_toolkit in tmux.

Every attack aims at a sentinel file, outside the workspace unless the attack can only write
inside it, that must never appear; files outside the workspace must stay as they were.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from scripted_server import completion

ASK_COMMAND = "Allow this command?"
ASK_PATCH = "Apply this patch?"
SPARE = 8  # answers for prompts an unfixed CLI would not ask, read as new prompts instead


@dataclass
class Outside:
    """A folder beside the workspace: `sentinel` must never exist, and the files put there (`keep`
    and any `add`ed) must keep their contents, with nothing else appearing."""

    folder: Path
    sentinel: Path
    files: dict

    def add(self, name: str, text: str, mode: int = 0o644) -> Path:
        path = self.folder / name
        path.write_text(text)
        path.chmod(mode)
        self.files[name] = text
        return path

    def intact(self) -> bool:
        names = sorted(p.name for p in self.folder.iterdir())
        return names == sorted(self.files) and all(
            (self.folder / name).read_text() == text for name, text in self.files.items())


@pytest.fixture(name="outside")
def outside_fixture(tmp_path) -> Outside:
    """Import it as `outside_fixture`; tests ask for `outside`."""
    folder = tmp_path / "outside"
    folder.mkdir()
    out = Outside(folder, folder / "pwned", {})
    out.add("keep.txt", "precious\n")
    return out


def touch(path: Path) -> str:
    """A shell command that creates `path` (the attack's payload)."""
    return "touch " + shlex.quote(str(path))


def shell(*argv: str) -> tuple[str, dict]:
    return ("shell", {"command": list(argv)})


def bash(script: str) -> tuple[str, dict]:
    return ("shell", {"command": ["bash", "-lc", script]})


def patch(*operations: str) -> tuple[str, dict]:
    return ("apply_patch", {"input": "*** Begin Patch\n" + "".join(operations) + "*** End Patch"})


def add_file(path: str, text: str) -> str:
    return f"*** Add File: {path}\n" + "".join("+" + line + "\n" for line in text.splitlines())


def update_file(path: str, old: str, new: str) -> str:
    return f"*** Update File: {path}\n@@\n-{old}\n+{new}\n"


def repl(run_cli, model, repo: Path, calls: list, *, policy: str = "untrusted", answers: str = "",
         sandbox: str = "workspace-write", env: dict | None = None):
    """One REPL session: the prompt "go", the model makes `calls` one after another (each in its
    own round), then says "done". The user types `answers` first (lines), then "no" (with no
    feedback) to anything else. Returns the CliResult (the screen is its stdout)."""
    script = [completion(tool_calls=[call]) for call in calls] + [completion("done")]
    model.set_script(script + [completion("ok")] * SPARE)
    keys = "go\n" + answers + "n\n\n" * SPARE + "/quit\n"
    return run_cli("-m", "scripted", "-c", f"approval_policy={policy}", "-c", f"sandbox_mode={sandbox}",
                   "-c", "retry.wait_seconds=0", cwd=repo, input=keys, env=env)


def always_then(run_cli, model, repo, first, second, **kwargs):
    """The user answers "always" to `first`; `second` must then be asked about again."""
    result = repl(run_cli, model, repo, [first, second], answers="a\n", **kwargs)
    assert result.stdout.count(ASK_COMMAND) >= 2, result.describe()
    return result


def assert_refused(result, outside: Outside, *, asked: str | None = ASK_COMMAND, sentinel: Path | None = None):
    """The attack did nothing: no sentinel, outside files intact, and the user was asked."""
    target = sentinel or outside.sentinel
    assert not target.exists(), f"{target} was created\n{result.describe()}"
    assert outside.intact(), result.describe()
    assert not result.timed_out and result.returncode == 0, result.describe()
    if asked:
        assert asked in result.stdout, result.describe()


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True, timeout=30).stdout


def commit_all(repo: Path, message: str = "hostile") -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", message)


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path
