"""The `shell` tool: run one argv in a child process group, with flat memory and a hard deadline.

Why it looks like this: on a 128 MB router a command that prints gigabytes, hangs, or forks a tree
must not take the agent (or the SSH session) with it. So output is read in chunks into a bounded
head and tail of bytes (nothing is split into lines: a million short lines cost no more than one
long one), the child gets its own process group, and one deadline covers its whole life, from
spawn to reap, whatever it does with its output. When the command ends, times out or is
interrupted, its whole group is killed: background jobs (`cmd &`) end with the command that started
them, as in Codex. children.py kills the running group when the agent itself is terminated or
killed. Children run at a lower priority, optionally under an address-space cap, and their peak RSS
comes back from wait4() without needing psutil.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from typing import Any

from codex_lite.platform_info import mem_available_bytes
from codex_lite.records import dataclass, field
from codex_lite.tools import children

# What the model sees of a command's output: Codex shows 10 KiB / 256 lines, head and tail.
MODEL_MAX_BYTES = 10 * 1024
MODEL_MAX_LINES = 256
CHUNK = 64 * 1024
TIMEOUT_EXIT_CODE = 124
LOW_MEMORY_BYTES = 32 * 1024 * 1024
DRAIN_SECONDS = 2.0   # after the group is killed: reading what is left in the pipe (Codex: 2 s)
QUIET_SECONDS = 0.05  # ... and stopping once nothing arrived for this long
REAP_SECONDS = 5.0    # a killed process in uninterruptible sleep may take a while to go


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
    flat whatever a command prints. The tail lives in a buffer of up to twice its size, trimmed
    only when full, so a gigabyte of output costs no quadratic copying. `margin` more bytes are
    kept on each side of both cuts, so that a secret of up to `margin` bytes across a cut can be
    kept whole and redacted (see `parts`)."""

    limit: int
    margin: int = 0
    head: bytearray = field(default_factory=bytearray)
    _tail: bytearray = field(default_factory=bytearray)
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
        if not data:
            return
        if len(data) >= half:
            self._tail[:] = data[len(data) - half:]
        else:
            self._tail += data
            if len(self._tail) > 2 * half:
                del self._tail[: len(self._tail) - half]

    @property
    def tail(self) -> bytes:
        half = self.limit // 2 + self.margin
        return bytes(self._tail[-half:]) if len(self._tail) > half else bytes(self._tail)

    @property
    def truncated(self) -> bool:
        return self.total_bytes > len(self.head) + len(self.tail)

    @property
    def lines(self) -> int:
        """Lines in the whole stream, a last line without a newline included."""
        return self.total_lines + (1 if self.total_bytes and self._last_byte != 10 else 0)

    def parts(self, redactor: Any = None) -> tuple[bytes, bytes, bool]:
        """(start, end, contiguous) of what was kept, secrets replaced before anything is cut;
        `contiguous` when nothing was dropped between them (then both are the whole output)."""
        redact = _redact_bytes(redactor)
        if not self.truncated:
            whole = redact(bytes(self.head) + self.tail)
            return whole, whole, True
        head, tail = bytes(self.head), self.tail
        if self.margin:  # drop the margins again, cutting beside a secret rather than through it
            half = self.limit // 2
            cut = redactor.safe_cut if redactor else (lambda _data, at: at)
            head = head[:cut(head, half)]
            tail = tail[cut(tail, max(0, len(tail) - half)):]
        return redact(head), redact(tail), False

    def text(self, redactor: Any = None) -> str:
        """Everything kept, for people (`/diff`); a marker where the middle was dropped."""
        head, tail, contiguous = self.parts(redactor)
        if contiguous:
            return head.decode("utf-8", "replace")
        head_text, tail_text = head.decode("utf-8", "replace"), tail.decode("utf-8", "replace")
        kept = head_text.count("\n") + tail_text.count("\n")
        return f"{head_text}\n[... omitted {max(self.lines - kept, 0)} of {self.lines} lines ...]\n{tail_text}"

    def for_model(self, redactor: Any = None, max_bytes: int = MODEL_MAX_BYTES,
                  max_lines: int = MODEL_MAX_LINES) -> str:
        """Head and tail within the model's budget, straight from the kept bytes."""
        head, tail, contiguous = self.parts(redactor)
        return _clip(head, tail, contiguous, self.total_bytes, self.lines, max_bytes, max_lines)


def _redact_bytes(redactor: Any):
    """bytes -> bytes with the redactor's secrets replaced (the same bytes without secrets)."""
    if not redactor:
        return lambda data: data
    return lambda data: redactor.text(data.decode("utf-8", "replace")).encode("utf-8", "replace")


@dataclass
class CommandResult:
    exit_code: int
    kept: BoundedOutput
    duration_seconds: float
    peak_rss_kb: int = 0
    timed_out: bool = False
    note: str = ""  # said after the output (the timeout)
    redactor: Any = None

    @property
    def output(self) -> str:
        """All the output kept (up to max_output_bytes), secrets redacted, for people."""
        return self.kept.text(self.redactor) + self.note

    def for_model(self) -> str:
        """The output within the model's budget (Codex's 10 KiB / 256 lines, head and tail),
        secrets redacted."""
        return self.kept.for_model(self.redactor) + self.note


def clip_for_model(text: str, max_bytes: int = MODEL_MAX_BYTES, max_lines: int = MODEL_MAX_LINES) -> str:
    """Head and tail of `text` within the model's budget, with Codex's omission marker."""
    data = text.encode("utf-8", "replace")
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return _clip(data, data, True, len(data), lines, max_bytes, max_lines)


def _clip(head: bytes, tail: bytes, contiguous: bool, total_bytes: int, total_lines: int,
          max_bytes: int, max_lines: int) -> str:
    """The first and last lines of a stream, within half the byte and line budget each. `head` and
    `tail` are its kept start and end (the same bytes when `contiguous`: nothing was dropped).
    Whole lines when one fits; a line longer than the budget is cut at a character boundary, and
    then the marker counts bytes instead of lines."""
    if contiguous and total_bytes <= max_bytes and total_lines <= max_lines:
        return head.decode("utf-8", "replace")
    head_end, head_lines, head_whole = _head_cut(head, max_lines // 2, max_bytes // 2)
    tail_start, tail_lines, tail_whole = _tail_cut(tail, max_lines // 2, max_bytes // 2, contiguous)
    first, last = head[:head_end], tail[tail_start:]
    if head_whole and tail_whole:
        omitted = max(total_lines - head_lines - tail_lines, 0)
        marker = f"[... omitted {omitted} of {total_lines} lines ...]"
    else:
        marker = f"[... omitted {max(total_bytes - len(first) - len(last), 0)} of {total_bytes} bytes ...]"
    text = first.decode("utf-8", "replace")
    return f"{text}{'' if text.endswith(chr(10)) or not text else chr(10)}{marker}\n" \
           f"{last.decode('utf-8', 'replace')}"


def _head_cut(data: bytes, max_lines: int, max_bytes: int) -> tuple[int, int, bool]:
    """(end, whole lines, only whole lines) of the longest start of `data` within both budgets."""
    limit, end, lines = min(len(data), max_bytes), 0, 0
    while lines < max_lines:
        newline = data.find(b"\n", end, limit)
        if newline < 0:
            break
        end, lines = newline + 1, lines + 1
    if lines:
        return end, lines, True
    end = limit
    while 0 < end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a UTF-8 character
        end -= 1
    return end, 0, end == len(data)


def _tail_cut(data: bytes, max_lines: int, max_bytes: int, at_start: bool) -> tuple[int, int, bool]:
    """(start, whole lines, only whole lines) of the longest end of `data` within both budgets;
    `at_start`: data[0] begins a line (it is the start of the stream)."""
    floor = max(len(data) - max_bytes, 0)
    start, lines = len(data), 0
    search_end = len(data) - 1 if data.endswith(b"\n") else len(data)
    while lines < max_lines:
        newline = data.rfind(b"\n", floor, search_end)
        if newline < 0:
            if at_start and floor == 0 and data:  # the stream's first line
                start, lines = 0, lines + 1
            break
        start, lines, search_end = newline + 1, lines + 1, newline
    if lines:
        return start, lines, True
    start = floor
    while start < len(data) and data[start] & 0xC0 == 0x80:
        start += 1
    return start, 0, False


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


def _reap(proc: subprocess.Popen, grace: float = REAP_SECONDS) -> tuple[int, int]:
    """Wait for the child with wait4() so we learn its peak RSS (KiB on Linux) for free. Bounded:
    after `grace` seconds (a killed process stuck in uninterruptible sleep) the zombie is left to
    subprocess's own clean-up and the command counts as killed."""
    deadline = time.monotonic() + grace
    pause = 0.001
    while True:
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return (proc.returncode if proc.returncode is not None else -signal.SIGKILL), 0
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, int(usage.ru_maxrss)
        if time.monotonic() >= deadline:
            return -signal.SIGKILL, 0
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def run_command(argv: list[str], cwd: str, settings: ShellSettings, timeout_ms: int | None = None,
                env: dict[str, str] | None = None) -> CommandResult:
    """Run argv in cwd (with `env`, else the settings' environment); stdout and stderr merged in the
    order they were written, the settings' secrets redacted. Raises FileNotFoundError /
    PermissionError for a missing or unusable program, KeyboardInterrupt (or children.Terminated)
    after killing the process group when the agent is interrupted."""
    timeout = (timeout_ms or settings.timeout_ms) / 1000.0
    started = time.monotonic()
    deadline = started + timeout
    redactor = settings.redactor
    proc = subprocess.Popen(argv, cwd=cwd, env=settings.env if env is None else env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_child_setup(settings))
    out = BoundedOutput(settings.max_output_bytes, redactor.longest_bytes if redactor else 0)
    try:
        children.started(proc.pid)
        timed_out = _pump(proc, out, deadline)
        _kill_group(proc)  # timed out: the command; otherwise what it left running in the background
        _drain(proc.stdout.fileno(), out, time.monotonic() + DRAIN_SECONDS)
        exit_code, rss = _reap(proc)
    except BaseException:
        _kill_group(proc)
        _reap(proc)
        raise
    finally:
        proc.stdout.close()
        children.finished(proc.pid)
    note = ""
    if timed_out:
        exit_code = TIMEOUT_EXIT_CODE
        note = f"\n[command timed out after {int(timeout * 1000)} ms; its process group was killed]"
    return CommandResult(exit_code, out, time.monotonic() - started, rss, timed_out, note, redactor)


def _pump(proc: subprocess.Popen, out: BoundedOutput, deadline: float) -> bool:
    """Copy the child's output into `out` until the child exits; True when the deadline came first.
    The child is not reaped here: while it is a zombie its process group id cannot be reused, so
    the group can still be killed safely. A pidfd (Linux 5.3+) wakes us when it exits; without one,
    exit is polled, more slowly the longer nothing happens."""
    fd = proc.stdout.fileno()
    pidfd = _pidfd(proc.pid)
    pause = 0.005
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ)
        try:
            while not _exited(proc):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                ready = sel.select(remaining if pidfd is not None else min(remaining, pause))
                pause = 0.005 if ready else min(pause * 2, 0.25)
                if any(key.fd == fd for key, _ in ready):
                    data = os.read(fd, CHUNK)
                    if data:
                        out.add(data)
                    else:
                        sel.unregister(fd)
        finally:
            if pidfd is not None:
                os.close(pidfd)
    return False


def _drain(fd: int, out: BoundedOutput, until: float) -> None:
    """What is left in the pipe once the group is dead: up to end of file, or until nothing came
    for a moment (a process that left the group may hold the pipe open), or `until`."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0 or not sel.select(min(remaining, QUIET_SECONDS)):
                return
            data = os.read(fd, CHUNK)
            if not data:
                return
            out.add(data)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return None


def _exited(proc: subprocess.Popen) -> bool:
    """Has the child exited? Without reaping it (WNOWAIT) where the platform allows."""
    if not hasattr(os, "waitid"):
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def low_memory_note() -> str | None:
    """A line for the model when the device is short of memory, read before spawning."""
    available = mem_available_bytes()
    if available is not None and available < LOW_MEMORY_BYTES:
        return (f"[note: the device has only {available // (1024 * 1024)} MB of memory available; "
                "prefer commands that stream and avoid loading large files]")
    return None
