"""Facts about the device the agent runs on, so the model plans commands that will run.

    platform_name() -> (kind, description)  openwrt, termux, linux, ...
    is_termux() -> bool
    mem_available_bytes() -> int|None  /proc/meminfo, else psutil when importable
    disk_free_bytes(path) -> int|None
    temp_dir() -> str                  $TMPDIR (Termux) or a checked writable fallback
    which(name, path=None) -> str|None shutil.which without shutil

This is on the startup path of a 128 MB router: only os/sys at import time, no `platform`,
no `tempfile`, no `shutil` (it imports bz2 and lzma: ~20 ms on a router's CPU), no psutil unless
/proc/meminfo is missing (psutil reads the same file on Linux, importing it costs a few MB).
Nothing here hard-codes a temporary directory or a shell path. This is the bottom layer: it
imports nothing of codex-lite (the environment block for the model, which also needs the shell
that tools/shells.py finds, is context.environment_text).
"""

from __future__ import annotations

import os
import sys

def which(name: str, path: str | None = None) -> str | None:
    """What shutil.which answers on POSIX, without importing shutil: the first executable file
    `name` in the folders of `path` (default $PATH), or `name` itself when it holds a slash."""
    if os.path.dirname(name):
        return name if _executable(name) else None
    if path is None:
        path = os.environ.get("PATH")
        if path is None:
            try:
                path = os.confstr("CS_PATH")
            except (AttributeError, ValueError):
                path = os.defpath
    seen = set()
    for folder in path.split(os.pathsep) if path else ():
        if folder not in seen:
            seen.add(folder)
            candidate = os.path.join(folder, name)
            if _executable(candidate):
                return candidate
    return None


def _executable(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK) and not os.path.isdir(path)


def _meminfo() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/meminfo", "rb") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(b":"):
                try:
                    out[parts[0][:-1].decode()] = int(parts[1]) * 1024
                except ValueError:
                    pass
    return out


def mem_available_bytes() -> int | None:
    """Memory a new process can use without swapping: MemAvailable (or its pre-3.14 estimate)."""
    try:
        info = _meminfo()
        if "MemAvailable" in info:
            return info["MemAvailable"]
        if "MemFree" in info:
            return info["MemFree"] + info.get("Buffers", 0) + info.get("Cached", 0)
    except OSError:
        pass
    try:
        import psutil  # optional: macOS, or an Android without a readable /proc/meminfo

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unable to read: unknown
        return None


def disk_free_bytes(path: str) -> int | None:
    """Free space for an unprivileged user in the filesystem holding path."""
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _writable_dir(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def temp_dir() -> str:
    """A writable directory for temporary files, never assuming one.

    $TMPDIR first (Termux sets it; its /tmp is not writable), then $TMP/$TEMP, Termux's
    $PREFIX/tmp, the standard library's checked choice, and finally a folder in $CODEX_HOME or
    the home directory, created when needed.
    """
    for var in ("TMPDIR", "TMP", "TEMP"):
        if _writable_dir(os.environ.get(var)):
            return os.environ[var]
    prefix = os.environ.get("PREFIX")
    if prefix and _writable_dir(os.path.join(prefix, "tmp")):
        return os.path.join(prefix, "tmp")
    try:
        import tempfile  # lazy: it pulls in random and friends

        cand = tempfile.gettempdir()  # tries candidates by really creating a file in them
        if _writable_dir(cand) and os.path.abspath(cand) != os.path.abspath(os.getcwd()):
            return cand
    except (OSError, FileNotFoundError):
        pass
    home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex-lite")
    cand = os.path.join(home, "tmp")
    try:
        os.makedirs(cand, mode=0o700, exist_ok=True)
        if _writable_dir(cand):
            return cand
    except OSError:
        pass
    return os.getcwd()


def is_termux() -> bool:
    """Termux/Android: Python says 'android' (3.13+), or Termux's own markers are present."""
    if sys.platform == "android":
        return True
    return "TERMUX_VERSION" in os.environ or "com.termux" in os.environ.get("PREFIX", "")


def _read_kv(path: str) -> dict[str, str]:
    """KEY='value' files such as /etc/openwrt_release and /etc/os-release."""
    out: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, eq, val = line.strip().partition("=")
                if eq:
                    out[key] = val.strip().strip("'\"")
    except OSError:
        pass
    return out


def platform_name() -> tuple[str, str]:
    """(kind, human description): kind is openwrt, termux, linux or sys.platform."""
    wrt = _read_kv("/etc/openwrt_release")
    if wrt:
        desc = wrt.get("DISTRIB_DESCRIPTION") or ("OpenWrt " + wrt.get("DISTRIB_RELEASE", "")).strip()
        arch = wrt.get("DISTRIB_ARCH")
        return "openwrt", desc + (f" ({arch})" if arch else "")
    machine = getattr(os, "uname", lambda: None)()
    arch = f" ({machine.machine})" if machine else ""
    if is_termux():
        return "termux", "Termux on Android" + arch
    if sys.platform.startswith("linux"):
        rel = _read_kv("/etc/os-release").get("PRETTY_NAME")
        return "linux", (f"Linux, {rel}" if rel else "Linux") + arch
    return sys.platform, sys.platform + arch
