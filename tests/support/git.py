"""Scratch git repositories for the tests (no global or system git config is read)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=30,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})


def make_git_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A scratch git repository with `files` (default: a small Python project) committed."""
    path.mkdir(parents=True, exist_ok=True)
    files = files if files is not None else {
        "README.md": "# scratch\n\nA scratch project for codex-lite tests.\n",
        "calc.py": "def add(a, b):\n    return a - b\n",
        "notes.txt": "first line\nsecond line\n",
    }
    for name, text in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "init")
    return path
