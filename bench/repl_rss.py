"""Peak RSS of the interactive REPL after one turn, side by side with `python3 -c pass`.

    .venv/bin/python bench/repl_rss.py [--runs 3] [--limit-mb 25]
    BENCH_OPTIMIZE=2 .venv/bin/python bench/repl_rss.py     # the same with python -OO bytecode

Why: routers have 128 MB of RAM, so the REPL must stay close to a bare interpreter. Each case is a
real process that writes its own VmHWM (the kernel's peak-RSS mark of its address space, read from
/proc/self/status in an atexit hook), so nothing is sampled and nothing is missed. Not wait4()'s
ru_maxrss: after fork+exec it also counts the pages the child shared with this (bigger) harness
before exec, which inflated the bare interpreter from ~12 MB to ~22 MB here. The REPL runs on a pseudo-terminal (so prompt_toolkit is really used), against the
scripted model server (tests/scripted_server.py): one turn with a shell command and an answer,
then /quit. Cases: the bare interpreter, the REPL with prompt_toolkit, the REPL in plain-input
mode (prompt_toolkit blocked, as on a minimal router), and `exec` for reference. Prints a Markdown
table (medians); exits 1 when the REPL is more than --limit-mb above the bare interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from processes import read_pty  # noqa: E402
from scripted_server import ScriptedServer, completion

HWM = ("import atexit, os\n"
       "atexit.register(lambda: open(os.environ['BENCH_HWM'], 'w').write(open('/proc/self/status').read()))\n")
BARE = HWM + "pass"
CLI = HWM + "import sys\nfrom codex_lite import cli\nsys.exit(cli.main(sys.argv[1:]))"
BLOCK_PTK = HWM + "import sys\nsys.modules['prompt_toolkit'] = None\nfrom codex_lite import cli\nsys.exit(cli.main(sys.argv[1:]))"
PROMPT = "›".encode()
TURN = [completion(tool_calls=[("shell", {"command": ["ls", "-la"]})]), completion("BENCH-ANSWER-DONE")]


def env_for(home: str, pycache: str) -> dict[str, str]:
    """Bytecode on, cached outside the tree: installed packages ship .pyc, and compiling the
    sources on every start (PYTHONDONTWRITEBYTECODE) adds a compile-time peak that a router
    never sees."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LITELLM_", "CODEX_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CODEX_HOME=home, PYTHONPATH=str(REPO), NO_COLOR="1", TERM="xterm",
               PYTHONPYCACHEPREFIX=pycache,
               CODEX_LITE_TELEMETRY="0", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    if os.environ.get("BENCH_OPTIMIZE"):
        env["PYTHONOPTIMIZE"] = os.environ["BENCH_OPTIMIZE"]
    return env


def hwm_kib(path: str) -> int:
    """VmHWM (KiB) that the process wrote at exit."""
    for line in Path(path).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in {path}")


def peak_plain_process(argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Peak RSS in KiB of a process run to completion without a terminal."""
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return hwm_kib(env["BENCH_HWM"])


def peak_repl(argv: list[str], env: dict[str, str], cwd: str, timeout: float = 20) -> int:
    """Peak RSS in KiB of the REPL on a pty: type one prompt, wait for the answer, /quit."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    screen = b""
    try:
        screen = _until(fd, PROMPT, screen, timeout)
        os.write(fd, b"list the files\r")
        screen = _until(fd, b"BENCH-ANSWER-DONE", screen, timeout)
        screen = _until(fd, PROMPT, screen[screen.rfind(b"BENCH"):], timeout)
        os.write(fd, b"/quit\r")
        _drain(fd, 2.0)
    except BaseException:
        os.kill(pid, 9)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"REPL exited {os.waitstatus_to_exitcode(status)}:\n{screen[-2000:]!r}")
    return hwm_kib(env["BENCH_HWM"])


def _until(fd: int, marker: bytes, screen: bytes, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while marker not in screen:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {marker!r}:\n{screen[-2000:]!r}")
        chunk = read_pty(fd, 0.2)
        if chunk is None:
            raise RuntimeError(f"REPL closed the terminal:\n{screen[-2000:]!r}")
        screen += chunk
    return screen


def _drain(fd: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and read_pty(fd, 0.1) is not None:
        pass


def measure(runs: int) -> dict[str, list[int]]:
    server = ServerHarness()
    results: dict[str, list[int]] = {"python3 -c pass": [], "REPL (prompt_toolkit)": [],
                                     "REPL (plain input)": [], "exec (reference)": []}
    py = sys.executable
    pycache = tempfile.TemporaryDirectory()
    try:
        for run in range(runs + 1):  # run 0 writes the bytecode and is not counted
            with tempfile.TemporaryDirectory() as tmp:
                home, cwd = server.prepare(tmp)
                env = {**env_for(home, pycache.name), "BENCH_HWM": os.path.join(tmp, "hwm")}
                results["python3 -c pass"].append(peak_plain_process([py, "-c", BARE], env, cwd))
                server.script()
                results["REPL (prompt_toolkit)"].append(peak_repl([py, "-c", CLI], env, cwd))
                server.script()
                results["REPL (plain input)"].append(peak_repl([py, "-c", BLOCK_PTK], env, cwd))
                server.script()
                results["exec (reference)"].append(peak_plain_process(
                    [py, "-c", CLI, "exec", "--skip-git-repo-check", "list the files"], env, cwd))
            if run == 0:
                results = {name: [] for name in results}
    finally:
        server.stop()
        pycache.cleanup()
    return results


class ServerHarness:
    """The scripted model server, and a CODEX_HOME whose config.toml points at it."""

    def __init__(self) -> None:
        self.server = ScriptedServer().start()

    def prepare(self, tmp: str) -> tuple[str, str]:
        home, cwd = os.path.join(tmp, "home"), os.path.join(tmp, "work")
        os.makedirs(home)
        os.makedirs(cwd)
        Path(cwd, "file.txt").write_text("x\n")
        Path(home, "config.toml").write_text(
            f'model = "scripted"\napproval_policy = "never"\n\n[model_providers.litellm]\n'
            f'base_url = {json.dumps(self.server.base_url)}\n\n[telemetry]\nenabled = false\n')
        return home, cwd

    def script(self) -> None:
        self.server.set_script(list(TURN))

    def stop(self) -> None:
        self.server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit-mb", type=float, default=25.0)
    args = parser.parse_args()
    results = measure(args.runs)
    base = statistics.median(results["python3 -c pass"]) / 1024
    print(f"Python {sys.version.split()[0]}, median of {args.runs} runs, peak RSS (VmHWM)\n")
    print("| case | peak RSS | above `python3 -c pass` |\n|---|---:|---:|")
    for name, values in results.items():
        mb = statistics.median(values) / 1024
        print(f"| {name} | {mb:.1f} MB | {mb - base:+.1f} MB |")
    repl_mb = statistics.median(results["REPL (prompt_toolkit)"]) / 1024
    ok = repl_mb - base <= args.limit_mb
    print(f"\nREPL within {args.limit_mb:g} MB of the bare interpreter: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
