"""What telemetry costs per turn, on versus off, in the same run; beside `python3 -c pass`.

    python bench/telemetry_bench.py [--turns 300] [--rounds 7]

A turn is the events of a realistic exec turn (two model requests, reasoning, one shell call with
4 KiB of output, the answer); "off" sends them through the Bus with no telemetry listener, "on" with
the default settings (trace and usage files, 64 KiB ring, 2 MiB cap, in a scratch CODEX_HOME), and
"on + log_prompts" with conversation text kept. Blocks of turns alternate between the modes so
machine noise hits all of them alike; the medians are reported. Turn ends include the disk writes.
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
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codex_lite import events as ev
from codex_lite import telemetry


def turn_events(i: int) -> list[ev.Event]:
    usage = ev.Usage(input_tokens=2000, cached_input_tokens=1500, output_tokens=300, reasoning_tokens=120,
                     latency_seconds=1.2)
    prompt = f"turn {i}: fix the failing test in calc.py and explain the change"
    return [
        ev.TurnStarted(prompt=prompt),
        ev.HistoryAppend(message={"role": "user", "content": prompt}),
        usage,
        ev.Reasoning(text="Let me run the tests first. " * 40),
        ev.HistoryAppend(message={"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "shell", "arguments": '{"command":["pytest"]}'}}]}),
        ev.ToolCall(call_id="c1", name="shell", arguments={"command": ["pytest", "-q"]}),
        ev.CommandStarted(call_id="c1", command="pytest -q", cwd="/root/project"),
        ev.ToolResult(call_id="c1", name="shell", output="F" * 4096, ok=False,
                      metadata={"exit_code": 1, "duration_seconds": 0.8, "peak_rss_kb": 21000}),
        ev.HistoryAppend(message={"role": "tool", "tool_call_id": "c1", "content": "F" * 4096}),
        usage,
        ev.AgentMessage(text="The subtraction should be an addition; fixed. " * 5, final=True),
        ev.HistoryAppend(message={"role": "assistant", "content": "fixed"}),
        ev.TurnCompleted(input_tokens=4000, cached_input_tokens=3000, output_tokens=600, reasoning_tokens=240),
    ]


def block(bus: ev.Bus, turns: list[list[ev.Event]]) -> float:
    t0 = time.perf_counter()
    for events in turns:
        for event in events:
            bus(event)
    return (time.perf_counter() - t0) / len(turns)


def startup(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


IMPORT_COST = ("import time, json, re, typing, collections, codex_lite\n"
               "t0 = time.perf_counter(); import codex_lite.telemetry\n"
               "print(time.perf_counter() - t0)")


def import_cost(runs: int = 15) -> float:
    """What importing telemetry adds on top of modules the exec path has already loaded."""
    times = [float(subprocess.run([sys.executable, "-c", IMPORT_COST], check=True, capture_output=True,
                                  text=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def start_close_cost(runs: int = 20) -> float:
    """start() (folder, lock, start-up pruning) plus close() (final flush) for one run."""
    times = []
    for _ in range(runs):
        config = SimpleNamespace(codex_home=tempfile.mkdtemp(prefix="tele-bench-start-"), telemetry={},
                                 provider=None, model="m")
        t0 = time.perf_counter()
        telemetry.start(config, "s").close()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def folder_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=300, help="turns per block")
    parser.add_argument("--rounds", type=int, default=7, help="blocks per mode")
    args = parser.parse_args()
    os.environ.pop(telemetry.ENV_VAR, None)
    turns = [turn_events(i) for i in range(args.turns)]
    homes = {name: tempfile.mkdtemp(prefix=f"tele-bench-{name}-") for name in ("on", "prompts")}
    on = telemetry.start(SimpleNamespace(codex_home=homes["on"], telemetry={}, provider=None, model="m"), "bench")
    prompts = telemetry.start(SimpleNamespace(codex_home=homes["prompts"], telemetry={"log_prompts": True},
                                              provider=None, model="m"), "bench")
    buses = {"off": ev.Bus(), "on": ev.Bus(on), "on + log_prompts": ev.Bus(prompts)}
    results: dict[str, list[float]] = {name: [] for name in buses}
    for name, bus in buses.items():  # warm-up
        block(bus, turns[:20])
    for _ in range(args.rounds):
        for name, bus in buses.items():
            results[name].append(block(bus, turns))
    on.close()
    prompts.close()

    bare = startup([sys.executable, "-c", "pass"], runs=15)
    imported = import_cost()
    lifecycle = start_close_cost()
    total_turns = args.turns * (args.rounds + 1)

    off = statistics.median(results["off"])
    print(f"telemetry per turn ({len(turns[0])} events, {args.turns} turns x {args.rounds} rounds, "
          f"median; Python {sys.version.split()[0]})")
    print(f"  {'mode':<18} {'per turn':>12} {'over off':>12} {'disk after run':>16}")
    for name in buses:
        med = statistics.median(results[name])
        disk = {"off": "-", "on": folder_bytes(homes['on']), "on + log_prompts": folder_bytes(homes['prompts'])}[name]
        print(f"  {name:<18} {med * 1e6:>9.1f} us {(med - off) * 1e6:>9.1f} us {disk!s:>16}")
    print(f"  ({total_turns} turns per mode; disk stays under max_total_bytes = "
          f"{telemetry.DEFAULTS['max_total_bytes']})")
    print("once per run (medians)")
    print(f"  python3 -c pass (whole process)          {bare * 1e3:8.2f} ms")
    print(f"  import codex_lite.telemetry (added)      {imported * 1e3:8.2f} ms")
    print(f"  telemetry.start() + close()              {lifecycle * 1e3:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
