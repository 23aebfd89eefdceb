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

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from litellm_proxy import LiteLLMProxy
from scripted_server import ScriptedServer
from support.cli import CLI_TIMEOUT, CliResult, cli_env, run_codex
from support.git import make_git_repo
from support.tmux import Tmux



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


@pytest.fixture
def git_repo(tmp_path) -> Path:
    return make_git_repo(tmp_path / "repo")


@pytest.fixture
def codex_home(tmp_path) -> Path:
    home = tmp_path / "codex_home"
    home.mkdir()
    return home


# --------------------------------------------------------------------------- the CLI


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


@pytest.fixture
def term(litellm_proxy, codex_home, git_repo):
    """A tmux server whose environment points codex-lite at the proxy, with no LITELLM_* set (so a
    first run onboards)."""
    env = cli_env(litellm_proxy.url, litellm_proxy.master_key, codex_home)
    for name in ("LITELLM_BASE_URL", "LITELLM_API_KEY", "TERM"):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    tmux = Tmux(env, git_repo)
    try:
        yield tmux
    finally:
        tmux.close()
