#!/usr/bin/env python3
"""Bytes sent and peak RSS of one long `codex-lite exec` task against the number of tool rounds:
each round the scripted model runs a command printing 8 KiB, then it answers. Side by side with
`python3 -c pass` in the same run (compare the differences, not the absolute numbers).

    .venv/bin/python bench/long_task.py [--rounds 10,50,150,300] [--window TOKENS] [--code DIR]

--window sets model_context_window and makes the scripted server enforce that window (answering a
summary request like a model would); --code runs another checkout (e.g. `git archive main` unpacked)
for a before/after comparison. Issue 17: before it, bytes sent grew with the square of the rounds.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from scripted_server import ScriptedServer, completion  # noqa: E402
from startup import MEASURER  # noqa: E402  (the same wait4() measurement)

LINE = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .....\n"  # 81 bytes


def measure(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB, exit code) of one run."""
    out = subprocess.run([sys.executable, "-S", "-c", MEASURER, cwd, *argv], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall, rss, code = json.loads(out)
    return wall, rss, code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", default="10,50,150,300")
    ap.add_argument("--window", type=int, default=None)
    ap.add_argument("--code", default=os.path.dirname(HERE), help="the checkout to run")
    args = ap.parse_args()
    code = os.path.abspath(args.code)
    compileall.compile_dir(os.path.join(code, "codex_lite"), quiet=1)
    server = ScriptedServer().start()
    server.record_bodies = False  # 300 rounds before issue 17 sent ~400 MB
    work = tempfile.mkdtemp(prefix="codex-lite-bench-")
    subprocess.run(["git", "init", "-q", work], check=True)
    with open(os.path.join(work, "big.txt"), "w") as f:
        f.write(LINE * 101)  # 8181 bytes
    py = getattr(sys, "_base_executable", sys.executable)
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "CODEX_HOME": os.path.join(work, ".home"), "LITELLM_BASE_URL": server.url,
           "LITELLM_API_KEY": "sk-bench", "PYTHONPATH": os.pathsep.join([code, deps])}
    base_wall, base_rss, _ = measure([py, "-c", "pass"], env, work)
    window = f", window {args.window} tokens" if args.window else ", window unknown"
    print(f"code {code}{window}; python3 -c pass: {base_wall * 1000:.0f} ms, {base_rss / 1024:.1f} MiB")
    print(f"{'rounds':>6} {'requests':>8} {'sent MB':>9} {'last KB':>9} {'max KB':>9} {'peak RSS MiB':>13} "
          f"{'+ MiB':>7} {'wall s':>7} {'exit':>4}")
    for rounds in (int(r) for r in args.rounds.split(",")):
        server.reset()
        server.set_window(args.window)
        server.set_script([completion(tool_calls=[("shell", {"command": ["cat", "big.txt"]})])] * rounds
                          + [completion("Done.")])
        argv = [py, "-m", "codex_lite", "exec", "-m", "scripted", "-c", f"agent.max_tool_rounds={rounds + 10}",
                "-c", "retry.wait_seconds=0"]
        if args.window:
            argv += ["-c", f"model_context_window={args.window}"]
        wall, rss, exit_code = measure([*argv, "print the big file again and again"], env, work)
        sizes = [r["bytes"] for r in server.requests() if r["path"].endswith("/chat/completions")]
        print(f"{rounds:6} {len(sizes):8} {sum(sizes) / 1e6:9.2f} {sizes[-1] / 1e3 if sizes else 0:9.1f} "
              f"{max(sizes, default=0) / 1e3:9.1f} {rss / 1024:13.1f} {(rss - base_rss) / 1024:7.1f} "
              f"{wall:7.1f} {exit_code:4}", flush=True)
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
