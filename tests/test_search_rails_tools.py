"""The search rails against the real tools: GNU grep/find, BusyBox applets, ripgrep.

Each command is resolved (shells.resolve) and rewritten (search_rails.rewrite) exactly as the shell
tool does, then run with PATH reduced to one sandbox folder of symlinks:
- "gnu": GNU grep, find, bash, sh and a few coreutils;
- "busybox": every applet of Debian's busybox-static (`busybox --list`), nothing else; no bash.
The results must be the same lines and exit codes, with no heavy folder in them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from codex_lite.tools import search_rails, shells
from codex_lite.tools.search_rails import HEAVY_DIRS

BUSYBOX = shutil.which("busybox")
PRLIMIT = shutil.which("prlimit")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="apt-get install busybox-static")


def _find_rg() -> str | None:
    """rg from PATH, or next to this Python (PyPI's ripgrep package in the venv)."""
    near = os.path.join(os.path.dirname(sys.executable), "rg")
    return shutil.which("rg") or (near if os.access(near, os.X_OK) else None)


RG = _find_rg()


def _link_dir(folder, programs: dict) -> str:
    folder.mkdir()
    for name, target in programs.items():
        if target:
            os.symlink(target, folder / name)
    return str(folder)


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory):
    """PATH folders: gnu (GNU tools, plus rg when available) and busybox (applets only)."""
    base = tmp_path_factory.mktemp("path")
    tools = ["grep", "egrep", "find", "bash", "sh", "xargs", "head", "sort", "cat", "wc", "echo", "tr", "id"]
    paths = {"gnu": _link_dir(base / "gnu", {t: shutil.which(t) for t in tools})}
    if RG:
        paths["rg"] = _link_dir(base / "rg", {**{t: shutil.which(t) for t in tools}, "rg": RG})
    if BUSYBOX:
        applets = subprocess.run([BUSYBOX, "--list"], check=False, capture_output=True, text=True).stdout.split()
        paths["busybox"] = _link_dir(base / "busybox", {a: BUSYBOX for a in applets})
    return paths


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A workspace with TODOs in src/ and in every heavy folder, top level and nested."""
    root = tmp_path_factory.mktemp("ws")
    (root / "src" / "notes dir").mkdir(parents=True)
    (root / "src" / "main.py").write_text("x = 1  # TODO: fix this\n")
    (root / "src" / "notes dir" / "it's here.txt").write_text("it's a \"TODO\" with spaces\n")
    (root / "docs").mkdir()
    (root / "docs" / "readme.md").write_text("nothing to see\n")
    for heavy in HEAVY_DIRS:
        for where in (root / heavy, root / "src" / heavy / "pkg"):
            where.mkdir(parents=True)
            (where / "f.txt").write_text("TODO: must never be found\n")
            (where / "x.py").write_text("# TODO: must never be found\n")
    return str(root)


def _run(argv, sandbox, cwd, monkeypatch):
    """resolve + rewrite like the shell tool, then run with PATH = the sandbox only."""
    monkeypatch.setenv("PATH", sandbox)
    monkeypatch.delenv("SHELL", raising=False)
    search_rails.reset_cache()
    shells.reset_notes()
    resolved = shells.resolve(argv, path=sandbox)
    final = search_rails.rewrite(resolved.argv, path=sandbox)
    env = {"PATH": sandbox, "HOME": cwd, "LC_ALL": "C"}
    p = subprocess.run(final, check=False, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60)
    return p.returncode, sorted(p.stdout.decode("utf-8", "replace").splitlines()), resolved


def _clean(lines):
    for line in lines:
        parts = line.replace(":", "/").split("/")
        assert not set(parts) & set(HEAVY_DIRS), line
        assert "must never be found" not in line, line


SCRIPTS = [
    ("grep -rn TODO .", 0),
    ("grep -rn TODO", 0),
    ("grep -rln TODO src docs", 0),
    ("grep -rn \"it's a \\\"TODO\\\" with\" .", 0),
    ("grep -rn 'no such text anywhere' .", 1),
    ("grep -rn TODO missing_dir", 2),
    ("grep -rniE 'todo:? (fix|\"todo\")' .", 0),
    ("grep -rn --include='*.py' TODO .", 0),
    ("pat='TODO:'; grep -rn \"$pat\" . | sort", 0),
    ("cd src && grep -Rn TODO . | sort", 0),
    ("grep -rq TODO . && echo found", 0),
    ("grep -rc TODO src docs | sort", 0),
    ("find . -type f | sort", 0),
    ("find . -name '*.txt' -o -name '*.py' | sort", 0),
    ("find src -type f -name '*.py'", 0),
    ("find . -type f -not -path '*/node_modules/*' | sort", 0),
    ("grep -rn --include=*.{py,txt} TODO . | sort", 0),
    ("grep -rn TODO * | sort", 0),
    ("grep -rln TODO src/* | sort", 0),
    ("for f in $(find . -name '*.md'); do wc -l < \"$f\"; done", 0),
]


@pytest.mark.parametrize("script,rc", SCRIPTS)
def test_gnu_scripts_skip_heavy_folders(script, rc, sandboxes, tree, monkeypatch):
    code, lines, _ = _run(["bash", "-lc", script], sandboxes["gnu"], tree, monkeypatch)
    assert code == rc, lines
    _clean(lines)
    if "TODO" in script and rc == 0 and "-rq" not in script and "-rc" not in script:
        assert any("src/" in line or "main.py" in line for line in lines)


@needs_busybox
@pytest.mark.parametrize("script,rc", SCRIPTS)
def test_busybox_gives_the_same_results_as_gnu(script, rc, sandboxes, tree, monkeypatch):
    gnu = _run(["bash", "-lc", script], sandboxes["gnu"], tree, monkeypatch)
    bb = _run(["bash", "-lc", script], sandboxes["busybox"], tree, monkeypatch)
    assert bb[2].asked == "bash" and "ash" in bb[2].argv[0]  # bash is missing there: ash ran it
    assert (bb[0], bb[1]) == (gnu[0], gnu[1])
    _clean(bb[1])


@needs_busybox
@pytest.mark.parametrize("argv", [
    ["grep", "-rn", "TODO", "."], ["grep", "-rl", "TODO"], ["find", ".", "-type", "f"],
    ["grep", "-rn", "it's a \"TODO\"", "src"], ["egrep", "-rn", "TODO|nothing", "."],
])
def test_argv_commands_match(argv, sandboxes, tree, monkeypatch):
    gnu = _run(argv, sandboxes["gnu"], tree, monkeypatch)
    bb = _run(argv, sandboxes["busybox"], tree, monkeypatch)
    assert gnu[0] == bb[0] == 0
    assert gnu[1] == [x.replace("egrep: warning: egrep is obsolescent", "") for x in bb[1]] or \
        [x for x in gnu[1] if "obsolescent" not in x] == bb[1]
    _clean(bb[1])


@needs_busybox
def test_premise_busybox_grep_has_no_exclude_dir(sandboxes, tree):
    """Why the helper exists: the GNU form fails on BusyBox with exit 2."""
    env = {"PATH": sandboxes["busybox"]}
    p = subprocess.run(["grep", "-rn", "--exclude-dir=.git", "TODO", "."], check=False, cwd=tree, env=env,
                       capture_output=True)
    assert p.returncode == 2 and b"unrecognized option" in p.stderr
    assert search_rails.grep_excludes_dirs("grep", sandboxes["busybox"]) is False
    assert search_rails.find_caps("find", sandboxes["busybox"])[0] is True


def test_premise_unrewritten_grep_finds_heavy_todos(sandboxes, tree):
    p = subprocess.run(["grep", "-rn", "TODO", "."], check=False, cwd=tree, env={"PATH": sandboxes["gnu"]},
                       capture_output=True, text=True)
    assert "must never be found" in p.stdout


@pytest.mark.skipif(RG is None, reason="PyPI ripgrep (test extra) not installed")
@pytest.mark.parametrize("rg,grep", [
    (["rg", "-n", "TODO", "."], ["grep", "-rn", "TODO", "."]),
    (["rg", "-n", "--hidden", "TODO", "."], ["grep", "-rn", "TODO", "."]),
    (["rg", "-uu", "-n", "TODO", "."], ["grep", "-rn", "TODO", "."]),
    (["rg", "-l", "TODO", "src", "docs"], ["grep", "-rl", "TODO", "src", "docs"]),
    (["rg", "-n", "nothing at all here", "."], ["grep", "-rn", "nothing at all here", "."]),
])
def test_rg_and_grep_find_the_same(rg, grep, sandboxes, tree, monkeypatch):
    a = _run(rg, sandboxes["rg"], tree, monkeypatch)
    b = _run(grep, sandboxes["rg"], tree, monkeypatch)
    assert (a[0], a[1]) == (b[0], b[1])
    _clean(a[1])
    if BUSYBOX:
        assert _run(grep, sandboxes["busybox"], tree, monkeypatch)[:2] == b[:2]


@needs_busybox
def test_bash_only_script_is_explained_not_127(sandboxes, tree, monkeypatch):
    code, lines, _resolved = _run(["bash", "-lc", "arr=(a b); echo ${arr[1]}"], sandboxes["busybox"], tree,
                                 monkeypatch)
    assert code == 2
    text = "\n".join(lines)
    assert "bash is not installed" in text and "Nothing was run" in text and "POSIX sh" in text


@needs_busybox
@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) missing")
def test_helper_runs_under_128_mb_address_space(sandboxes, tree, monkeypatch):
    monkeypatch.setenv("PATH", sandboxes["busybox"])
    search_rails.reset_cache()
    argv = search_rails.rewrite(["grep", "-rn", "TODO", "."], path=sandboxes["busybox"])
    assert "--rail-grep" in argv
    p = subprocess.run([PRLIMIT, "--as=134217728", "--"] + argv, check=False, cwd=tree,
                       env={"PATH": sandboxes["busybox"]}, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "./src/main.py:1:x = 1  # TODO: fix this" in p.stdout.splitlines()
    _clean(p.stdout.splitlines())
