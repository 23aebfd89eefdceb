"""Shared fixtures: a scripted model server and a real LiteLLM proxy in front of it (one of each per
test session), a scratch git repository, and a runner for the real `codex-lite` CLI.

    def test_something(model, run_cli, git_repo):
        model.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]), completion("done")])
        result = run_cli("exec", "--json", "list the files", cwd=git_repo)
        assert result.returncode == 0
        assert model.chat_requests()[1]["messages"][-1]["role"] == "tool"

See tests/README.md for what LiteLLM changes on the way through.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from litellm_proxy import MASTER_KEY, LiteLLMProxy
from scripted_server import ScriptedServer

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 90.0

# Variables of the developer's environment that would point the CLI somewhere else.
_DROP_PREFIXES = ("LITELLM_", "OPENAI_", "CODEX_", "ANTHROPIC_")
_DROP = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}


# --------------------------------------------------------------------------- session: servers
# The proxy takes ~5 s to import. When the collected tests need it, it is launched right after
# collection and boots while the tests before the e2e ones run; the fixture only waits for it.


class _Session:
    server: ScriptedServer | None = None
    proxy: LiteLLMProxy | None = None
    workdir: Path | None = None
    error: str | None = None
    ready = False


_S = _Session()


def _launch_proxy() -> None:
    if _S.server is None:
        _S.server = ScriptedServer().start()
    if _S.proxy is None and _S.error is None:
        _S.workdir = Path(tempfile.mkdtemp(prefix="codex-lite-litellm-"))
        _S.proxy = LiteLLMProxy(_S.server.base_url, _S.workdir)
        try:
            _S.proxy.launch()
        except (OSError, RuntimeError) as exc:
            _S.error = f"could not start the LiteLLM proxy: {exc}"


def pytest_collection_finish(session) -> None:
    if session.config.option.collectonly:
        return
    if any("litellm_proxy" in getattr(item, "fixturenames", ()) for item in session.items):
        _launch_proxy()


def pytest_unconfigure(config) -> None:
    if _S.proxy is not None:
        _S.proxy.stop()
    if _S.server is not None:
        _S.server.stop()
    if _S.workdir is not None:
        shutil.rmtree(_S.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def scripted_server() -> ScriptedServer:
    if _S.server is None:
        _S.server = ScriptedServer().start()
    return _S.server


@pytest.fixture(scope="session")
def litellm_proxy(scripted_server) -> LiteLLMProxy:
    """A real LiteLLM proxy: model `scripted` -> the scripted server (stopped at the end of the run)."""
    _launch_proxy()
    if not _S.ready and _S.error is None:
        assert _S.proxy is not None
        try:
            _S.proxy.wait_ready(ready_timeout=120)
            _S.ready = True
        except RuntimeError as exc:
            _S.error = f"the LiteLLM proxy did not start: {exc}"
    if _S.error is not None:
        pytest.fail(_S.error, pytrace=False)
    assert _S.proxy is not None
    return _S.proxy


@pytest.fixture
def model(scripted_server):
    """The scripted model, emptied before and after the test: script it with set_script([...])."""
    scripted_server.reset()
    yield scripted_server
    scripted_server.reset()


@pytest.fixture
def proxy_url(litellm_proxy) -> str:
    return litellm_proxy.url


@pytest.fixture
def proxy_key(litellm_proxy) -> str:
    return litellm_proxy.master_key


# --------------------------------------------------------------------------- per test: workspace


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=30,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})


def make_git_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A scratch git repository with `files` (default: a small Python project) committed."""
    path.mkdir(parents=True, exist_ok=True)
    files = files if files is not None else {
        "README.md": "# scratch\n\nA scratch project for codex-lite tests.\n",
        "calc.py": "def add(a, b):\n    return a - b\n",
        "notes.txt": "first line\nsecond line\n",
    }
    for name, text in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "init")
    return path


@pytest.fixture
def git_repo(tmp_path) -> Path:
    return make_git_repo(tmp_path / "repo")


@pytest.fixture
def codex_home(tmp_path) -> Path:
    home = tmp_path / "codex_home"
    home.mkdir()
    return home


# --------------------------------------------------------------------------- the CLI


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
        _kill_group(proc)
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        _kill_group(proc)  # children left behind by the CLI (a shell command it started)
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


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture
def cli_environment(litellm_proxy, codex_home):
    def make(base_url: str | None = None, api_key: str | None = None, **extra: str) -> dict[str, str]:
        return cli_env(base_url or litellm_proxy.url, api_key or litellm_proxy.master_key, codex_home, extra)
    return make


@pytest.fixture
def run_cli(litellm_proxy, codex_home, git_repo):
    """run_cli(*args, cwd=git_repo, input=None, env=None, base_url=None, api_key=None, timeout=90).

    Runs the real CLI against the session's proxy, with CODEX_HOME in a tmp dir."""
    def run(*args: str, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None,
            base_url: str | None = None, api_key: str | None = None, timeout: float = CLI_TIMEOUT) -> CliResult:
        full_env = cli_env(base_url or litellm_proxy.url, api_key or litellm_proxy.master_key, codex_home, env)
        return run_codex(list(args), cwd=cwd or git_repo, env=full_env, input=input, timeout=timeout)
    return run


__all__ = ["MASTER_KEY", "CliResult", "cli_env", "make_git_repo", "run_codex"]
