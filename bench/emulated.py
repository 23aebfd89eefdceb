#!/usr/bin/env python3
"""Start-up on a router's CPU: the installed .ipk inside the emulated mipsel root (qemu-user,
Debian bookworm, Python 3.11, stdlib trimmed to OpenWrt's python3-light + DEPENDS), side by side
with `python3 -c pass` in the same run. Runs are interleaved and timed inside the root by one
measuring process, so the chroot's own start-up is not counted; medians are printed as a table.

    .venv/bin/python bench/emulated.py [--runs 7] [--ipk dist/codex-lite_*.ipk]

Needs root and what tests/emulated_roots.py needs (the root is built on first use, a few minutes).
Target (issue 14): one exec turn within 3.5x `python3 -c pass` there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "packaging"))

import emulated_roots  # noqa: E402
import pkgbuild  # noqa: E402
from scripted_server import ScriptedServer, completion  # noqa: E402

# Runs inside the root (its python3, no site): each case spawned in turn, wall time per run.
MEASURER = """
import json, os, sys, time
cases, runs = json.loads(sys.argv[1]), int(sys.argv[2])
out = {name: [] for name in cases}
null = os.open(os.devnull, os.O_WRONLY)
for _ in range(runs):
    for name, argv in cases.items():
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
        _, status = os.waitpid(pid, 0)
        out[name].append(time.perf_counter() - t)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{name} failed: {os.waitstatus_to_exitcode(status)}")
print(json.dumps(out))
"""

CASES = {
    "python3 -c pass": ["/usr/bin/python3", "-c", "pass"],
    "codex-lite --version": ["/usr/bin/codex-lite", "--version"],
    "codex-lite exec (1 turn, one-line answer)": ["/usr/bin/codex-lite", "exec", "-m", "scripted", "hi"],
    "codex-lite exec (1 turn, 1 command)": ["/usr/bin/codex-lite", "exec", "-m", "scripted", "list files"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ipk", type=Path, help="an .ipk to install (default: build one from this tree)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="codex-lite-emulated-"))
    try:
        ipk = args.ipk or pkgbuild.build_ipk(work / "dist", work / "pkg",
                                             pkgbuild.fetch_wheels(pkgbuild.read_pins()))
        root = emulated_roots.session_copy("mipsel", work / "mipsel")
        emulated_roots.trim_stdlib(root, set(pkgbuild.openwrt_depends()))
        emulated_roots.install_ipk(root, ipk)
        (root / "work" / ".git").mkdir(parents=True)
        (root / "work" / "notes.txt").write_text("hello\n")
        server = ScriptedServer().start()
        try:
            per_run = [completion("Hi."), completion(tool_calls=[("shell", {"command": ["ls"]})]),
                       completion("One file: notes.txt.")]
            server.set_script(per_run * args.runs)
            env = emulated_roots.device_env("mipsel", {"LITELLM_BASE_URL": server.url,
                                                        "LITELLM_API_KEY": "sk-bench",
                                                        "CODEX_HOME": "/root/.codex-lite"})
            done = emulated_roots.run_in(root, ["/usr/bin/python3", "-S", "-c", MEASURER, json.dumps(CASES),
                                                str(args.runs)], env, cwd="/work", timeout=3600)
        finally:
            server.stop()
        results = json.loads(done.stdout)
    finally:
        emulated_roots.remove_tree(work)
    base = statistics.median(results["python3 -c pass"])
    print(f"| case (mipsel under qemu, median of {args.runs}) | wall ms | x python |")
    print("| --- | ---: | ---: |")
    for name, runs in results.items():
        wall = statistics.median(runs)
        print(f"| `{name}` | {wall * 1000:.0f} | {wall / base:.2f} |")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("bench/emulated.py needs root (chroot)")
    raise SystemExit(main())
