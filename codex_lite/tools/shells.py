"""Which shell really runs a script. CONTRACT STUB (owned by the userland issue).

    resolve(argv) -> Resolved(argv, note)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Resolved:
    argv: list[str]
    note: str | None = None  # told to the model when the shell it asked for was replaced


def resolve(argv: list[str]) -> Resolved:
    return Resolved(list(argv))
