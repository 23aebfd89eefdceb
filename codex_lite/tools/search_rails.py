"""Keep recursive searches out of heavy folders, with whatever grep and find are installed.

    rewrite(argv, path=None) -> list[str]

Models search with `grep -rn`, `find . -type f` and `rg`, often inside `bash -lc` scripts. On a
router every one of those walks `.git` and `node_modules`, which costs minutes and floods the
context. `rewrite` adds exclusions for HEAVY_DIRS in a form the installed tool accepts:

- GNU grep (and any grep that really accepts it): `--exclude-dir=NAME` for every heavy folder.
- BusyBox grep (no `--exclude-dir`, measured: "unrecognized option", exit 2): the command is run
  through this very file as a helper (`python -I -S search_rails.py --rail-grep grep ARGS`), which
  walks the tree the way GNU `grep -r` does, prunes heavy folders and hands the files in batches to
  the real grep. Lines, file names and exit codes are the ones `grep -r` gives; GNU's
  `--include/--exclude/--exclude-dir` work too, although BusyBox grep has none of them.
  A pure `find | xargs grep` pipeline cannot give grep's exit codes (xargs folds 1 and 2 into 123).
- find: `\\( -name .git -o ... \\) -prune -o EXPR` (BusyBox find has -prune), with `-print` added
  when EXPR had no action, so output stays the same minus the heavy folders.
- rg: already skips hidden and git-ignored folders; `--glob=!NAME` covers `node_modules` outside a
  git checkout and `rg -uu`. A recursive grep is never turned into rg: BRE vs Rust regex, binary
  file messages and ignore files would change the output.

Inside `bash -lc`/`sh -c` scripts every simple command is found with sh_scanner.Scanner (quotes,
escapes, heredoc bodies, `$( )` recursed into, pipelines, `&&` chains, nested `sh -c '...'`) and only
insertions are made, so the model's own quoting and globs are kept byte for byte (search_scripts.py).
find's plan is in search_find.py. Both are imported lazily: this file must run alone as the helper,
so it imports nothing of codex_lite at its top.

Capabilities are probed once per process per binary and cached. Anything not fully understood
(unknown options, expansions other than a quoted grep pattern, unbalanced quotes, case statements,
process substitution, a path or name that asks for a heavy folder, find -depth/-delete) is returned
unchanged. Excluding a heavy folder yourself (`! -path '*/.git/*'`, `-g '!node_modules'`) is not
asking for it: the other heavy folders are still excluded.
Everything here is linear in the size of the command; no regular expressions are used.
"""

from __future__ import annotations

import os
import sys

HEAVY_DIRS = (".git", ".rustup", ".cargo", ".codex", ".npm", ".cache", ".local", ".venv", "node_modules")

_GREPS = ("grep", "egrep", "fgrep")
_HELPER_FLAG = "--rail-grep"
_HELPER_ALL_FLAG = "--rail-grep-all"  # the same without pruning heavy folders
_caps_cache: dict = {}


# ----------------------------------------------------------------------------- capability probes


def reset_cache() -> None:
    """Forget probed capabilities (tests swap PATH between GNU and BusyBox)."""
    _caps_cache.clear()


def _which(name: str, path: str | None) -> str | None:
    import shutil

    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=path)


def _run_probe(argv: list[str]) -> tuple[int, str]:
    """Run a tiny probe command; any failure counts as 'not supported'."""
    import subprocess

    try:
        p = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
    except (OSError, subprocess.SubprocessError):
        return -1, ""
    return p.returncode, p.stdout.decode("utf-8", "replace")


def grep_excludes_dirs(prog: str, path: str | None = None) -> bool | None:
    """Does this grep accept --exclude-dir? None when grep is not installed.

    Probed by behaviour, not help text: GNU exits 1 (no match in /dev/null), BusyBox exits 2.
    """
    exe = _which(prog, path)
    if exe is None:
        return None
    key = ("grep", os.path.realpath(exe), prog)
    if key not in _caps_cache:
        rc, _ = _run_probe([exe, "-r", "--exclude-dir=.git", "-q", "-e", "x", os.devnull])
        _caps_cache[key] = rc == 1
    return _caps_cache[key]


def find_caps(prog: str = "find", path: str | None = None) -> tuple[bool, bool] | None:
    """(supports -prune, supports parentheses) for this find; None when find is missing."""
    exe = _which(prog, path)
    if exe is None:
        return None
    key = ("find", os.path.realpath(exe), prog)
    if key not in _caps_cache:
        want = os.devnull + "\n"
        rc, out = _run_probe([exe, os.devnull, "(", "-name", "x", "-o", "-name", "y", ")", "-prune",
                              "-o", "(", "-type", "c", "-o", "-type", "f", ")", "-print"])
        if rc == 0 and out == want:
            _caps_cache[key] = (True, True)
        else:
            rc, out = _run_probe([exe, os.devnull, "-name", "x", "-prune", "-o", "-print"])
            _caps_cache[key] = (rc == 0 and out == want, False)
    return _caps_cache[key]


# ----------------------------------------------------------------------------- shared checks


def _mentions_heavy(text: str) -> bool:
    """True when text names a heavy folder as a whole word, e.g. `node_modules/x`, `*/.git/*`.

    `.gitignore` or `my.cache.py` do not count. Linear: str.find per name.
    """
    for name in HEAVY_DIRS:
        start = text.find(name)
        while start >= 0:
            end = start + len(name)
            before = text[start - 1] if start else "/"
            after = text[end] if end < len(text) else "/"
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after in "_-."):
                return True
            start = text.find(name, start + 1)
    return False


# ----------------------------------------------------------------------------- grep parsing

_GREP_SHORT_ARG = set("efmABCdDX")
_GREP_SHORT_FLAG = set("EFGPHhnlLoqvsrRiwxzZcbaIUTuVyJ0123456789")
_GREP_LONG_ARG = {
    "regexp", "file", "max-count", "after-context", "before-context", "context", "directories",
    "devices", "include", "exclude", "exclude-from", "exclude-dir", "binary-files", "label",
    "group-separator",
}
_GREP_LONG_FLAG = {
    "extended-regexp", "fixed-strings", "basic-regexp", "perl-regexp", "ignore-case", "no-ignore-case",
    "word-regexp", "line-regexp", "null-data", "no-messages", "invert-match", "version", "help",
    "byte-offset", "line-number", "no-line-number", "line-buffered", "with-filename", "no-filename",
    "only-matching", "quiet", "silent", "text", "files-without-match", "files-with-matches", "count",
    "initial-tab", "null", "recursive", "dereference-recursive", "no-group-separator", "color",
    "colour", "binary", "unix-byte-offsets",
}


class GrepArgs:
    """A parsed grep command line: enough to decide on a rail and to run the helper."""

    def __init__(self) -> None:
        self.options: list[str] = []  # option tokens in order, recursion options removed
        self.pattern: str | None = None  # positional pattern, when no -e/-f
        self.operands: list[str] = []
        self.recursive = False
        self.deref = False
        self.quiet = False
        self.names: str | None = None  # "H" or "h" when forced
        self.filters: list[tuple[str, str]] = []  # ("include"|"exclude", glob), in order
        self.exclude_dirs: list[str] = []
        self.silent = False
        self.prog = "grep"
        self.prune = True  # the helper skips HEAVY_DIRS


def _long_name(tok: str, table: set) -> str | None:
    """Resolve a --long option like getopt does (unique prefixes allowed)."""
    name = tok[2:].split("=", 1)[0]
    if name in table:
        return name
    hits = [n for n in table if n.startswith(name)]
    return hits[0] if len(hits) == 1 else None


def parse_grep(args: list[str]) -> GrepArgs | None:
    """Parse grep's arguments (argv without argv[0]); None when anything is unfamiliar."""
    g = GrepArgs()
    have_e = False
    positionals: list[str] = []
    i, n = 0, len(args)
    while i < n:
        tok = args[i]
        i += 1
        if tok == "--":
            positionals.extend(args[i:])
            break
        if tok.startswith("--"):
            name = _long_name(tok, _GREP_LONG_ARG | _GREP_LONG_FLAG)
            if name is None:
                return None
            if name in _GREP_LONG_ARG:
                if "=" in tok:
                    val = tok.split("=", 1)[1]
                elif i < n:
                    val, i = args[i], i + 1
                else:
                    return None
                if not _grep_long(g, name, val):
                    g.options += ["--" + name + "=" + val]
                have_e = have_e or name in ("regexp", "file")
            else:
                if name in ("recursive", "dereference-recursive"):
                    g.recursive = True
                    g.deref = g.deref or name == "dereference-recursive"
                    continue
                if name in ("quiet", "silent"):
                    g.quiet = True
                elif name in ("with-filename", "no-filename"):
                    g.names = "H" if name == "with-filename" else "h"
                elif name == "no-messages":
                    g.silent = True
                g.options.append(tok)
            continue
        if tok.startswith("-") and tok != "-":
            kept = []  # the flags of this word kept for the real grep (a list: `-iiii...` may be long)
            j = 1
            while j < len(tok):
                c = tok[j]
                j += 1
                if c in _GREP_SHORT_ARG:
                    val = tok[j:]
                    if not val:
                        if i >= n:
                            return None
                        val, i = args[i], i + 1
                    if c == "d" and val == "recurse":
                        g.recursive = True
                    else:
                        if kept:
                            g.options.append("-" + "".join(kept))
                            kept = []
                        g.options += ["-" + c, val]
                    have_e = have_e or c in "ef"
                    break
                if c not in _GREP_SHORT_FLAG:
                    return None
                if c in "rR":
                    g.recursive = True
                    g.deref = g.deref or c == "R"
                    continue
                if c == "q":
                    g.quiet = True
                elif c in "Hh":
                    g.names = c
                elif c == "s":
                    g.silent = True
                kept.append(c)
            if kept:
                g.options.append("-" + "".join(kept))
            continue
        positionals.append(tok)
    if not have_e:
        if not positionals:
            return None
        g.pattern = positionals.pop(0)
    g.operands = positionals
    return g


def _grep_long(g: GrepArgs, name: str, val: str) -> bool:
    """Absorb long options the helper handles itself; True when absorbed."""
    if name == "directories" and val == "recurse":
        g.recursive = True
        return True
    if name in ("include", "exclude"):
        g.filters.append((name, val))
        return True
    if name == "exclude-dir":
        g.exclude_dirs.append(val)
        return True
    return False


# ----------------------------------------------------------------------------- per-command plans


def _helper_prefix(prune: bool = True) -> list[str] | None:
    """argv prefix that runs this file as the grep helper, or None when that cannot work."""
    exe = sys.executable
    here = os.path.abspath(__file__)
    if not exe or not os.path.isfile(here):
        return None
    return [exe, "-I", "-S", here, _HELPER_FLAG if prune else _HELPER_ALL_FLAG]


def _grep_plan(argv: list[str], path: str | None) -> list[tuple[int, list[str]]] | None:
    """Heavy folders excluded, and never a device or named pipe opened while recursing: GNU grep
    skips them under -r but reads them under -R (`--devices=skip` stops that), BusyBox grep
    opens whatever a link points to, so it goes through the helper, which hands it regular files
    only (all of them, unpruned, when a heavy folder was asked for). See `recursion_made_safe`."""
    g = parse_grep(argv[1:])
    if g is None or not g.recursive:
        return None
    heavy = any(_mentions_heavy(a) for a in g.operands)
    supported = grep_excludes_dirs(argv[0], path)
    if supported is None:
        return None
    if supported:
        words = ([] if heavy else ["--exclude-dir=" + name for name in HEAVY_DIRS]) + (
            ["--devices=skip"] if g.deref else [])
        return [(1, words)] if words else None
    prefix = _helper_prefix(prune=not heavy)
    return [(0, prefix)] if prefix else None


def recursion_made_safe(argv: list[str], path: str | None = None) -> bool:
    """Will `rewrite` run this recursive grep so that it opens no device or named pipe it meets
    (security/read_only.py relies on it)? GNU grep -r skips them by itself; -R gets --devices=skip; any
    other grep must go through the helper. An explicit -D/--devices=read undoes it: not safe."""
    g = parse_grep(argv[1:])
    if g is None:
        return False
    if not g.recursive:
        return True
    for k, option in enumerate(g.options):
        if option == "-D" and g.options[k + 1:k + 2] != ["skip"]:
            return False
        if option.startswith("--devices=") and option != "--devices=skip":
            return False
    supported = grep_excludes_dirs(argv[0], path)
    return supported is not None and (supported or _helper_prefix() is not None)


def _rg_plan(argv: list[str], path: str | None) -> list[tuple[int, list[str]]] | None:
    if len(argv) < 2 or _which(argv[0], path) is None:
        return None
    for j, a in enumerate(argv[1:], 1):
        if a in ("-h", "--help", "-V", "--version", "--type-list", "--pcre2-version"):
            return None
        excluding = a.startswith(("--glob=!", "--iglob=!", "-g!")) or (
            a.startswith("!") and argv[j - 1] in ("-g", "--glob", "--iglob"))
        if _mentions_heavy(a) and not excluding:
            return None
    return [(1, ["--glob=!" + name for name in HEAVY_DIRS])]


def _plan(argv: list[str], path: str | None, depth: int) -> list[tuple[int, list[str]]] | None:
    """Insertions for one simple command (argv fully known), or None."""
    if not argv:
        return None
    prog = os.path.basename(argv[0])
    if prog in _GREPS:
        return _grep_plan(argv, path)
    if prog == "find":
        from .search_find import find_plan  # lazy: this file also runs as a standalone helper script

        return find_plan(argv, find_caps(argv[0], path))
    if prog == "rg":
        return _rg_plan(argv, path)
    return None


def _apply(argv: list[str], plan: list[tuple[int, list[str]]]) -> list[str]:
    out = list(argv)
    # Last insertion first; at the same index the later one goes in first, so it ends up after.
    for _, (index, words) in sorted(enumerate(plan), key=lambda p: (p[1][0], p[0]), reverse=True):
        out[index:index] = words
    return out


def rewrite(argv: list[str], path: str | None = None) -> list[str]:
    """Return argv with heavy folders excluded from its searches; unchanged when in doubt.

    path: the PATH the command will run with (default: this process's PATH).
    """
    return _rewrite(list(argv), path, 0)


def _rewrite(argv: list[str], path: str | None, depth: int) -> list[str]:
    if not argv or depth > 3:
        return argv
    prog = os.path.basename(argv[0])
    if prog == "env" and len(argv) > 1:
        k = 1
        while k < len(argv) and "=" in argv[k] and not argv[k].startswith("-"):
            k += 1
        if k < len(argv) and not argv[k].startswith("-"):
            return argv[:k] + _rewrite(argv[k:], path, depth + 1)
        return argv
    from . import shells  # lazy: this file also runs as a standalone helper script

    idx = shells.script_index(argv)
    if idx is not None:
        from .search_scripts import rewrite_script

        new = rewrite_script(argv[idx], path, depth + 1)
        return argv if new == argv[idx] else argv[:idx] + [new] + argv[idx + 1:]
    plan = _plan(argv, path, depth)
    return _apply(argv, plan) if plan else argv


# ----------------------------------------------------------------------------- the grep helper


def _walk(top: str, deref: bool, g: GrepArgs, errors: list[str]):
    """Yield files under top in the order GNU grep -r visits them, pruning heavy folders."""
    import fnmatch

    try:
        it = os.scandir(top)
    except OSError as e:
        _error(g, errors, f"{top}: {e.strerror}")
        return
    with it:
        entries = list(it)
    for entry in entries:
        name = entry.name
        p = name if top == "." and not g.operands else (top.rstrip("/") or "") + "/" + name
        try:
            if entry.is_symlink() and not deref:
                continue  # grep -r skips symlinks met while recursing
            if entry.is_dir(follow_symlinks=deref):
                if (g.prune and name in HEAVY_DIRS) or any(fnmatch.fnmatchcase(name, d) for d in g.exclude_dirs):
                    continue
                yield from _walk(p, deref, g, errors)
            elif entry.is_file(follow_symlinks=deref) and _wanted(name, g.filters):
                yield p
        except OSError as e:
            _error(g, errors, f"{p}: {e.strerror}")


def _error(g: GrepArgs, errors: list[str], text: str) -> None:
    """Report a walk error the way grep does, when it happens (unless -s)."""
    errors.append(text)
    if not g.silent:
        sys.stderr.write(f"{os.path.basename(g.prog)}: {text}\n")
        sys.stderr.flush()


def _wanted(name: str, filters: list[tuple[str, str]]) -> bool:
    """GNU --include/--exclude: the last matching glob wins; else included unless first is include."""
    import fnmatch

    verdict = None
    for kind, glob in filters:
        if any(fnmatch.fnmatchcase(name, g) for g in _braces(glob)):
            verdict = kind == "include"
    if verdict is None:
        return not filters or filters[0][0] != "include"
    return verdict


def _braces(glob: str) -> list[str]:
    """Expand one level of `{a,b}`: bash would have done it, but ash (bash missing) does not."""
    start = glob.find("{")
    end = glob.find("}", start + 1)
    if start < 0 or end < 0 or "," not in glob[start:end]:
        return [glob]
    return [glob[:start] + alt + glob[end + 1:] for alt in glob[start + 1:end].split(",")]


def _batches(files, limit: int = 96 * 1024):
    batch: list[str] = []
    size = 0
    for f in files:
        if batch and (size + len(f) + 1 > limit or len(batch) >= 2000):
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += len(f) + 1
    if batch:
        yield batch


def _targets(g: GrepArgs, errors: list[str]):
    """Command-line operands expanded: directories walked, everything else passed as given.

    A heavy folder among the operands can only come from the shell's glob (`grep -r TODO *`):
    the rail is not used when the command names one. It is skipped like GNU grep skips a
    command-line folder that --exclude-dir matches."""
    import fnmatch

    for op in g.operands or ["."]:
        if op != "-" and os.path.isdir(op):
            name = os.path.basename(op.rstrip("/"))
            if name in HEAVY_DIRS or any(fnmatch.fnmatchcase(name, d) for d in g.exclude_dirs):
                continue
            yield from _walk(op, g.deref, g, errors)
        else:
            yield op  # files, "-" and missing paths: the real grep reports on them


def helper_main(args: list[str], prune: bool = True) -> int:
    """Run `grep -r` semantics with any grep: walk, prune, batch, and merge exit codes."""
    import signal
    import subprocess

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    prog, g = args[0], parse_grep(args[1:])
    if g is None:
        os.execvp(prog, args)
    g.prog, g.prune = prog, prune
    names = g.names
    if names is None and (len(g.operands) != 1 or os.path.isdir(g.operands[0])):
        names = "H"
    base = [prog] + g.options + (["-" + names] if names else []) + ["--"]
    if g.pattern is not None:
        base.append(g.pattern)
    errors: list[str] = []
    matched = failed = ran = False
    for batch in _batches(_targets(g, errors)):
        ran = True
        rc = subprocess.call(base + batch)
        if rc < 0:
            os.kill(os.getpid(), -rc)
        matched = matched or rc == 0
        failed = failed or rc >= 2
        if matched and g.quiet:
            return 0
    if not ran:
        rc = subprocess.call(base + [os.devnull], stdout=subprocess.DEVNULL)
        failed = failed or rc >= 2
    if failed or errors:
        return 0 if (matched and g.quiet) else 2
    return 0 if matched else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in (_HELPER_FLAG, _HELPER_ALL_FLAG):
        sys.exit(helper_main(sys.argv[2:], prune=sys.argv[1] == _HELPER_FLAG))
    sys.stderr.write("usage: search_rails.py --rail-grep GREP ARGS...\n")
    sys.exit(2)
