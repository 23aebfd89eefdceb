"""The system tools the suite needs are really there: without them whole groups of tests would
skip, and a skipped test proves nothing. `scripts/test` installs them (Debian package names below)."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

BIN = os.path.dirname(sys.executable)


@pytest.mark.parametrize("tool, package", [
    ("busybox", "busybox-static"), ("tmux", "tmux"), ("dpkg-deb", "dpkg"), ("prlimit", "util-linux"),
    ("git", "git"), ("bash", "bash"),
])
def test_system_tool_is_installed(tool, package):
    assert shutil.which(tool), f"{tool} is missing: run scripts/test (it installs {package})"


@pytest.mark.parametrize("tool", ["litellm", "rg", "ruff"])
def test_test_extra_tool_is_installed(tool):
    path = os.path.join(BIN, tool)
    assert os.path.exists(path) or shutil.which(tool), \
        f"{tool} is missing: pip install -e '.[test]' (scripts/test does it)"
