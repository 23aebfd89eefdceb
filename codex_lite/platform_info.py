"""Facts about the device the agent runs on. CONTRACT STUB (owned by the userland issue).

    describe(cwd) -> dict          platform, shell, tools present, free memory/space (for the model)
    mem_available_bytes() -> int|None   psutil when present, else /proc/meminfo
    temp_dir() -> str              $TMPDIR (Termux) or a writable fallback; never assumes /tmp
"""

from __future__ import annotations

import os
import shutil


def mem_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def temp_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def describe(cwd: str) -> dict:
    return {
        "platform": "linux",
        "shell": os.path.basename(os.environ.get("SHELL", "sh")),
        "tools": {name: shutil.which(name) is not None for name in ("rg", "git", "python3")},
    }
