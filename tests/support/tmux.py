"""A private tmux server with one pane running a command: the REPL in a real terminal.

    Tmux(env, cwd): start(argv), type(text), keys(*names), screen(), wait_for(text), close() ...
    zombie_status(pid) -> str   the exit code (or "signal N") of a zombie, "" when it is not one

Each Tmux has its own server (a private socket, `tmux -L`), killed by close() together with every
process the pane started, so nothing outlives the test. The `term` fixture (conftest.py) makes one
whose environment points codex-lite at the session's proxy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

TMUX = shutil.which("tmux") or "/usr/bin/tmux"
WAIT = 30.0


class Tmux:
    """One private tmux server with one pane running a command."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.socket = f"codexlite-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env, self.cwd = env, cwd
        self.pane_pids: list[int] = []

    def tmux(self, *args: str) -> str:
        done = subprocess.run([TMUX, "-L", self.socket, "-f", os.devnull, *args], check=False,
                              env=self.env, capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, argv: list[str], width: int = 80, height: int = 24) -> None:
        if self.pane_pids:
            try:
                self.tmux("kill-session", "-t", "main")
            except RuntimeError:  # the server is gone already (a hang-up test killed it)
                pass
        self.tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height),
                  "-c", str(self.cwd), *argv)
        self.tmux("set-option", "-t", "main", "remain-on-exit", "on")
        self.pane_pids.append(int(self.tmux("display-message", "-p", "-t", "main", "#{pane_pid}")))

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)
        self.keys("Enter")

    def screen(self, joined: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main", "-S", "-300", *(["-J"] if joined else []))

    def wait_for(self, text: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(joined=True)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{screen}")
            time.sleep(0.1)

    def dead(self) -> tuple[bool, str]:
        """(exited, exit status or "signal N"). tmux 3.3a now and then leaves the pane's process a
        zombie without reaping it (its status stays empty); the kernel still shows that zombie's
        exit status in /proc/PID/stat (field 52), so read it there."""
        out = self.tmux("display-message", "-p", "-t", "main",
                        "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}").strip().split("|")
        status = out[1] or (f"signal {out[2]}" if out[2] else "")
        if out[0] == "1" and not status:
            status = zombie_status(self.pane_pids[-1])
        return out[0] == "1" and bool(status), status

    def wait_dead(self, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead, status = self.dead()
            if dead:
                return status
            time.sleep(0.1)
        raise AssertionError(f"codex-lite did not exit:\n{self.screen()}")

    def close(self) -> None:
        try:
            self.tmux("kill-server")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        for pid in self.pane_pids:
            _kill_group_and_wait(pid)


def zombie_status(pid: int) -> str:
    """The exit code (or "signal N") of a zombie process, "" when it is not one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    if fields[0] != "Z":
        return ""
    code = os.waitstatus_to_exitcode(int(fields[49]))
    return str(code) if code >= 0 else f"signal {-code}"


def _kill_group_and_wait(pid: int) -> None:
    for sig in (signal.SIGHUP, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.2)
