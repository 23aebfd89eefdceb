#!/usr/bin/env python3
"""Budgets on hostile model servers: peak RSS of `codex-lite exec` against bombs and huge answers,
and how long a broken server takes to fail with the default settings, side by side with a bare
`python3 -c pass` in the same run (the machine is noisy: compare, don't trust absolute numbers).

    .venv/bin/python bench/faults_bench.py [--runs 3] [--slow]

Memory cases (median of --runs): bare python, a normal exec turn, a gzip bomb and a deflate bomb
(1 MB on the wire, 1 GiB inflated), a plain 50 MB answer, 100,000 structured tool calls in one
answer, a 200,000-deep JSON body, and resuming a session file with a 300 MB line. Each process
writes its own VmHWM at exit (a sitecustomize hook), as in bench/repl_rss.py.

Time cases (one run each, defaults untouched): a 503 every time, a 429 with `Retry-After: 999999`,
and with --slow (about 10 minutes) a silent server and a `Retry-After: 60` that never ends. The
misbehaving server is tests/faults/bad_server.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "faults"))

from bad_server import BadServer  # noqa: E402

HOOK = ("import atexit, os\n"
        "def _hwm(p=os.environ.get('BENCH_HWM')):\n"
        "    if p:\n"
        "        open(p, 'w').write(open('/proc/self/status').read())\n"
        "atexit.register(_hwm)\n")


def hwm_mib(path: Path) -> float:
    for line in path.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in {path}")


class Bench:
    def __init__(self, work: Path, server: BadServer):
        self.work, self.server = work, server
        (work / "hook").mkdir()
        (work / "hook" / "sitecustomize.py").write_text(HOOK)
        self.repo = work / "repo"
        self.repo.mkdir()
        subprocess.run(["git", "init", "-q", str(self.repo)], check=True)
        self.n = 0

    def run(self, argv: list[str], base_url: str | None = None, home: Path | None = None,
            timeout: float = 900) -> tuple[float, float, int, str]:
        """(wall seconds, peak MiB, exit code, last stderr line) of one process."""
        self.n += 1
        hwm = self.work / f"hwm-{self.n}"
        home = home or self.work / f"home-{self.n}"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "CODEX_"))}
        env.update(PYTHONPATH=os.pathsep.join([str(self.work / "hook"), str(REPO)]), BENCH_HWM=str(hwm),
                   CODEX_HOME=str(home), CODEX_LITE_TELEMETRY="0", NO_PROXY="127.0.0.1",
                   no_proxy="127.0.0.1", LITELLM_API_KEY="sk-bench")
        if base_url:
            env["LITELLM_BASE_URL"] = base_url
        started = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=self.repo, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        wall = time.monotonic() - started
        last = (done.stderr.strip().splitlines() or [""])[-1]
        return wall, hwm_mib(hwm), done.returncode, last

    def exec(self, behaviour: str, *extra: str, home: Path | None = None) -> tuple[float, float, int, str]:
        return self.run([sys.executable, "-m", "codex_lite", "exec", "-m", "bad", *extra, "hi"],
                        self.server.url(behaviour), home)

    def resume_300mb_line(self) -> tuple[float, float, int, str]:
        home = self.work / f"home-resume-{self.n}"
        home.mkdir()
        self.exec("ok", home=home)
        path = next((home / "sessions").rglob("*.jsonl"))
        with open(path, "a") as f:
            f.write('{"event": "agent_message", "text": "')
            f.writelines("x" * (1 << 20) for _ in range(300))
            f.write('"}\n')
        try:
            return self.run([sys.executable, "-m", "codex_lite", "exec", "resume", "--last", "hi"],
                            self.server.url("ok"), home)
        finally:
            path.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--slow", action="store_true", help="also the silent and endlessly throttling "
                                                        "servers (about 10 minutes)")
    args = ap.parse_args()
    server = BadServer().start()
    with tempfile.TemporaryDirectory(prefix="codex-lite-faults-bench-") as tmp:
        bench = Bench(Path(tmp), server)
        memory = {
            "python3 -c pass": lambda: bench.run([sys.executable, "-c", "pass"]),
            "exec, a normal answer": lambda: bench.exec("ok"),
            "exec, gzip bomb (1 GiB inflated)": lambda: bench.exec("gzip_bomb"),
            "exec, deflate bomb (1 GiB inflated)": lambda: bench.exec("deflate_bomb"),
            "exec, plain 50 MB answer": lambda: bench.exec("big=50"),
            "exec, 100,000 tool calls in one answer": lambda: bench.exec("calls=100000"),
            "exec, 200,000-deep JSON body": lambda: bench.exec("deep=200"),
            "exec resume, a 300 MB session line": bench.resume_300mb_line,
        }
        results: dict[str, list[tuple[float, float, int, str]]] = {name: [] for name in memory}
        for _ in range(args.runs):
            for name, case in memory.items():
                results[name].append(case())
        base = statistics.median(r[1] for r in results["python3 -c pass"])
        print("| case | exit | wall s | peak RSS MiB | + MiB over python |\n| --- | ---: | ---: | ---: | ---: |")
        for name, runs in results.items():
            peak = statistics.median(r[1] for r in runs)
            wall = statistics.median(r[0] for r in runs)
            print(f"| {name} | {runs[-1][2]} | {wall:.2f} | {peak:.1f} | {peak - base:+.1f} |")
        timed = {
            "503 on every request": "status=503",
            "429 with Retry-After: 999999": "retry_after=999999",
        }
        if args.slow:
            timed["silent server (accepts, never answers)"] = "silent"
            timed["429 with Retry-After: 60, forever"] = "retry_after=60"
        print("\n| broken server, default settings | exit | fails after | last line |\n| --- | ---: | ---: | --- |")
        for name, behaviour in timed.items():
            wall, _peak, code, last = bench.exec(behaviour)
            print(f"| {name} | {code} | {wall:.1f} s | {last[:100]} |")
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
