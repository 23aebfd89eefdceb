"""`codex-lite stats`. CONTRACT STUB (owned by the telemetry issue)."""

from __future__ import annotations

import sys


def main(args) -> int:
    print("codex-lite stats: no telemetry recorded yet", file=sys.stderr)
    return 1
