"""The commands the agent is running, and what kills them when the agent goes away.

    started(pgid) / finished(pgid)   the shell runner brackets every command with these
    install_exit_handlers()          SIGTERM and SIGHUP kill the running commands, then unwind
    Terminated                       what those signals raise (a SystemExit: exit code 128 + signal)

Each command runs in a process group of its own (shell.py starts it in a new session), and the
runner kills that group when the command ends, times out or is interrupted. Two ways remain for a
command to outlive the agent, and this module closes both:

- SIGTERM or SIGHUP to the agent. The handler kills every running group at once, then raises
  Terminated, so the agent unwinds as it does on Ctrl-C: the turn ends as failed, the session file
  and telemetry are closed, and the process exits with 128 + the signal number.
- The agent dies without running any code of its own (SIGKILL, the OOM killer, a crash in C). A
  watchdog, a tiny `sh` in a session of its own started at the first command (about 1 MB), reads
  the running group's id from a pipe. When the pipe reaches end of file, whatever killed the agent,
  it kills the last group it was told about and exits; it also exits with the agent when nothing runs.
  PR_SET_PDEATHSIG would only reach a command's first process (not what `bash -c` or `make`
  starts), needs ctypes (one more package on OpenWrt) and exists on Linux only; the watchdog
  covers the whole group wherever there is a POSIX sh.

Not covered: processes that leave the command's process group on purpose (`setsid`, daemons that
fork into a session of their own) and processes that the agent's user cannot signal (setuid).
"""

from __future__ import annotations

import os
import signal

WATCHDOG_NAME = "codex-lite-watchdog"  # its $0, so `ps` says what it is
# The last id read before end of file is the group to kill; 0 means nothing is running.
WATCHDOG_SCRIPT = ('trap "" HUP INT TERM QUIT PIPE; pg=0; while read -r line; do pg=$line; done; '
                   'case $pg in ""|0|*[!0-9]*) exit 0;; esac; kill -9 -"$pg" 2>/dev/null; exit 0')
EXIT_SIGNALS = ("SIGTERM", "SIGHUP")

_running: set[int] = set()
_watchdog: list = []  # zero or one subprocess.Popen


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived: the agent unwinds and exits with 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum
        self.reported = False  # a turn_failed event already told the front ends why

    def __str__(self) -> str:
        if self.signum == getattr(signal, "SIGHUP", None):
            return "the terminal hung up (SIGHUP)"
        return f"terminated by {signal.Signals(self.signum).name}"


def started(pgid: int) -> None:
    """A command's process group is running: kill it if the agent goes away."""
    _running.add(pgid)
    _tell_watchdog(pgid)


def finished(pgid: int) -> None:
    """The group is dead (the runner killed it and reaped its leader)."""
    _running.discard(pgid)
    _tell_watchdog(max(_running, default=0))


def kill_running() -> None:
    """SIGKILL to every running command's process group (async-signal safe: system calls only)."""
    for pgid in list(_running):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def install_exit_handlers() -> None:
    """SIGTERM and SIGHUP kill the running commands and raise Terminated. Installed before
    telemetry's hooks, which chain to it; a signal that was ignored when we started (nohup) stays
    ignored."""
    for name in EXIT_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            if signal.getsignal(signum) != signal.SIG_IGN:
                signal.signal(signum, _on_exit_signal)
        except (ValueError, OSError):  # not the main thread (embedded use)
            pass


def _on_exit_signal(signum: int, frame: object) -> None:
    kill_running()
    raise Terminated(signum)


# --------------------------------------------------------------------------- the watchdog


def _tell_watchdog(pgid: int) -> None:
    """Best effort: a watchdog that cannot be started or told leaves the signal handlers and the
    runner's own kill on duty."""
    proc = _live_watchdog() if pgid else (_watchdog[0] if _watchdog else None)
    if proc is None or proc.stdin is None:
        return
    try:
        os.write(proc.stdin.fileno(), f"{pgid}\n".encode())
    except OSError:
        pass


def _live_watchdog():
    """The running watchdog (a subprocess.Popen), started when there is none; None if it cannot be."""
    if _watchdog and _watchdog[0].poll() is None:
        return _watchdog[0]
    _watchdog.clear()
    shell = _posix_shell()
    if shell is None:
        return None
    import subprocess  # here: the CLI imports this module for Terminated, `stats` needs no more
    try:
        proc = subprocess.Popen([shell, "-c", WATCHDOG_SCRIPT, WATCHDOG_NAME, str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
    except OSError:
        return None
    _watchdog.append(proc)
    return proc


def _posix_shell() -> str | None:
    """A POSIX shell found through PATH, as every program is (BusyBox ash on OpenWrt, dash or
    bash on Debian, Termux's in $PREFIX/bin)."""
    from codex_lite.platform_info import which

    for name in ("sh", "ash", "dash", "bash", "mksh"):
        found = which(name)
        if found:
            return found
    return None
