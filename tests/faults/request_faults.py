"""Fixtures and a runner for the request and bad-input fault tests (test_requests_*, test_answers_*,
test_config_faults, test_sessions_faults, test_first_contact). Import what a test module needs:

    from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line  # noqa: F401

(the fixtures are named `bad_server` and `fault_cli`; importing them under other names keeps
linters from seeing the test arguments as redefinitions).

`fault_cli(*args, base_url=..., config=..., env=...)` runs the installed `codex-lite` console script
with CODEX_HOME in a tmp dir, through command_support's launcher (exit code, wall time, and the peak
RSS from wait4() of a process that pytest did not fork), and returns a FaultRun. Every run has a
2 GiB address-space cap (prlimit), so a regression on a bomb fails with a MemoryError instead of
eating the machine.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bad_server import BadServer  # noqa: E402
from command_support import RunningCli, bare_python_peak_kb, cli_command  # noqa: E402
from support.cli import cli_env  # noqa: E402
from support.git import make_git_repo  # noqa: E402

MEMORY_CAP = 2 << 30  # address space of every run: a gzip bomb before the fix took 3 GB
RUN_TIMEOUT = 120.0


@dataclass
class FaultRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall: float
    peak_mb: float  # peak RSS (wait4's ru_maxrss), MiB

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def output_lines(self) -> list[str]:
        return (self.stdout + "\n" + self.stderr).splitlines()

    def describe(self) -> str:
        return (f"$ codex-lite {' '.join(self.args)}\nexit={self.returncode} wall={self.wall:.1f}s "
                f"peak={self.peak_mb:.1f} MiB\n--- stdout ---\n"
                f"{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def one_error_line(run: FaultRun, *needles: str, code: int = 1) -> str:
    """The run failed with exit `code` and exactly one line on stderr, holding every needle
    (case-insensitive); no traceback, no warning. Returns the line."""
    assert run.returncode == code, run.describe()
    assert "Traceback" not in run.stderr and "Warning" not in run.stderr, run.describe()
    assert len(run.err_lines) == 1, run.describe()
    line = run.err_lines[0]
    for needle in needles:
        assert needle.lower() in line.lower(), f"{needle!r} not in {line!r}\n{run.describe()}"
    return line


def retry_lines_are_sane(run: FaultRun) -> None:
    """Retry notices fit 80 columns and show waits in whole seconds, not 0.53s or 1.191s."""
    for line in run.err_lines:
        if "retry" in line.lower() and not line.startswith("error"):
            assert len(line) <= 80, f"{len(line)} columns: {line!r}"
            assert not re.search(r"\d\.\d+s\b", line), line


@pytest.fixture(scope="session", name="bad_server")
def bad_server_fixture():
    server = BadServer().start()
    yield server
    server.stop()


@pytest.fixture(name="fault_cli")
def fault_cli_fixture(tmp_path):
    """fault_cli(*args, base_url=None, config=None, env=None, cwd=None, input=None, timeout=120,
    wrap=None).

    `base_url` goes to LITELLM_BASE_URL (None: unset, nothing configured); `config` is written to
    $CODEX_HOME/config.toml when given; `wrap` is an argv prefix (e.g. unshare). The working
    folder is a scratch git repository."""
    home = tmp_path / "home"
    home.mkdir()
    repo = make_git_repo(tmp_path / "repo")
    counter = iter(range(1_000_000))
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) is needed; scripts/test installs it"

    def run(*args: str, base_url: str | None = None, config: str | None = None,
            env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None,
            timeout: float = RUN_TIMEOUT, wrap: list[str] | None = None) -> FaultRun:
        if config is not None:
            (home / "config.toml").write_text(config)
        full = cli_env(base_url or "", "sk-fault-test", home)
        if base_url is None:
            del full["LITELLM_BASE_URL"]
        full.update(env or {})
        argv = [prlimit, f"--as={MEMORY_CAP}", "--", *(wrap or []), *cli_command(), *args]
        logs = tmp_path / f"run-{next(counter)}"
        done = RunningCli(argv, cwd or repo, full, logs, input=input).finish(timeout)
        return FaultRun(list(args), done.code, done.stdout, done.stderr, done.wall, done.peak_rss_kb / 1024)

    run.home = home  # type: ignore[attr-defined]
    run.repo = repo  # type: ignore[attr-defined]
    return run


def bare_python_peak_mb(tmp_path: Path) -> float:
    """Peak RSS of `python3 -c pass`, measured the same way: the floor the CLI's peaks are compared
    with."""
    return bare_python_peak_kb(tmp_path) / 1024
