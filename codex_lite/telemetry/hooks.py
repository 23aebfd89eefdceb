"""Process hooks: open listeners are flushed at exit, on SIGTERM/SIGHUP and on an uncaught exception.

    register(tele); unregister(tele)   the hooks are installed with the first listener and removed with
                                       the last; each chains to whatever handler was there before

Why apart: these touch process-wide state (signal handlers, sys.excepthook, atexit); keeping them
in one small module makes what telemetry changes in the process easy to audit. SIGINT is left alone.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codex_lite.telemetry.listener import Telemetry

_live: list[Telemetry] = []           # open listeners: flushed by the exit, signal and crash hooks
_hooks: dict[str, Any] = {}


def register(tele: Telemetry) -> None:
    """Flush on exit, on SIGTERM/SIGHUP and on an uncaught exception, chaining to whatever handler
    was there before. SIGINT is left alone so Ctrl-C behaves exactly as without telemetry."""
    _live.append(tele)
    if "excepthook" in _hooks:
        return
    import atexit
    import signal

    if not _hooks.get("atexit_registered"):
        atexit.register(_at_exit)
    _hooks["atexit_registered"] = True
    _hooks["excepthook"] = sys.excepthook
    sys.excepthook = _excepthook
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        previous = signal.getsignal(signum)
        if previous is None:  # a handler set outside Python: leave it alone
            continue
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not the main thread, or not allowed
            continue
        _hooks[signum] = previous


def unregister(tele: Telemetry) -> None:
    if tele in _live:
        _live.remove(tele)
    if _live or "excepthook" not in _hooks:
        return
    import signal

    if sys.excepthook is _excepthook:
        sys.excepthook = _hooks["excepthook"]
    for signum in [k for k in _hooks if isinstance(k, int)]:
        previous = _hooks.pop(signum)
        try:
            if signal.getsignal(signum) is _on_signal:
                signal.signal(signum, previous)
        except (ValueError, OSError):
            pass
    _hooks.pop("excepthook")


def _at_exit() -> None:
    for tele in _live[:]:  # a copy: close() removes from _live
        tele.close()


def _excepthook(etype: type, value: BaseException, tb: Any) -> None:
    previous = _hooks.get("excepthook") or sys.__excepthook__
    for tele in _live[:]:  # a copy: close() removes from _live
        tele.crash(value)
    previous(etype, value, tb)


def _on_signal(signum: int, frame: Any) -> None:
    """Write what we have, then do what would have happened without us (by default: die by it)."""
    import signal

    previous = _hooks.get(signum, signal.SIG_DFL)
    for tele in _live[:]:  # a copy: close() removes from _live
        try:
            tele._add({"event": "signal", "signal": signum})
        except Exception:  # noqa: BLE001, S110 - nothing useful to do inside a signal handler
            pass
        tele.flush("signal")
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:
        for tele in _live[:]:  # a copy: close() removes from _live
            tele.close()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
