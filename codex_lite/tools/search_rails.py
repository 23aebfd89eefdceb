"""Keep recursive searches out of heavy folders. CONTRACT STUB (owned by the userland issue).

    rewrite(argv) -> list[str]
"""

from __future__ import annotations

HEAVY_DIRS = (".git", ".rustup", ".cargo", ".codex", ".npm", ".cache", ".local", ".venv", "node_modules")


def rewrite(argv: list[str]) -> list[str]:
    return list(argv)
