#!/usr/bin/env python3
"""Peak RSS of the agent while a command prints without end, side by side with `python3 -c pass`.

    .venv/bin/python bench/command_output.py [--runs 3] [--source DIR]

Cases, each a real process measured with wait4() from a minimal interpreter (bench/startup.py's
way, so the harness's own pages are not counted): the bare interpreter; the shell runner alone
(`run_command` in a small script) running the command; one `codex-lite exec` turn in which the
scripted model runs it. Commands: `yes | head -c 1e9` (500 million two-byte lines) and one line of
200 MB. Budget (issue 12): the exec turn within bare python + 32 MiB whatever the line lengths.
`--source DIR` runs another checkout's codex_lite (e.g. `git worktree add /tmp/old c3e7e38`), to
compare before and after in one run on the same noisy machine.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from scripted_server import ScriptedServer, completion
from startup import measure

COMMANDS = {
    "yes | head -c 1e9": "yes | head -c 1000000000",
    "one 200 MB line": "head -c 200000000 /dev/zero | tr '\\0' x",
}
RUNNER = ("import sys\nfrom codex_lite.tools.shell import ShellSettings, run_command\n"
          "r = run_command(['sh', '-c', sys.argv[1]], '.', ShellSettings(timeout_ms=600000))\n"
          "sys.exit(r.exit_code)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--source", default=os.path.dirname(HERE), help="checkout whose codex_lite runs")
    args = ap.parse_args()
    source = os.path.abspath(args.source)
    compileall.compile_dir(os.path.join(source, "codex_lite"), quiet=1)
    server = ScriptedServer().start()
    work = tempfile.mkdtemp(prefix="codex-lite-bench-")
    subprocess.run(["git", "init", "-q", work], check=True)
    py = getattr(sys, "_base_executable", sys.executable)
    env = {**os.environ, "CODEX_HOME": os.path.join(work, ".home"), "LITELLM_BASE_URL": server.url,
           "LITELLM_API_KEY": "sk-bench", "PYTHONPATH": os.pathsep.join([source,
                                                                          sysconfig.get_paths()["purelib"]])}
    cases: dict[str, tuple[list[str], str | None]] = {"python3 -c pass": ([py, "-c", "pass"], None)}
    for label, script in COMMANDS.items():
        cases[f"runner: {label}"] = ([py, "-c", RUNNER, script], None)
        cases[f"exec turn: {label}"] = ([py, "-m", "codex_lite", "exec", "-m", "scripted", "go"], script)
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so drift hits every case alike
        for name, (argv, script) in cases.items():
            if script is not None:
                server.set_script([completion(tool_calls=[("shell", {"command": ["sh", "-c", script],
                                                                     "timeout_ms": 600000})]),
                                   completion("Done.")])
            results[name].append(measure(argv, env, work))
    server.stop()
    base_rss = statistics.median(r for _, r in results["python3 -c pass"])
    print(f"source: {source}")
    print(f"| {'case':34} | {'wall s':>7} | {'peak RSS MiB':>12} | {'+ MiB over python':>17} |")
    print(f"| {'-' * 34} | {'-' * 6}: | {'-' * 11}: | {'-' * 16}: |")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        rss = statistics.median(r for _, r in runs)
        print(f"| {name:34} | {wall:7.2f} | {rss / 1024:12.1f} | {(rss - base_rss) / 1024:17.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
