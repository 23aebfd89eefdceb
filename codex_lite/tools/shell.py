"""The `shell` tool: run one argv in a child process group, with flat memory and a hard deadline.

Why it looks like this: on a 128 MB router a command that prints gigabytes, hangs, or forks a tree
must not take the agent (or the SSH session) with it. So output is read in chunks into a bounded
head and tail, the child gets its own process group that dies as a whole on timeout or Ctrl-C, it
runs at a lower priority, optionally under an address-space cap, and its peak RSS comes back from
wait4() without needing psutil.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from codex_lite.platform_info import mem_available_bytes

# What the model sees of a command's output: Codex shows 10 KiB / 256 lines, head and tail.
MODEL_MAX_BYTES = 10 * 1024
MODEL_MAX_LINES = 256
CHUNK = 64 * 1024
TIMEOUT_EXIT_CODE = 124
LOW_MEMORY_BYTES = 32 * 1024 * 1024


@dataclass
class ShellSettings:
    timeout_ms: int = 60_000
    max_output_bytes: int = 1024 * 1024  # kept in memory per command (head + tail), the rest counted
    memory_limit_mb: int = 0             # RLIMIT_AS for children; 0 = no limit
    nice: int = 5
    # Set by the session, not by config.toml: the children's environment (tools/child_env.py; None
    # = ours) and the redact.Redactor whose secrets are replaced in the output before it is cut.
    env: dict[str, str] | None = None
    redactor: Any = None


@dataclass
class BoundedOutput:
    """Keeps the first and last `limit/2` bytes of a stream and counts everything, so memory stays
    flat whatever a command prints. `margin` more bytes are kept on each side of both cuts, so that
    a secret of up to `margin` bytes across a cut can be kept whole and redacted (see `text`)."""

    limit: int
    margin: int = 0
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total_bytes: int = 0
    total_lines: int = 0
    _last_byte: int = 10

    def add(self, data: bytes) -> None:
        self.total_bytes += len(data)
        self.total_lines += data.count(b"\n")
        self._last_byte = data[-1]
        half = self.limit // 2 + self.margin
        room = half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > half:
                del self.tail[: len(self.tail) - half]

    @property
    def truncated(self) -> bool:
        return self.total_bytes > len(self.head) + len(self.tail)

    def text(self, redactor: Any = None) -> str:
        """The output as text, secrets redacted (with a redactor) before anything is cut."""
        redact = redactor.text if redactor else (lambda t: t)
        lines = self.total_lines + (1 if self.total_bytes and self._last_byte != 10 else 0)
        if not self.truncated:
            return redact((self.head + self.tail).decode("utf-8", "replace"))
        head, tail = bytes(self.head), bytes(self.tail)
        if self.margin:  # drop the margins again, cutting beside a secret rather than through it
            half = self.limit // 2
            cut = redactor.safe_cut if redactor else (lambda _data, at: at)
            head = head[:cut(head, half)]
            tail = tail[cut(tail, max(0, len(tail) - half)):]
        head_text = redact(head.decode("utf-8", "replace"))
        tail_text = redact(tail.decode("utf-8", "replace"))
        kept = head_text.count("\n") + tail_text.count("\n")
        return f"{head_text}\n[... omitted {max(lines - kept, 0)} of {lines} lines ...]\n{tail_text}"


@dataclass
class CommandResult:
    exit_code: int
    output: str
    duration_seconds: float
    peak_rss_kb: int = 0
    timed_out: bool = False


def clip_for_model(text: str, max_bytes: int = MODEL_MAX_BYTES, max_lines: int = MODEL_MAX_LINES) -> str:
    """Head and tail of `text` within the model's budget, with Codex's omission marker."""
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines and len(text.encode("utf-8", "replace")) <= max_bytes:
        return text
    half_lines, half_bytes = max_lines // 2, max_bytes // 2
    head = _take(lines, half_lines, half_bytes)
    tail = _take(lines[len(head):][::-1], half_lines, half_bytes)[::-1]
    omitted = len(lines) - len(head) - len(tail)
    return f"{''.join(head)}[... omitted {omitted} of {len(lines)} lines ...]\n{''.join(tail)}"


def _take(lines: list[str], max_lines: int, max_bytes: int) -> list[str]:
    taken, size = [], 0
    for line in lines[:max_lines]:
        size += len(line.encode("utf-8", "replace"))
        if size > max_bytes:
            break
        taken.append(line)
    return taken


def _child_setup(settings: ShellSettings):
    """Runs in the child before exec: own session (so the group can be killed), nice, RLIMIT_AS."""
    limit = settings.memory_limit_mb * 1024 * 1024
    niceness = settings.nice

    def setup() -> None:
        os.setsid()
        if niceness:
            try:
                os.nice(niceness)
            except OSError:
                pass
        if limit:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return setup


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> tuple[int, int]:
    """Wait for the child with wait4() so we learn its peak RSS (KiB on Linux) for free."""
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return proc.wait(), 0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, int(usage.ru_maxrss)


def run_command(argv: list[str], cwd: str, settings: ShellSettings, timeout_ms: int | None = None,
                env: dict[str, str] | None = None) -> CommandResult:
    """Run argv in cwd (with `env`, else the settings' environment); stdout and stderr merged in the
    order they were written, the settings' secrets redacted. Raises FileNotFoundError /
    PermissionError for a missing or unusable program, KeyboardInterrupt after killing the process
    group when the user presses Ctrl-C."""
    timeout = (timeout_ms or settings.timeout_ms) / 1000.0
    started = time.monotonic()
    redactor = settings.redactor
    proc = subprocess.Popen(argv, cwd=cwd, env=settings.env if env is None else env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_child_setup(settings))
    out = BoundedOutput(settings.max_output_bytes, redactor.longest_bytes if redactor else 0)
    timed_out = False
    try:
        timed_out = _pump(proc, out, started + timeout)
    except BaseException:
        _kill_group(proc)
        _reap(proc)
        raise
    finally:
        proc.stdout.close()
    if timed_out:
        _kill_group(proc)
    exit_code, rss = _reap(proc)
    text = out.text(redactor)
    if timed_out:
        exit_code = TIMEOUT_EXIT_CODE
        text += f"\n[command timed out after {int(timeout * 1000)} ms; its process group was killed]"
    return CommandResult(exit_code, text, time.monotonic() - started, rss, timed_out)


def _pump(proc: subprocess.Popen, out: BoundedOutput, deadline: float) -> bool:
    """Copy the child's output into `out` until EOF; True when the deadline passed first."""
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if not sel.select(min(remaining, 1.0)):
                continue
            data = os.read(fd, CHUNK)
            if not data:
                return False
            out.add(data)


def low_memory_note() -> str | None:
    """A line for the model when the device is short of memory, read before spawning."""
    available = mem_available_bytes()
    if available is not None and available < LOW_MEMORY_BYTES:
        return (f"[note: the device has only {available // (1024 * 1024)} MB of memory available; "
                "prefer commands that stream and avoid loading large files]")
    return None
