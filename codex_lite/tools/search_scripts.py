"""Search rails inside shell scripts: every search command of a `bash -lc`/`sh -c` script rewritten.

    rewrite_script(script, path=None, depth=0) -> str   the script unchanged when in doubt

Every simple command is found with sh_scanner.Scanner (quotes, escapes, heredoc bodies, `$( )`
recursed into, pipelines, `&&` chains, nested `sh -c '...'`); search_rails plans the insertions for
each one whose argv is fully known, and only insertions are made, so the model's own quoting and
globs are kept byte for byte. A quoted "$pattern" of grep stands for its run-time value.
"""

from __future__ import annotations

import os

from codex_lite.tools import shells
from codex_lite.tools.search_rails import _GREPS, _plan, parse_grep
from codex_lite.tools.sh_scanner import RESERVED, Bail, Scanner


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def rewrite_script(script: str, path: str | None = None, depth: int = 0) -> str:
    """Rewrite every search command in a shell script; the script unchanged when in doubt."""
    if depth > 3 or not any(w in script for w in ("grep", "find", "rg")):
        return script
    sc = Scanner(script)
    try:
        sc.scan(0, False)
    except (Bail, RecursionError):
        return script
    edits: list[tuple[int, int, str]] = []
    for words in sc.commands:
        k = 0
        while k < len(words) and words[k].value is not None and (
                words[k].value in RESERVED or _is_assignment(script[words[k].start:words[k].end])):
            if words[k].value == "case":
                return script
            k += 1
        words = words[k:]
        if not words:
            continue
        argv = _known_argv(script, words)
        if argv is None:
            continue
        if argv[0] in ("case", "for", "select", "function"):
            if argv[0] == "case":
                return script
            continue
        edits += _command_edits(script, words, argv, path, depth)
    out = script
    for _, (start, end, text) in sorted(enumerate(edits), key=lambda e: (e[1][0], e[0]), reverse=True):
        out = out[:start] + text + out[end:]
    return out


_UNKNOWN = "\x00"  # stands for the run-time value of a quoted "$pattern"


def _known_argv(script: str, words: list) -> list[str] | None:
    """The command's words, or None when an expansion could change what the command does.

    One exception, common in scripts: grep's pattern may be a double-quoted expansion
    (`grep -rn "$pat" .`); it is one word whatever its value, and no rail touches it.
    """
    argv = [w.value for w in words]
    opaque = [i for i, v in enumerate(argv) if v is None]
    if not opaque:
        return argv  # type: ignore[return-value]
    if len(opaque) > 1 or opaque[0] == 0 or os.path.basename(argv[0] or "") not in _GREPS:
        return None
    i = opaque[0]
    raw = script[words[i].start:words[i].end]
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return None
    argv[i] = _UNKNOWN
    g = parse_grep(argv[1:])  # type: ignore[arg-type]
    after_e = argv[i - 1] in ("-e", "--regexp")
    if g is None or _UNKNOWN in g.operands or not (g.pattern == _UNKNOWN or after_e):
        return None
    return argv  # type: ignore[return-value]


def _is_assignment(raw: str) -> bool:
    name, eq, _ = raw.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()


def _command_edits(script: str, words: list, argv: list[str], path: str | None,
                   depth: int) -> list[tuple[int, int, str]]:
    """Source edits for one simple command: insertions, or a re-quoted nested -c script."""
    idx = shells.script_index(argv)
    if idx is not None:
        new = rewrite_script(argv[idx], path, depth + 1)
        return [] if new == argv[idx] else [(words[idx].start, words[idx].end, _quote(new))]
    plan = _plan(argv, path, depth)
    if not plan:
        return []
    edits = []
    for index, ins in plan:
        text = " ".join(_quote(x) for x in ins)
        if index < len(words):
            edits.append((words[index].start, words[index].start, text + " "))
        else:
            edits.append((words[-1].end, words[-1].end, " " + text))
    return edits
