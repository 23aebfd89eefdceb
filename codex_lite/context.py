"""What the model is told before the first prompt: how to work, the environment, and AGENTS.md.

AGENTS.md files are read like Codex does: `$CODEX_HOME/AGENTS.md` (the user's own rules), then every
AGENTS.md from the repository root down to the working directory, so deeper files can refine the
rules of the folders above them. The total is capped so a huge file cannot blow a small context.

    build_instructions(cwd, codex_home, max_doc_bytes, agents_files=None) -> str
    describe(cwd, path=None) -> dict           platform, shell, tools present, free memory/space
    environment_text(cwd, wrap=False, path=None) -> str   the same, as the <environment_context> lines
"""

from __future__ import annotations

import os

from codex_lite import platform_info

_TOOLS = ("rg", "git", "python3")  # whether each is installed goes into the environment block

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
    sections = [BASE_INSTRUCTIONS, environment_text(cwd, wrap=True)]
    docs = read_agents_docs(agents_files, max_doc_bytes)
    if docs:
        sections.append("Instructions from AGENTS.md files (follow them; deeper folders win):\n\n" + docs)
    return "\n\n".join(sections)


# -- the environment block: device facts (platform_info) and the shell (tools/shells) -----------------


def _mb(n: int | None) -> str:
    return "unknown" if n is None else f"{n // (1024 * 1024)} MB"


def describe(cwd: str, path: str | None = None) -> dict:
    """Everything the model should know before it plans commands on this device."""
    from codex_lite.tools import shells

    kind, desc = platform_info.platform_name()
    sh = shells.script_shell(path)
    return {
        "cwd": cwd,
        "platform": kind,
        "platform_description": desc,
        "shell": os.path.basename(sh.shell) if sh.shell else None,
        "shell_path": sh.shell,
        "shell_note": sh.note,
        "busybox": bool(sh.shell) and shells.is_busybox(sh.shell),
        "tools": {name: platform_info.which(name, path=path) is not None for name in _TOOLS},
        "mem_available_bytes": platform_info.mem_available_bytes(),
        "disk_free_bytes": platform_info.disk_free_bytes(cwd),
    }


def environment_text(cwd: str, wrap: bool = False, path: str | None = None) -> str:
    """Lines for the model's <environment_context>; wrap=True adds the tags (context.py asks for them)."""
    d = describe(cwd, path)
    shell = d["shell"] or "none found"
    if d["busybox"]:
        shell = f"{shell} (BusyBox)"
    if d["shell_note"]:
        shell += f"; {d['shell_note']}"
    tools = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in d["tools"].items())
    lines = [
        f"  <cwd>{cwd}</cwd>",
        f"  <platform>{d['platform_description']}</platform>",
        f"  <shell>{shell}</shell>",
        f"  <tools>{tools}</tools>",
        f"  <memory_available>{_mb(d['mem_available_bytes'])}</memory_available>",
        f"  <disk_free>{_mb(d['disk_free_bytes'])} in the workspace</disk_free>",
    ]
    if d["busybox"] or d["platform"] == "openwrt":
        lines.append("  <userland>BusyBox applets: recursive grep and find are adapted to skip heavy "
                     "folders automatically; write POSIX sh</userland>")
    if d["platform"] == "termux":
        lines.append(f"  <temp_dir>{platform_info.temp_dir()} (use $TMPDIR for temporary files; the usual system "
                     "temp folder is not writable here)</temp_dir>")
    mem = d["mem_available_bytes"]
    if mem is not None and mem < 64 * 1024 * 1024:
        lines.append("  <warning>low memory: avoid big builds, parallel jobs and reading huge files "
                     "at once</warning>")
    body = "\n".join(lines)
    return f"<environment_context>\n{body}\n</environment_context>" if wrap else body
