"""Scenario fixtures for the apply_patch engine, in Codex's style.

Each folder of tests/apply_patch_scenarios holds `input/` (the tree before), `patch.txt`, and
`expected/` (the tree after, byte for byte). A failing scenario also has `error.txt`, a substring
the error message must contain, and then expected/ equals input/: the patch must change nothing.
`symlinks.json` ({"link": "target"}) lists symlinks to create in the copied tree before applying,
since git does not store them portably; they are expected to still be there afterwards.

The workspace root is `<tmp>/root`, so a symlink to `..` leads outside it into `<tmp>`, which must
still hold nothing but the root after the patch.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from codex_lite.tools.apply_patch import PatchError, apply_patch

SCENARIOS = Path(__file__).parent / "apply_patch_scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())


def snapshot(root: Path) -> dict[str, object]:
    """Every file (bytes), symlink ("-> target") and empty folder under root, by relative path."""
    tree: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in list(dirs):
            if (here / name).is_symlink():
                dirs.remove(name)
                files.append(name)
        if not dirs and not files and here != root:
            tree[here.relative_to(root).as_posix() + "/"] = "empty folder"
        for name in files:
            path = here / name
            rel = path.relative_to(root).as_posix()
            tree[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
    return tree


def add_symlinks(root: Path, scenario: Path) -> dict[str, str]:
    spec = scenario / "symlinks.json"
    links = json.loads(spec.read_text()) if spec.exists() else {}
    for link, target in links.items():
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / link)
    return links


def test_there_are_enough_scenarios():
    assert len(NAMES) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_scenario(name: str, tmp_path: Path):
    scenario = SCENARIOS / name
    root = tmp_path / "root"
    shutil.copytree(scenario / "input", root)
    links = add_symlinks(root, scenario)
    patch = (scenario / "patch.txt").read_bytes().decode("utf-8")
    error_file = scenario / "error.txt"

    if error_file.exists():
        with pytest.raises(PatchError) as caught:
            apply_patch(patch, str(root))
        message = str(caught.value)
        assert error_file.read_text(encoding="utf-8").rstrip("\n") in message
        assert "nothing was changed" in message
    else:
        result = apply_patch(patch, str(root))
        assert result.summary().startswith("Success. Updated the following files:\n")

    expected = snapshot(scenario / "expected")
    expected.update({link: f"-> {target}" for link, target in links.items()})
    assert snapshot(root) == expected
    assert sorted(os.listdir(tmp_path)) == ["root"], "something was written outside the root"
    assert not os.path.exists("/tmp/codex_lite_evil.txt")
