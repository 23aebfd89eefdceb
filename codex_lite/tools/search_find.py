"""Keep `find` out of heavy folders: the insertions that make it prune them (part of search_rails).

    find_plan(argv, caps) -> [(index, words)] | None   None: leave the command as it is

`find . EXPR` becomes `find . \\( -name .git -o ... \\) -prune -o EXPR`, with `-print` added when
EXPR had no action, so the output is the same minus the heavy folders. `caps` is what
search_rails.find_caps measured of the installed find. Commands that name a heavy folder, or use
`-depth`/`-delete` (which cannot prune), are left alone.
"""

from __future__ import annotations

from codex_lite.tools.search_rails import HEAVY_DIRS, _mentions_heavy

_FIND_GLOBAL_ARG = {"-maxdepth", "-mindepth"}
_FIND_GLOBAL = {"-xdev", "-mount", "-noleaf", "-ignore_readdir_race", "-noignore_readdir_race"}
_FIND_ACTIONS = {"-print", "-print0", "-printf", "-fprint", "-fprint0", "-fprintf", "-ls", "-fls",
                 "-exec", "-execdir", "-ok", "-okdir", "-delete", "-quit"}
_FIND_NO_PRUNE = {"-depth", "-d", "-delete"}


def find_plan(argv: list[str], caps: tuple[bool, bool] | None) -> list[tuple[int, list[str]]] | None:
    """Insertions that make `find` prune heavy folders, or None to leave it alone."""
    if not caps or not caps[0]:
        return None
    i, n = 1, len(argv)
    while i < n and argv[i] in ("-H", "-L", "-P"):
        i += 1
    if i < n and (argv[i] == "-D" or argv[i].startswith("-O")):
        return None
    while i < n and not (argv[i].startswith("-") or argv[i] in ("(", "!", ")")):
        i += 1  # start paths
    paths_end = i
    while i < n and (argv[i] in _FIND_GLOBAL or argv[i] in _FIND_GLOBAL_ARG):
        i += 2 if argv[i] in _FIND_GLOBAL_ARG else 1
    if i > n:
        return None
    expr = argv[i:]
    if any(_mentions_heavy(a) for a in argv[1:i]) or _targets_heavy(expr) or \
            any(a in _FIND_NO_PRUNE for a in expr):
        return None
    if any(a in ("--help", "-help", "--version", "-version") for a in argv[1:paths_end + 1]):
        return None
    needs_group = any(a in ("-o", "-or", ",") for a in expr)
    if needs_group and not caps[1]:
        return None
    if caps[1]:
        prune = ["("]
        for name in HEAVY_DIRS:
            prune += ["-name", name, "-o"]
        prune[-1:] = [")", "-prune", "-o"]
    else:
        prune = []
        for name in HEAVY_DIRS:
            prune += ["-name", name, "-prune", "-o"]
    plan = []
    if needs_group:
        plan.append((i, prune + ["("]))
        tail = [")"]
    else:
        plan.append((i, prune))
        tail = []
    if not any(a in _FIND_ACTIONS for a in expr):
        tail.append("-print")
    if tail:
        plan.append((n, tail))
    return plan


_FIND_NAME_TESTS = {"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex"}


def _targets_heavy(expr: list[str]) -> bool:
    """Does a find expression ask for a heavy folder (not merely exclude it)?

    `-name node_modules` asks for it: pruning would hide the answer. `! -path '*/.git/*'`,
    `-not -name .cache` and `-path ./node_modules -prune` exclude it: pruning agrees with them.
    """
    for j, tok in enumerate(expr):
        if not _mentions_heavy(tok):
            continue
        test = expr[j - 1] if j else ""
        negated = j >= 2 and expr[j - 2] in ("!", "-not")
        pruned = j + 1 < len(expr) and expr[j + 1] == "-prune"
        if test not in _FIND_NAME_TESTS or not (negated or pruned):
            return True
    return False
