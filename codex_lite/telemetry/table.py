"""The effective [telemetry] table and the one warning helper telemetry uses.

    settings(config, enabled=None, env=None) -> dict   defaults < config.toml < CODEX_LITE_TELEMETRY < flag
    warn(text)                                          one "codex-lite: warning:" line on stderr, never raises

Why apart: `codex-lite stats` and `/status` need the folder and sizes without starting a listener.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV_VAR = "CODEX_LITE_TELEMETRY"
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "dir": "logs",
    "max_total_bytes": 2 * 1024 * 1024,
    "ring_buffer_bytes": 64 * 1024,
    "debug_trace": True,
    "session_usage": True,
    "log_prompts": False,
}
MIN_TOTAL_BYTES = 16 * 1024      # below this not even the summary and one turn fit
MIN_RING_BYTES = 4 * 1024


def settings(config: Any, enabled: bool | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The effective [telemetry] table: defaults < config.toml < CODEX_LITE_TELEMETRY < the flag.
    `dir` comes back absolute (relative paths are under CODEX_HOME); sizes are clamped to sane minimums."""
    env = os.environ if env is None else env
    table = {**DEFAULTS, **(getattr(config, "telemetry", None) or {})}
    switch = _parse_switch(env.get(ENV_VAR))
    if switch is not None:
        table["enabled"] = switch
    if enabled is not None:
        table["enabled"] = bool(enabled)
    home = getattr(config, "codex_home", None) or os.path.expanduser("~/.codex-lite")
    table["dir"] = os.path.join(home, os.path.expanduser(str(table["dir"])))
    table["max_total_bytes"] = max(MIN_TOTAL_BYTES, int(table["max_total_bytes"]))
    table["ring_buffer_bytes"] = max(MIN_RING_BYTES, min(int(table["ring_buffer_bytes"]),
                                                         table["max_total_bytes"] // 2))
    return table


def _parse_switch(value: str | None) -> bool | None:
    """CODEX_LITE_TELEMETRY: 1/true/yes/on or 0/false/no/off; anything else is ignored (with a note)."""
    if value is None or not value.strip():
        return None
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    warn(f"ignoring {ENV_VAR}={value!r} (use 1/0 or true/false)")
    return None


def warn(text: str) -> None:
    try:
        print(f"codex-lite: warning: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass

