"""What the model is told before the first prompt: how to work, the environment, and AGENTS.md.

AGENTS.md files are read like Codex does: `$CODEX_HOME/AGENTS.md` (the user's own rules), then every
AGENTS.md from the repository root down to the working directory, so deeper files can refine the
rules of the folders above them. The total is capped so a huge file cannot blow a small context.
"""

from __future__ import annotations

import os

from codex_lite import platform_info

BASE_INSTRUCTIONS = """\
You are codex-lite, a coding agent working in the user's folder on a small device (a router, a
phone or a thin SSH box). Do the task with the tools, then answer with a short final message.

Tools:
- shell: run a command as an argv list, e.g. ["ls", "-la"] or ["bash", "-lc", "grep -rn TODO ."].
  Output is truncated to its head and tail; prefer targeted commands (rg, grep -n, sed -n 1,80p).
- apply_patch: edit files with a patch:
  *** Begin Patch
  *** Update File: path/to/file.py
  @@ def context_line():
  -old line
  +new line
  *** End Patch
  Also "*** Add File: p" (every line starts with +) and "*** Delete File: p". Paths are relative.
- update_plan: keep a short plan up to date on longer tasks.

Rules: work inside the current folder; read before you edit; keep changes minimal and in the
project's style; run the project's tests when there are some; never print secrets. The device may be
slow and short of memory: avoid commands that walk huge trees or load big files."""


def find_repo_root(path: str) -> str | None:
    """The nearest folder at or above `path` that holds .git, or None outside a repository."""
    probe = os.path.abspath(path)
    while not os.path.exists(os.path.join(probe, ".git")):
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    return probe


def find_agents_files(cwd: str, codex_home: str) -> list[str]:
    """Global AGENTS.md first, then from the repo root (the nearest folder with .git) down to cwd.
    A repository's AGENTS.md that is a link leading out of it is skipped: its text goes to the
    model server unasked, and a hostile repository would point it at ~/.ssh/id_rsa."""
    cwd = os.path.abspath(cwd)
    root = find_repo_root(cwd) or cwd  # no repository: only the cwd itself
    chain = [cwd]
    while chain[-1] != root:
        chain.append(os.path.dirname(chain[-1]))
    real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
    found = [os.path.join(d, "AGENTS.md") for d in reversed(chain)]
    inside = [f for f in found if os.path.realpath(f).startswith(real_root)]
    return [f for f in [os.path.join(codex_home, "AGENTS.md"), *inside] if os.path.isfile(f)]


def read_agents_docs(paths: list[str], max_bytes: int) -> str:
    parts, budget = [], max_bytes
    for path in paths:
        if budget <= 0:
            break
        try:
            with open(path, "rb") as f:
                data = f.read(budget)
        except OSError:
            continue
        budget -= len(data)
        parts.append(f"--- {path} ---\n{data.decode('utf-8', 'replace').strip()}")
    return "\n\n".join(parts)


def build_instructions(cwd: str, codex_home: str, max_doc_bytes: int,
                       agents_files: list[str] | None = None) -> str:
    agents_files = find_agents_files(cwd, codex_home) if agents_files is None else agents_files
    sections = [BASE_INSTRUCTIONS, platform_info.environment_text(cwd, wrap=True)]
    docs = read_agents_docs(agents_files, max_doc_bytes)
    if docs:
        sections.append("Instructions from AGENTS.md files (follow them; deeper folders win):\n\n" + docs)
    return "\n\n".join(sections)
