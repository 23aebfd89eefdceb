"""Small helpers for tests (and benches) that drive real processes and pseudo-terminals."""

from __future__ import annotations

import os
import select
from pathlib import Path


def pgroup_alive(pgid: int) -> bool:
    """Is any live (non-zombie) process left in process group `pgid`?"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def read_pty(fd: int, wait: float) -> bytes | None:
    """What the terminal printed within `wait` seconds (b"" if nothing, None once it closed).
    prompt_toolkit asks where the cursor is (ESC[6n); answer like a terminal would."""
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return b""
    try:
        data = os.read(fd, 65536)
    except OSError:
        return None
    if b"\x1b[6n" in data:
        os.write(fd, b"\x1b[1;1R")
    return data or None
