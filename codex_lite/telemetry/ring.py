"""The in-memory ring buffer of serialized events, capped in bytes.

    Ring(cap).add(line); Ring.drain() -> (lines, dropped); .lines, .bytes, .dropped, .cap

Why apart: the ring is what keeps telemetry's memory bounded whatever the event rate, and is the one
piece a reader of the memory budget needs to check.
"""

from __future__ import annotations

import json
from collections import deque

ENTRY_OVERHEAD = 64              # a str header and a deque slot: charged per event so the cap is memory


class Ring:
    """Serialized events, newest last, at most `cap` bytes counting a fixed per-entry overhead, so
    memory stays bounded whatever the event rate. Adding is O(1) amortised; the oldest go first."""

    def __init__(self, cap: int):
        self.cap = cap
        self.lines: deque[str] = deque()
        self.bytes = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(line) + ENTRY_OVERHEAD > self.cap:
            line = json.dumps({"event": "oversized", "bytes": len(line)})
        self.lines.append(line)
        self.bytes += len(line) + ENTRY_OVERHEAD
        while self.bytes > self.cap:
            self.bytes -= len(self.lines.popleft()) + ENTRY_OVERHEAD
            self.dropped += 1

    def drain(self) -> tuple[list[str], int]:
        """Everything buffered and the number dropped since the last drain; leaves the ring empty."""
        lines, dropped = list(self.lines), self.dropped
        self.lines.clear()
        self.bytes = self.dropped = 0
        return lines, dropped
