"""The file list behind `@` in the REPL's prompt: a bounded walk and a fuzzy match.

`/` may be the workspace on a router, so the walk is breadth first, at most MAX_ENTRIES entries
and MAX_DEPTH levels, skips the heavy folders (`.git`, `node_modules`, ...) and symlinked folders,
and its list is kept for CACHE_SECONDS (typing after `@` does not walk the flash on every key).
"""

from __future__ import annotations

import os
import time

from codex_lite.tools.search_rails import HEAVY_DIRS

MAX_ENTRIES = 5000
MAX_DEPTH = 8
CACHE_SECONDS = 20.0


def scan(root: str, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH) -> list[str]:
    """Paths under `root`, relative, folders with a trailing `/`, shallow ones first."""
    out: list[str] = []
    level = [""]
    for _ in range(max_depth):
        below: list[str] = []
        for rel in level:
            try:
                with os.scandir(os.path.join(root, rel) if rel else root) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if len(out) >= max_entries:
                    return out
                if entry.name in HEAVY_DIRS:
                    continue
                path = rel + entry.name
                try:
                    folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if folder:
                    out.append(path + "/")
                    below.append(path + "/")
                else:
                    out.append(path)
        level = below
        if not level:
            break
    return out


def score(query: str, path: str) -> int | None:
    """How well `query` matches `path` as a subsequence (case-insensitive), higher is better; None
    when it does not. A match inside the file name beats one spread over folders; runs of
    consecutive characters and word starts count more, shorter paths win ties."""
    q, p = query.lower(), path.lower()
    name_start = len(p.rstrip("/")) - len(os.path.basename(p.rstrip("/")))
    in_name = _subsequence(q, p, name_start)
    if in_name is not None:
        return (in_name + 1000) * 100 - len(p)
    anywhere = _subsequence(q, p, 0)
    return None if anywhere is None else anywhere * 100 - len(p)


def _subsequence(q: str, p: str, at: int) -> int | None:
    total, run = 0, 0
    for c in q:
        found = p.find(c, at)
        if found < 0:
            return None
        run = run + 1 if found == at and total else 0
        total += 1 + 2 * run + (2 if found == 0 or p[found - 1] in "/._-" else 0)
        at = found + 1
    return total


def fuzzy(query: str, paths: list[str], limit: int = 30) -> list[str]:
    """The best `limit` paths for `query` (all paths, shallow first, when it is empty)."""
    if not query:
        return paths[:limit]
    scored = [(s, p) for p in paths for s in (score(query, p),) if s is not None]
    scored.sort(key=lambda sp: -sp[0])
    return [p for _, p in scored[:limit]]


class PathCache:
    """scan() of one root, kept for CACHE_SECONDS."""

    def __init__(self, root: str):
        self.root, self.paths, self.at = root, [], -CACHE_SECONDS

    def get(self) -> list[str]:
        now = time.monotonic()
        if now - self.at > CACHE_SECONDS:
            self.paths, self.at = scan(self.root), now
        return self.paths
