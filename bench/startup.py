#!/usr/bin/env python3
"""Wall time and peak RSS of `python3 -c pass`, `codex-lite --version` and one `codex-lite exec`
turn against the scripted model server, side by side in one run (the machine is noisy: compare the
ratios, not the absolute numbers).

    .venv/bin/python bench/startup.py [--runs 7]

Targets (issue "The agent engine"): exec turn peak RSS within 16 MiB of bare python, exec turn wall
time within 13x of it, --version within 1.5x of it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from scripted_server import ScriptedServer, completion  # noqa: E402


# Peak RSS from wait4() counts the pages a child shares with its parent before exec (fork copies,
# vfork borrows), so the child is started by a minimal interpreter (-S: no site) rather than by this
# process with its server thread and imports.
MEASURER = """
import os, sys, time, json
os.chdir(sys.argv[1])
t = time.perf_counter()
null = os.devnull
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps([time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def measure(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one run."""
    out = subprocess.run([sys.executable, "-S", "-c", MEASURER, cwd, *argv], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, rss, code = json.loads(out)
    if code != 0:
        raise SystemExit(f"{argv} failed with exit code {code}")
    return wall, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    # Installed packages (wheel, .ipk, .deb) run from bytecode; compiling 5000 lines of source on
    # every start would dominate both numbers, so measure what users run.
    compileall.compile_dir(os.path.join(os.path.dirname(HERE), "codex_lite"), quiet=1)
    server = ScriptedServer().start()
    work = tempfile.mkdtemp(prefix="codex-lite-bench-")
    subprocess.run(["git", "init", "-q", work], check=True)
    # The plain interpreter, with our code and dependencies on PYTHONPATH: that is how an installed
    # package runs (a venv's editable-install hook alone costs ~8 ms and several MiB per start).
    py = getattr(sys, "_base_executable", sys.executable)
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "CODEX_HOME": os.path.join(work, ".home"), "LITELLM_BASE_URL": server.url,
           "LITELLM_API_KEY": "sk-bench",  # telemetry at its default (on), as users run it
           "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE), deps])}
    cases = {
        "python3 -c pass": [py, "-c", "pass"],
        "codex-lite --version": [py, "-m", "codex_lite", "--version"],
        "codex-lite exec (1 turn, 1 command)": [py, "-m", "codex_lite", "exec", "-m", "scripted",
                                                "list the files"],
    }
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so drift hits every case alike
        for name, argv in cases.items():
            if "exec" in name:
                server.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]),
                                   completion("Done.")])
            results[name].append(measure(argv, env, work))
    server.stop()
    base_wall = statistics.median(w for w, _ in results["python3 -c pass"])
    base_rss = statistics.median(r for _, r in results["python3 -c pass"])
    print(f"{'case':40} {'wall ms':>9} {'x python':>9} {'peak RSS MiB':>13} {'+ MiB':>7}")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        rss = statistics.median(r for _, r in runs)
        print(f"{name:40} {wall * 1000:9.1f} {wall / base_wall:9.2f} {rss / 1024:13.1f} "
              f"{(rss - base_rss) / 1024:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
