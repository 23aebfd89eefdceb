"""Helpers for the misbehaving-command fault tests: run the installed `codex-lite` CLI in its own
session against the scripted model (through the real LiteLLM proxy), signal it, measure its wall
time and peak RSS, and check that nothing a command started is still running.

    agent = start_cli(env, repo, "exec", "--skip-git-repo-check", "go")
    wait_for_file(repo / "cmd.pid")
    agent.proc.send_signal(signal.SIGTERM)
    done = agent.finish(timeout=30)      # exit code, wall seconds, stderr, peak RSS (KiB)
    assert group_gone(int((repo / "cmd.pid").read_text()))
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from processes import pgroup_alive
from scripted_server import completion

WATCHDOG_NAME = "codex-lite-watchdog"  # the watchdog's $0, see codex_lite/tools/children.py


def cli_command() -> list[str]:
    """The installed console script next to this interpreter, or `python -m codex_lite`."""
    script = Path(sys.executable).parent / "codex-lite"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codex_lite"]


def shell_call(argv: list[str] | str, timeout_ms: int | None = None, call_id: str = "cmd") -> dict:
    """A scripted answer that runs one shell command."""
    args: dict = {"command": argv}
    if timeout_ms is not None:
        args["timeout_ms"] = timeout_ms
    return completion(tool_calls=[("shell", args, call_id)])


@dataclass
class Finished:
    code: int
    wall: float
    stdout: str
    stderr: str
    peak_rss_kb: int

    def lines(self, text: str) -> list[str]:
        """The stderr lines that mention `text`."""
        return [line for line in self.stderr.splitlines() if text in line]


# Peak RSS from wait4() also counts what a child shared with its parent before exec (vfork borrows
# the parent's pages), so the CLI is started by a small interpreter (-S: no site), not by pytest.
LAUNCHER = """
import json, os, sys
info, argv = sys.argv[1], sys.argv[2:]
pid = os.posix_spawn(argv[0], argv, os.environ)
with open(info + ".tmp", "w") as f:
    f.write(str(pid))
os.replace(info + ".tmp", info)
_, status, usage = os.wait4(pid, 0)
with open(info + ".exit", "w") as f:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_maxrss], f)
"""


class RunningCli:
    """A CLI process in a session of its own (started by a small launcher that reports its exit
    status and peak RSS), its output in files (a pipe could fill up and block it); `input`, when
    given, is its stdin (else /dev/null)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], logs: Path,
                 input: str | None = None):
        logs.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path, self.info = logs / "stdout", logs / "stderr", logs / "pid"
        for path in (self.info, Path(f"{self.info}.exit")):
            path.unlink(missing_ok=True)
        stdin_path = logs / "stdin"
        stdin_path.write_text(input or "")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err, \
                open(stdin_path if input is not None else os.devnull, "rb") as stdin:
            self.started = time.monotonic()
            self.launcher = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(self.info), *argv],
                                             cwd=cwd, env=env, stdin=stdin, stdout=out,
                                             stderr=err, start_new_session=True)
        self.pid = int(wait_for_file(self.info, timeout=30))

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def finish(self, timeout: float) -> Finished:
        """Wait (bounded) for the exit. On timeout the whole session is killed and the test fails
        with what the CLI printed."""
        try:
            self.launcher.wait(timeout=max(0.1, self.started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_session(self.launcher.pid)
            self.launcher.wait()
            raise AssertionError(f"the CLI did not finish within {timeout} s:\n{self.stderr()}") from None
        wall = time.monotonic() - self.started
        code, peak = json.loads(Path(f"{self.info}.exit").read_text())
        return Finished(code, wall, self.out_path.read_text(errors="replace"), self.stderr(), peak)

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")


def start_cli(env: dict[str, str], cwd: Path, *args: str, logs: Path | None = None) -> RunningCli:
    return RunningCli([*cli_command(), *args], cwd, env, logs or cwd.parent / "cli-logs")


def kill_session(sid: int) -> None:
    """Kill every process of session `sid` (the CLI and anything it left in its session)."""
    for pid in _pids():
        try:
            if os.getsid(pid) == sid:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_for_file(path: Path, timeout: float = 30) -> str:
    """The file's text once it is non-empty (a command writes its PID there when it starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text().strip()
            if text:
                return text
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def group_gone(pgid: int, within: float = 10) -> bool:
    """True once no live process is left in group `pgid` (polled up to `within` seconds)."""
    return _gone(lambda: pgroup_alive(pgid), within)


def pid_gone(pid: int, within: float = 10) -> bool:
    """True once process `pid` is gone or a zombie (polled up to `within` seconds)."""
    return _gone(lambda: _alive(pid), within)


def _gone(alive, within: float) -> bool:
    deadline = time.monotonic() + within
    while alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_group(pgid: int) -> None:
    """Clean-up after a failed test: a command that survived must not outlive the test run (the
    group with that id, or the process when it leads none)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def finish_and_check(agent: RunningCli, pidfile: Path, timeout: float, gone, what: str) -> Finished:
    """Wait for the CLI, then check with `gone(id)` that what the command wrote its id of to
    `pidfile` is gone; whatever happens, that group or process is killed afterwards."""
    try:
        done = agent.finish(timeout=timeout)
        assert gone(int(wait_for_file(pidfile))), what
    finally:
        if pidfile.exists() and pidfile.read_text().strip():
            kill_group(int(pidfile.read_text()))
    return done


def watchdogs_of(agent_pid: int) -> list[int]:
    """Live watchdog processes started by the agent with PID `agent_pid`."""
    found = []
    for pid in _pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if WATCHDOG_NAME.encode() in argv and str(agent_pid).encode() in argv and _alive(pid):
            found.append(pid)
    return found


def bare_python_peak_kb(tmp: Path) -> int:
    """Peak RSS of `python3 -c pass` with this interpreter, started the same way as the CLI and
    measured now (the same noise as the test)."""
    bare = RunningCli([sys.executable, "-c", "pass"], tmp, dict(os.environ), tmp / "bare")
    return bare.finish(30).peak_rss_kb


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Workspace:
    """What a fault test needs: the scripted model, a git repository to work in, the CLI's
    environment (CODEX_HOME in a tmp dir, the proxy's URL and key) and a folder for its logs."""

    model: object
    repo: Path
    env: dict[str, str]
    logs: Path

    def start(self, *args: str) -> RunningCli:
        return start_cli(self.env, self.repo, *args, logs=self.logs)

    def exec(self, *args: str) -> RunningCli:
        """`codex-lite exec --skip-git-repo-check ARGS` (human output unless ARGS ask for --json)."""
        return self.start("exec", "--skip-git-repo-check", "-m", "scripted", *args)


@pytest.fixture
def workspace(model, litellm_proxy, codex_home, git_repo, tmp_path) -> Workspace:
    from support.cli import cli_env

    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, codex_home)
    return Workspace(model, git_repo, env, tmp_path / "cli-logs")


def tool_result(model, call_id: str = "cmd") -> dict:
    """What the agent told the model about call `call_id` (the shell tool's JSON result)."""
    for request in model.chat_requests():
        for message in request.get("messages", []):
            if message.get("role") == "tool" and message.get("tool_call_id") == call_id:
                try:
                    return json.loads(message["content"])
                except ValueError:
                    return {"output": message["content"], "metadata": {}}
    raise AssertionError(f"the model never got a result for {call_id}")
