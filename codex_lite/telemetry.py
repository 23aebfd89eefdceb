"""Telemetry sized for routers. CONTRACT STUB (owned by the telemetry issue).

    start(config, session_id, enabled=None) -> Telemetry | None
        enabled: the --telemetry/--no-telemetry flag (None = config/env decide).
    Telemetry is an event listener (call it with each event) with close().
"""

from __future__ import annotations

from typing import Any


class Telemetry:
    def __call__(self, event: Any) -> None:
        pass

    def close(self) -> None:
        pass


def start(config: Any, session_id: str, enabled: bool | None = None) -> Telemetry | None:
    return None
