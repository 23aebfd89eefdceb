"""Every module `codex-lite` imports, mapped to the OpenWrt package that ships it.

OpenWrt splits the standard library: python3-light is most of it, and the modules in
openwrt_stdlib.py live in their own python3-* packages. openwrt/Makefile must DEPEND on exactly
the packages whose modules the installed agent loads, apart from OPTIONAL ones that are only tried.

The runs are real: the unpacked .ipk with a clean interpreter, `codex-lite exec --json` doing a
shell command and a patch against the scripted model, and the REPL on a pseudo-terminal doing one
turn. A sitecustomize on PYTHONPATH records sys.modules at exit. Then the same runs again with
every module of an undeclared package made unimportable, as on a router that has only DEPENDS.
"""

from __future__ import annotations

import ast
import os
import pty
import signal
import time
from pathlib import Path

import pytest
from support.git import make_git_repo
from openwrt_stdlib import ABSENT, MODULE_PACKAGE, OPTIONAL, SPLIT_PACKAGES
from processes import read_pty
from scripted_server import completion
from test_packaging import build_packages_once, pkgbuild  # pkgbuild: packaging/ is put on sys.path there
from test_packaging_install import (
    ASH,
    base_python,
    device_env,
    make_clean_python,
    run_capped,
    unpack_ipk,
    vm_hwm,
)

REPO = Path(__file__).resolve().parent.parent

HOOK = '''"""Test hook: record sys.modules at exit; make CODEX_LITE_BLOCK's modules unimportable."""
import atexit, os, sys

_BLOCK = set(filter(None, os.environ.get("CODEX_LITE_BLOCK", "").split(",")))


class _NotOnThisRouter:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r} (its OpenWrt package is not installed)",
                                      name=name)
        return None


sys.meta_path.insert(0, _NotOnThisRouter())


def _dump():
    with open(os.environ["CODEX_LITE_DUMP_MODULES"], "a") as f:
        f.write("\\n".join(sorted(sys.modules)) + "\\n")


atexit.register(_dump)
'''

REPL_MAX_RSS = 64 * 1024 * 1024  # prompt-toolkit and asyncio on top of what exec loads
PATCH = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n*** End Patch\n"


def package_of(module: str) -> str | None:
    return MODULE_PACKAGE.get(module.partition(".")[0])


def declared() -> set[str]:
    deps = pkgbuild.openwrt_depends()
    assert "python3-light" in deps and "python3" not in deps, deps
    return set(deps) - {"python3-light"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The unpacked .ipk, a clean interpreter without psutil, the hook folder."""
    tmp = tmp_path_factory.mktemp("imports")
    packages = build_packages_once(tmp_path_factory)
    hook = tmp / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    return {"launcher": unpack_ipk(packages["ipk"], tmp / "root"), "hook": hook,
            "python": make_clean_python(tmp / "py", base_python(), False)}


def hook_env(installed, tmp: Path, model, block: set[str]) -> tuple[dict[str, str], Path]:
    dump = tmp / "modules.txt"
    modules = sorted(m for pkg in block for m in SPLIT_PACKAGES[pkg])
    env = device_env(installed["python"], tmp, model.base_url,
                     {"PYTHONPATH": str(installed["hook"]), "CODEX_LITE_DUMP_MODULES": str(dump),
                      "CODEX_LITE_BLOCK": ",".join(modules)})
    return env, dump


# --------------------------------------------------------------------------- the two front ends


def exec_modules(installed, model, tmp: Path, block: set[str]) -> set[str]:
    """`exec --json`: a shell command, a patch, an answer. Returns the modules loaded."""
    repo = make_git_repo(tmp / "repo")
    model.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]),
                      completion(tool_calls=[("apply_patch", {"input": PATCH})]),
                      completion("fixed")])
    env, dump = hook_env(installed, tmp, model, block)
    code, out, err, _ = run_capped(installed["launcher"], ["exec", "--json", "fix calc.py"], repo, env)
    assert code == 0, f"{out[-2000:]}\n{err[-3000:]}"
    assert "return a + b" in (repo / "calc.py").read_text() and '"fixed"' in out
    return set(dump.read_text().split())


def repl_modules(installed, model, tmp: Path, block: set[str]) -> set[str]:
    """The REPL on a pseudo-terminal: one turn, then /quit. Returns the modules loaded."""
    repo = make_git_repo(tmp / "repo")
    model.set_script([completion("pong from the model")])
    env, dump = hook_env(installed, tmp, model, block)
    env["TERM"] = "xterm"
    pid, fd = pty.fork()
    if pid == 0:  # child: become the installed launcher
        os.chdir(repo)
        os.execve(ASH[0], ["busybox", *ASH[1:], str(installed["launcher"]), "-m", "scripted"], env)
    peak = [0]
    try:
        screen = _drive(fd, [(b"", b"ping\r"), (b"pong from the model", b"/quit\r")], pid, peak)
        status = _wait(pid, 30)
    finally:
        os.close(fd)
    assert b"pong from the model" in screen and status == 0, screen[-3000:]
    assert 0 < peak[0] < REPL_MAX_RSS, f"REPL peak RSS {peak[0] / 2**20:.1f} MB"
    return set(dump.read_text().split())


def _drive(fd: int, steps: list[tuple[bytes, bytes]], pid: int, peak: list[int], timeout: float = 30) -> bytes:
    """For each step wait until the screen shows `expect`, then type `keys`; answer CPR queries;
    keep the REPL's peak RSS (VmHWM) in peak[0]."""
    screen = b""
    for expect, keys in steps:
        deadline = time.monotonic() + timeout
        while expect not in screen and time.monotonic() < deadline:
            screen += read_pty(fd, 0.1) or b""
            peak[0] = max(peak[0], vm_hwm(pid))
        time.sleep(0.3)
        screen += read_pty(fd, 0.1) or b""
        peak[0] = max(peak[0], vm_hwm(pid))
        os.write(fd, keys)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        peak[0] = max(peak[0], vm_hwm(pid))
        chunk = read_pty(fd, 0.2)
        if chunk is None:
            break
        screen += chunk
    return screen


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


# --------------------------------------------------------------------------- the tests


def test_makefile_depends_on_exactly_what_is_imported(installed, model, tmp_path):
    """Measured, not guessed: a new import of (say) sqlite3 fails here until the Makefile says
    +python3-sqlite3; a dependency nothing imports any more fails too."""
    (tmp_path / "exec").mkdir()
    (tmp_path / "repl").mkdir()
    loaded = exec_modules(installed, model, tmp_path / "exec", set())
    # What the router's start-up must not pay for (bench/emulated.py): importlib.metadata (the
    # vendored urllib3 is edited, LAZY_IMPORTS), shutil (bz2, lzma), dataclasses, the TOML parser
    assert not loaded & {"importlib.metadata", "shutil", "dataclasses", "inspect", "tomllib"}
    assert "urllib3.http2" in loaded
    loaded |= repl_modules(installed, model, tmp_path / "repl", set())
    assert "codex_lite.exec" in loaded and "prompt_toolkit" in loaded and "urllib3" in loaded
    absent = sorted(m for m in loaded if m.partition(".")[0] in ABSENT)
    assert not absent, f"not available on OpenWrt: {absent}"
    needed: dict[str, list[str]] = {}
    for module in sorted(loaded):
        pkg = package_of(module)
        if pkg and pkg not in OPTIONAL:
            needed.setdefault(pkg, []).append(module)
    missing = {p: m[:5] for p, m in needed.items() if p not in declared()}
    unused = declared() - set(needed)
    assert not missing, f"openwrt/Makefile DEPENDS lacks {missing}"
    assert not unused, f"openwrt/Makefile DEPENDS on packages nothing imports: {sorted(unused)}"


def test_runs_with_only_the_declared_packages(installed, model, tmp_path):
    """A router with DEPENDS and nothing more: every other split package's modules (ssl and lzma
    too) are unimportable, and both front ends still work."""
    block = set(SPLIT_PACKAGES) - declared()
    assert {"python3-openssl", "python3-lzma", "python3-ctypes", "python3-sqlite3"} <= block
    (tmp_path / "exec").mkdir()
    (tmp_path / "repl").mkdir()
    loaded = exec_modules(installed, model, tmp_path / "exec", block)
    loaded |= repl_modules(installed, model, tmp_path / "repl", block)
    assert not {m for m in loaded if package_of(m) in block}


def test_lazy_imports_in_our_code_are_declared():
    """Imports on paths the runs above do not take (a slash command, an error branch) still
    need their package: read every import statement in codex_lite/."""
    allowed = declared() | set(OPTIONAL)
    offenders = []
    for path in sorted((REPO / "codex_lite").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                pkg = package_of(name)
                if name.partition(".")[0] in ABSENT or (pkg and pkg not in allowed):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {name} -> {pkg or 'absent'}")
    assert not offenders, "\n".join(offenders)


def test_mapping_covers_openwrts_split_packages():
    """The table above against what OpenWrt's python3 Makefile splits out (python3-find-stdlib-
    depends.sh lists the same modules)."""
    assert len(SPLIT_PACKAGES) == 24 and len(MODULE_PACKAGE) == sum(map(len, SPLIT_PACKAGES.values()))
    for pkg, reason in OPTIONAL.items():
        assert pkg in SPLIT_PACKAGES and pkg not in declared() and reason
