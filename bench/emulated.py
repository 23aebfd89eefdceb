#!/usr/bin/env python3
"""Start-up on a router's CPU: the installed .ipk inside the emulated mipsel root (qemu-user,
Debian bookworm, Python 3.11, stdlib trimmed to OpenWrt's python3-light + DEPENDS), side by side
with `python3 -c pass` in the same run. Runs are interleaved and timed inside the root by one
measuring process, so the chroot's own start-up is not counted; medians of wall time and of CPU
time (steadier on a busy machine) are printed as a table.

    .venv/bin/python bench/emulated.py [--runs 7] [--ipk dist/codex-lite_*.ipk] [--baseline OLD.ipk]

--baseline installs a second package (say, the last release) under /opt/baseline in the same root,
and its cases run interleaved with the others: a before/after comparison from one run.

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

# Runs inside the root (its python3, no site): each case spawned in turn; per run the wall time
# and the CPU time (user + system of the child, which under qemu-user is the emulator's own: much
# steadier than wall time when other work shares the machine).
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
        _, status, usage = os.wait4(pid, 0)
        out[name].append((time.perf_counter() - t, usage.ru_utime + usage.ru_stime))
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
    ap.add_argument("--baseline", type=Path, help="another .ipk to compare with, run interleaved")
    args = ap.parse_args()
    cases = dict(CASES)
    if args.baseline:
        cases.update({f"baseline: {name}": [argv[0].replace("/usr/", "/opt/baseline/usr/"), *argv[1:]]
                      for name, argv in CASES.items() if argv[0] == "/usr/bin/codex-lite"})
    work = Path(tempfile.mkdtemp(prefix="codex-lite-emulated-"))
    try:
        ipk = args.ipk or pkgbuild.build_ipk(work / "dist", work / "pkg",
                                             pkgbuild.fetch_wheels(pkgbuild.read_pins()))
        root = emulated_roots.session_copy("mipsel", work / "mipsel")
        emulated_roots.trim_stdlib(root, set(pkgbuild.openwrt_depends()))
        emulated_roots.install_ipk(root, ipk)
        if args.baseline:
            emulated_roots.install_ipk(root, args.baseline, "/opt/baseline")
        (root / "work" / ".git").mkdir(parents=True)
        (root / "work" / "notes.txt").write_text("hello\n")
        server = ScriptedServer().start()
        try:
            per_run = [completion("Hi."), completion(tool_calls=[("shell", {"command": ["ls"]})]),
                       completion("One file: notes.txt.")]
            server.set_script(per_run * args.runs * (2 if args.baseline else 1))
            env = emulated_roots.device_env("mipsel", {"LITELLM_BASE_URL": server.url,
                                                        "LITELLM_API_KEY": "sk-bench",
                                                        "CODEX_HOME": "/root/.codex-lite"})
            done = emulated_roots.run_in(root, ["/usr/bin/python3", "-S", "-c", MEASURER, json.dumps(cases),
                                                str(args.runs)], env, cwd="/work", timeout=3600)
        finally:
            server.stop()
        results = json.loads(done.stdout)
    finally:
        emulated_roots.remove_tree(work)
    base_wall = statistics.median(w for w, _ in results["python3 -c pass"])
    base_cpu = statistics.median(c for _, c in results["python3 -c pass"])
    print(f"| case (mipsel under qemu, median of {args.runs}) | wall ms | x python | CPU ms | x python |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, runs in results.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"| `{name}` | {wall * 1000:.0f} | {wall / base_wall:.2f} | {cpu * 1000:.0f} | {cpu / base_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("bench/emulated.py needs root (chroot)")
    raise SystemExit(main())
