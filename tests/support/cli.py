"""The real `codex-lite` CLI as the tests run it: its environment and a runner that kills what it leaves.

    cli_env(base_url, api_key, codex_home, extra=None) -> dict   no developer LITELLM_/OPENAI_/proxy
                                                                 variables, NO_COLOR, a private git config
    run_codex(args, cwd=, env=, input=None, timeout=90) -> CliResult   `python -m codex_lite ARGS` in
                                                                 its own process group; --json parsed
    CODEX            the command line of the CLI (for tmux and launchers)
    REPO_ROOT        the checkout
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CLI_TIMEOUT = 90.0
CODEX = [sys.executable, "-m", "codex_lite"]

# Variables of the developer's environment that would point the CLI somewhere else.
_DROP_PREFIXES = ("LITELLM_", "OPENAI_", "CODEX_", "ANTHROPIC_")
_DROP = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def items(self, type_: str | None = None, phase: str = "item.completed") -> list[dict[str, Any]]:
        """The `item` of every `phase` event (item.completed by default), optionally of one type."""
        out = [e.get("item") or {} for e in self.events if e.get("type") == phase]
        return [i for i in out if type_ is None or i.get("type") == type_]

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events]

    def describe(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit={self.returncode} timed_out={self.timed_out}\n"
                f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-6000:]}")


def cli_env(base_url: str, api_key: str, codex_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(_DROP_PREFIXES)}
    env.update({
        "CODEX_HOME": str(codex_home),
        "LITELLM_BASE_URL": base_url,
        "LITELLM_API_KEY": api_key,
        "PYTHONPATH": str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "NO_COLOR": "1",
        "TERM": "dumb",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    env.update(extra or {})
    return env


def run_codex(args: list[str], *, cwd: Path, env: dict[str, str], input: str | None = None,
              timeout: float = CLI_TIMEOUT) -> CliResult:
    """Run `python -m codex_lite ARGS` in its own process group; kill the group on timeout."""
    cmd = [sys.executable, "-m", "codex_lite", *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, start_new_session=True,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        kill_group(proc)  # children left behind by the CLI (a shell command it started)
    result = CliResult(cmd, proc.returncode, stdout, stderr, timed_out)
    if "--json" in args:
        for line in stdout.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                result.bad_lines.append(line)
                continue
            if isinstance(obj, dict):
                result.events.append(obj)
            else:
                result.bad_lines.append(line)
    return result


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
