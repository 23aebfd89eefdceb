"""Fixtures and a runner for the request and bad-input fault tests (test_requests_*, test_answers_*,
test_config_faults, test_sessions_faults, test_first_contact). Import what a test module needs:

    from request_faults import bad_server_fixture, fault_cli_fixture, one_error_line  # noqa: F401

(the fixtures are named `bad_server` and `fault_cli`; importing them under other names keeps
linters from seeing the test arguments as redefinitions).

`fault_cli(*args, base_url=..., config=..., env=...)` runs the installed `codex-lite` console script
with CODEX_HOME in a tmp dir and returns a FaultRun: exit code, stdout, stderr, wall seconds and the
peak RSS (VmHWM) the process itself wrote at exit (a sitecustomize hook on PYTHONPATH, so nothing
is sampled and nothing is missed; wait4's ru_maxrss would also count this big pytest process).
Every run has an address-space cap (MEMORY_CAP), so a regression on a bomb fails with a
MemoryError instead of eating the machine.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bad_server import BadServer  # noqa: E402
from conftest import cli_env, make_git_repo  # noqa: E402

MEMORY_CAP = 2 << 30  # RLIMIT_AS of every run: a gzip bomb before the fix would take 3 GB
RUN_TIMEOUT = 120.0
HWM_HOOK = """\
import atexit, os
def _write_hwm(path=os.environ.get("FAULT_HWM_FILE")):
    if path:
        with open("/proc/self/status") as src, open(path, "w") as dst:
            dst.write(src.read())
atexit.register(_write_hwm)
"""


@dataclass
class FaultRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall: float
    peak_mb: float | None  # VmHWM at exit, MiB; None when the process died before atexit
    timed_out: bool = False

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def output_lines(self) -> list[str]:
        return (self.stdout + "\n" + self.stderr).splitlines()

    def describe(self) -> str:
        return (f"$ codex-lite {' '.join(self.args)}\nexit={self.returncode} wall={self.wall:.1f}s "
                f"peak={self.peak_mb} MiB timed_out={self.timed_out}\n--- stdout ---\n"
                f"{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def one_error_line(run: FaultRun, *needles: str, code: int = 1) -> str:
    """The run failed with exit `code` and exactly one line on stderr, holding every needle
    (case-insensitive); no traceback, no warning. Returns the line."""
    assert not run.timed_out, run.describe()
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


def cli_argv() -> list[str]:
    """The console script pip installed next to this interpreter (what users run)."""
    script = Path(sys.executable).parent / "codex-lite"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codex_lite"]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


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
    hook = tmp_path / "hwm_hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HWM_HOOK)
    counter = iter(range(1_000_000))

    def run(*args: str, base_url: str | None = None, config: str | None = None,
            env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None,
            timeout: float = RUN_TIMEOUT, wrap: list[str] | None = None) -> FaultRun:
        if config is not None:
            (home / "config.toml").write_text(config)
        full = cli_env(base_url or "", "sk-fault-test", home)
        if base_url is None:
            del full["LITELLM_BASE_URL"]
        hwm = tmp_path / f"hwm-{next(counter)}"
        full["PYTHONPATH"] = str(hook) + os.pathsep + full["PYTHONPATH"]
        full["FAULT_HWM_FILE"] = str(hwm)
        full.update(env or {})
        return run_measured([*(wrap or []), *cli_argv(), *args], list(args), cwd or repo, full, hwm,
                            input, timeout)

    run.home = home  # type: ignore[attr-defined]
    run.repo = repo  # type: ignore[attr-defined]
    return run


def run_measured(argv: list[str], shown: list[str], cwd: Path, env: dict[str, str], hwm: Path,
                 input: str | None, timeout: float) -> FaultRun:
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, text=True, start_new_session=True,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit_memory)  # noqa: PLW1509
    timed_out = False
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    wall = time.monotonic() - started
    return FaultRun(shown, proc.returncode, out, err, wall, _peak_mb(hwm), timed_out)


def _peak_mb(path: Path) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def bare_python_peak_mb(tmp_path: Path) -> float:
    """VmHWM of `python3 -c pass` with the same hook: the floor the CLI's peaks are compared with."""
    hook = tmp_path / "hwm_bare"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(HWM_HOOK)
    out = tmp_path / "hwm-bare"
    env = {**os.environ, "PYTHONPATH": str(hook), "FAULT_HWM_FILE": str(out)}
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=30)
    peak = _peak_mb(out)
    assert peak is not None
    return peak
