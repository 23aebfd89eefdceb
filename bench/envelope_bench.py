#!/usr/bin/env python3
"""Throughput of harmony envelope recovery (codex_lite/envelope/), in MB/s.

    python bench/envelope_bench.py [--mb 10] [--seed 1] [--repeat 3]

1. A realistic mix: answers as servers return them (clean markdown, raw harmony with reasoning and
   calls, tokens stripped to bare words, calls leaked into the reasoning field, a large
   apply_patch call, broken JSON, and the second-generation leaks: whole answers that are JSON
   calls, headers with junk glued to them), parsed one answer at a time, as the agent does.
2. Worst cases: one 10 MB answer made of each pathological pattern (token debris, bare markers,
   thousands of tiny calls, deep brackets); the slowest one is reported as "worst case".

Each measurement is the best of --repeat runs (a shared machine is noisy; the best run is the one
least disturbed). Runs on the standard library only, so it can be copied to a router and run there.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codex_lite.envelope import recover  # after the sys.path line, on purpose

WORDS = ("the", "file", "config", "parser", "returns", "a", "list", "of", "values", "when", "we",
         "call", "it", "with", "path", "so", "need", "to", "check", "tests", "first", "then",
         "patch", "function", "and", "run", "them", "again")


def prose(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words)).capitalize() + "."


def markdown_answer(rng):
    paras = [prose(rng, rng.randint(20, 80)) for _ in range(rng.randint(2, 6))]
    code = "```python\ndef f(x):\n    return {'a': [x, x | 1]}\n```"
    return ("\n\n".join(paras) + "\n\n" + code, [], [])


def harmony_call_answer(rng):
    args = {"cmd": ["bash", "-lc", f"rg -n '{rng.choice(WORDS)}' src | head -50"], "timeout": 30}
    content = (f"<|channel|>analysis<|message|>{prose(rng, rng.randint(30, 200))}<|end|>"
               "<|start|>assistant<|channel|>commentary<|message|>Searching the sources.<|end|>"
               "<|start|>assistant<|channel|>commentary to=container.exec <|constrain|>json"
               f"<|message|>{json.dumps(args)}<|call|>")
    return (content, [], [])


def stripped_answer(rng):
    call = json.dumps({"command": ["ls", "-la", rng.choice(WORDS)]})
    content = (f"analysis{prose(rng, rng.randint(20, 120))}assistantcommentary to=functions.shell json"
               f"{call}assistantfinal{prose(rng, rng.randint(10, 60))}")
    return (content, [], [])


def reasoning_leak_answer(rng):
    reasoning = (f"{prose(rng, rng.randint(40, 300))}<|end|><|start|>assistant<|channel|>commentary "
                 f'to=functions.shell <|constrain|>json<|message|>{{"command": "make test"}}<|call|>')
    return ("", [reasoning], [])


def structured_answer(rng):
    call = ("call_1", "functions.shell", json.dumps({"command": ["pytest", "-q"]}))
    return (prose(rng, 30), [prose(rng, 200)], [call])


def patch_answer(rng):
    body = "".join(f"+{prose(rng, 12)}\n" for _ in range(rng.randint(200, 1500)))
    patch = f"*** Begin Patch\n*** Add File: docs/{rng.choice(WORDS)}.md\n{body}*** End Patch"
    content = ("<|channel|>analysis<|message|>Write the doc.<|end|><|start|>assistant<|channel|>"
               "commentary to=functions.apply_patch <|constrain|>json<|message|>"
               + json.dumps({"input": patch}) + "<|call|>")
    return (content, [], [])


def broken_json_answer(rng):
    content = ('<|channel|>commentary to=functions.shell<|message|>{"command": ["git", "status"]}} '
               "Let me check the status.")
    return (content, [prose(rng, 50)], [])


def bare_json_answer(rng):
    call = {"name": "shell", "arguments": {"command": ["grep", "-rn", rng.choice(WORDS), "src"]}}
    return (json.dumps(call), [prose(rng, rng.randint(20, 100))], [])


def glued_junk_answer(rng):
    content = (f"{prose(rng, rng.randint(10, 40))} 北京赛车analysis to=functions.exec_command code  天天中彩票"
               + json.dumps({"cmd": f"ls -la {rng.choice(WORDS)}", "workdir": "/work"}))
    return (content, [], [])


MIX = [(markdown_answer, 30), (harmony_call_answer, 25), (stripped_answer, 10),
       (reasoning_leak_answer, 10), (structured_answer, 10), (patch_answer, 5),
       (broken_json_answer, 10), (bare_json_answer, 5), (glued_junk_answer, 2)]

WORST = {
    "token debris '<|'": "<|",
    "half tokens": "<|start|><|channel|>",
    "bare markers": "assistantfinal",
    "tiny calls": '<|start|>assistant to=functions.a<|channel|>commentary<|message|>{"a":1}<|call|>',
    "glued headers": 'x analysis to=functions.a {"a":1}',
    "bare recipients": " to=functions.x",
    "headers glued in bodies": "<|channel|>analysis<|message|>a to=b<|message|>",
    "deep brackets": "[",
}


def answer_size(answer) -> int:
    content, reasoning, calls = answer
    return (len((content or "").encode()) + sum(len(r.encode()) for r in reasoning)
            + sum(len((c[2] or "").encode()) for c in calls))


def build_mix(rng: random.Random, megabytes: float) -> tuple[list, int]:
    makers = [m for m, weight in MIX for _ in range(weight)]
    answers, total = [], 0
    while total < megabytes * 1e6:
        answer = rng.choice(makers)(rng)
        answers.append(answer)
        total += answer_size(answer)
    return answers, total


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="megabytes per measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    opts = parser.parse_args()

    answers, total = build_mix(random.Random(opts.seed), opts.mb)
    seconds = timed(lambda: [recover(*a) for a in answers], opts.repeat)
    calls = sum(len(recover(*a).calls) for a in answers[:200])
    print(f"realistic mix: {total / 1e6:.1f} MB in {len(answers)} answers, {seconds:.2f} s, "
          f"{total / 1e6 / seconds:.1f} MB/s ({calls} calls in the first 200 answers)")

    size = int(opts.mb * 1e6)
    worst_name, worst_rate = "", float("inf")
    for name, unit in WORST.items():
        text = (unit * (size // len(unit) + 1))[:size]
        rate = size / 1e6 / timed(lambda text=text: recover(text), opts.repeat)
        print(f"  10 MB pattern {name!r}: {rate:.1f} MB/s")
        if rate < worst_rate:
            worst_name, worst_rate = name, rate
    print(f"worst case: {opts.mb:.0f} MB of {worst_name!r}: {worst_rate:.1f} MB/s")


if __name__ == "__main__":
    main()
