"""Commands that provably only read: they run without asking under `untrusted` and `on-request`.

    classify(argv, cwd, workspace) -> Verdict(read_only, reason)
    hardened_env(base) -> dict           the environment read-only commands run with (see git)
    find_program(name, workspace) -> str | None

A command is read-only only when all of this holds; otherwise the user is asked:
- `sh_syntax.read` understands all of it (a direct argv, or a `bash -lc`/`sh -c` script made only
  of simple commands joined by `;`, `&&`, `||`, `|`);
- every program is on the allow-list (read_only_programs.py: CHECKS, with WHY for the README) and its
  arguments pass that program's check:
  options that write files, run programs or change the system are refused (`sed -i`, `find -exec`,
  `sort -o`, `git -c`, `date -s`, ...), and where a program cannot be checked option by option, only
  the options it is known to take are accepted;
- every program is a bare name found on PATH in a folder outside the workspace, and the file found
  (links followed) is outside the workspace too: `./ls`, `scripts/test`, a relative PATH entry or a
  workspace folder on PATH mean "ask";
- a glob can only ever expand to file operands: it may not start with `-`, and when its first path
  component is a pattern, no name in the folder may start with `-`;
- no word names a device other than /dev/null (opening a watchdog starts it, /dev/zero never
  ends) or a named pipe, directly, through a link, a glob or as an option's value;
- a recursive grep is run by the search rails so that it skips devices and named pipes it meets;
- no environment variable points a shell's start-up file or rg's config into the workspace.

git is read-only only for listed subcommands and options, and every read-only command runs with
`hardened_env`, so that no git config can start a program (read_only_git.py says how).

Not a sandbox: a read-only command can still read any file the user can (secrets included), and
print as much as it likes; what it cannot do is change a file, start another program or change
the system.
"""

from __future__ import annotations

import os
from typing import Mapping

from codex_lite.records import dataclass
from codex_lite.security import read_only_git
from codex_lite.security.read_only_programs import CHECKS, SCRIPT_ONLY, WHY  # noqa: F401  WHY: README's table
from codex_lite.shell_names import READ_SHELLS
from codex_lite.tools import sh_syntax
from codex_lite.tools.sh_syntax import Word

hardened_env = read_only_git.hardened_env


@dataclass
class Verdict:
    read_only: bool
    reason: str = ""  # why not, for tests and debugging


# ----------------------------------------------------------------------------- finding programs


def find_program(name: str, workspace: str, path: str | None = None) -> str | None:
    """Where PATH finds `name`, or None when it is not there, or when the folder or the file it
    finds (links followed) is inside the workspace, or PATH has a relative entry before it."""
    if not name or "/" in name:
        return None
    workspace = os.path.realpath(workspace)
    for folder in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        if not folder or not os.path.isabs(folder):
            return None  # "" and "." mean the working folder
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            if _inside(os.path.realpath(folder), workspace) or _inside(os.path.realpath(candidate),
                                                                       workspace):
                return None
            return candidate
    return None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# ----------------------------------------------------------------------------- classify


def shell_script(argv: list[str]) -> tuple[str, str] | None:
    """(shell name, script) of `SHELL [-l] -c SCRIPT [args]` with only harmless shell options."""
    if len(argv) < 3 or os.path.basename(argv[0]) != argv[0] or argv[0] not in READ_SHELLS:
        return None
    i = 1
    seen_c = False
    while i < len(argv) and argv[i].startswith("-") and not seen_c:
        opt = argv[i]
        if opt in ("--login", "--noprofile", "--norc"):
            i += 1
            continue
        if len(opt) < 2 or any(c not in "lce" for c in opt[1:]):
            return None
        seen_c = "c" in opt
        i += 1
    if not seen_c or i >= len(argv):
        return None
    return argv[0], argv[i]


def search_path(env: Mapping[str, str] | None) -> str:
    """The PATH a command runs with: the child environment's (Python's default when it has
    none, as subprocess does), or ours."""
    if env is None:
        return os.environ.get("PATH", os.defpath)
    return env.get("PATH", os.defpath)


def classify(argv: list[str], cwd: str, workspace: str, path: str | None = None,
             env: Mapping[str, str] | None = None) -> Verdict:
    """Is this command read-only (see the module docstring)? `cwd`: where it runs; `workspace`:
    the folder the model can write to; `env`: the environment it runs with (default ours);
    `path`: its PATH (default env's)."""
    if not argv or not all(isinstance(a, str) for a in argv):
        return Verdict(False, "no command")
    env = os.environ if env is None else env
    path = search_path(env) if path is None else path
    steered = _steered_from_workspace(workspace, env)
    if steered:
        return Verdict(False, steered)
    script = shell_script(argv)
    if script is not None:
        shell, text = script
        if find_program(shell, workspace, path) is None and _replacement_shell(shell, workspace,
                                                                               path) is None:
            return Verdict(False, f"{shell} is not found on PATH outside the workspace")
        try:
            commands = sh_syntax.parse(text)
        except sh_syntax.Unreadable as exc:
            return Verdict(False, f"cannot tell what the script runs: {exc}")
    else:
        commands = [[Word(a) for a in argv]]
    return _commands_read_only(commands, script is not None, cwd, workspace, path, env)


# Environment variables naming a file that a shell or an allow-listed program runs or obeys.
STEERING_VARIABLES = ("BASH_ENV", "ENV", "ZDOTDIR", "RIPGREP_CONFIG_PATH")


def _steered_from_workspace(workspace: str, env: Mapping[str, str]) -> str:
    """When the environment points a shell's start-up file or rg's config into the workspace, a
    patch could change what every command runs: nothing is read-only then."""
    root = os.path.realpath(workspace)
    for name in STEERING_VARIABLES:
        value = env.get(name)
        if value and _inside(os.path.realpath(os.path.join(root, value)), root):
            return f"${name} points into the workspace"
    return ""


def _replacement_shell(shell: str, workspace: str, path: str | None) -> str | None:
    """The shell that shells.resolve runs instead of a missing one, when it is outside the
    workspace (shells.resolve also checks that the script parses there)."""
    from codex_lite.tools import shells

    sub = shells.replacement(shell, path)
    if sub is None or not os.path.isabs(sub) or _inside(os.path.realpath(sub), os.path.realpath(workspace)):
        return None
    return sub


def _commands_read_only(commands: list[list[Word]], in_script: bool, cwd: str, workspace: str,
                        path: str, env: Mapping[str, str]) -> Verdict:
    folders = {os.path.realpath(cwd)}  # where each command may run, after the `cd`s before it
    git_runs: dict[tuple[str, str], None] = {}  # (git, folder): each config read once
    programs: dict[str, str | None] = {}
    for words in commands:
        name, args = words[0].text, words[1:]
        check = CHECKS.get(name)
        if check is None and name != "git":
            return Verdict(False, f"{name} is not a known read-only program")
        if name in SCRIPT_ONLY:
            if not in_script:
                return Verdict(False, f"{name} is a shell builtin")
        else:
            if name not in programs:
                programs[name] = find_program(name, workspace, path)
            program = programs[name]
            if program is None:
                return Verdict(False, f"{name} is not found on PATH outside the workspace")
        bad = _bad_glob(args, folders) or _device(args, folders)
        if bad:
            return Verdict(False, bad)
        if name == "git":
            dash_c = read_only_git.git_folders(args)
            if dash_c is None:
                return Verdict(False, "not a read-only git command")
            for folder in folders:
                git_runs[(program, os.path.join(folder, *dash_c))] = None
        elif not check(args) or (name in GREPS and not _grep_recursion_safe(name, args, path)):
            return Verdict(False, f"{name}: an option or operand that is not read-only")
        if name == "cd":
            if env.get("CDPATH") and not args[0].text.startswith(("/", ".")):
                return Verdict(False, "cd with CDPATH set")
            folders |= {os.path.realpath(os.path.join(f, args[0].text)) for f in folders}
            if len(folders) > MAX_FOLDERS:  # every later word is checked in each of them
                return Verdict(False, "too many `cd`s to follow")
    for git, folder in git_runs:
        if read_only_git.config_runs_programs(git, folder, dict(env)):
            return Verdict(False, f"git's config in {folder} names a program git would run")
    return Verdict(True)


# Folders a script's `cd`s may lead to before we stop following them and ask.
MAX_FOLDERS = 16


GREPS = ("grep", "egrep", "fgrep")


def _grep_recursion_safe(name: str, args: list[Word], path: str) -> bool:
    """A recursive grep meets whatever the tree holds, links to devices and named pipes included
    (GNU grep -R and BusyBox grep -r open them): read-only only when the search rails run it so
    that it skips them, which they do for every grep they can read (search_rails.py)."""
    from codex_lite.tools import search_rails

    return search_rails.recursion_made_safe([name] + [w.text for w in args], path)


def _bad_glob(args: list[Word], folders: set[str]) -> str:
    """Why a glob among args could become something other than file operands ("" when it cannot)."""
    globs = [w for w in args if w.glob]
    if not globs:
        return ""
    if any(w.text.startswith("-") for w in globs):
        return "a pattern that would expand to options"
    if any(w.lead_glob for w in globs):
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            if any(n.startswith("-") for n in names):
                return f"a pattern could match a file named like an option in {folder}"
    return ""


# Devices that nothing happens to when they are opened, and that end (or fail) when read. Not
# /dev/zero or /dev/urandom: they never end, and `tail`, `sort`, `uniq` or BusyBox `grep` keep
# the endless line they read in memory (gigabytes in seconds, on a device with 128 MB).
QUIET_DEVICES = {"/dev/null", "/dev/tty"}
# Directory entries a pattern may make us look at before we give up and ask (`*/*/*/...` over a
# folder of links to itself grows exponentially, and this runs in the agent, not in the child).
GLOB_BUDGET = 20_000
PATH_MAX = 4096


class _TooMany(Exception):
    pass


def _device(args: list[Word], folders: set[str]) -> str:
    """Opening a device can act (a watchdog starts its countdown, a tape rewinds, a serial port
    resets what hangs on it) and a named pipe blocks: any word that names one, directly, through
    a link or a glob, or as an option's value (`--opt=VALUE`, `-fVALUE`, `-L1,2:VALUE`), means ask."""
    budget = [GLOB_BUDGET]
    for word in args:
        for text in _paths_in(word.text):
            for base in [""] if os.path.isabs(text) else sorted(folders):
                full = os.path.join(base, text)
                try:
                    paths = _expand(full, budget) if word.glob else [full]
                    budget[0] -= len(paths)
                    if budget[0] < 0:
                        raise _TooMany
                except _TooMany:
                    return f"{word.text} names too many files to check"
                for path in paths:
                    special = _special_file(path)
                    if special:
                        return f"{word.text} opens {special}"
    return ""


def _paths_in(text: str) -> list[str]:
    """What a program might open when given the word `text`: the word, the value of `--opt=VALUE`,
    the value attached to a short option (`-fFILE`, `-rfFILE`: every suffix after the option
    letters) and what follows the last `:` (`git log -L1,2:FILE`)."""
    out = {text}
    if text.startswith("--"):
        out.add(text.partition("=")[2])
    elif text.startswith("-"):
        for k in range(2, len(text)):
            if not text[k - 1].isalnum():
                break
            if len(text) - k <= PATH_MAX:  # a longer name cannot be opened (and n suffixes of n
                out.add(text[k:])           # characters would take n*n memory)
    if ":" in text:
        out.add(text.rpartition(":")[2])
    out.discard("")
    return sorted(out)


def _special_file(path: str) -> str:
    """'the device X' or 'the named pipe X' when `path` (links followed) is one, else ''."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return ""
    real = os.path.realpath(path)
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and real not in QUIET_DEVICES:
        return f"the device {real}"
    if stat.S_ISFIFO(mode):
        return f"the named pipe {real}"
    return ""


def _expand(pattern: str, budget: list[int]) -> list[str]:
    """The existing names an absolute pattern (`*` and `?`) may match, the way a shell expands it
    (a leading dot is matched only explicitly), spending at most `budget[0]` directory entries."""
    import fnmatch

    paths = [os.sep]
    for part in pattern.split(os.sep):
        if not part:
            continue
        if "*" not in part and "?" not in part:
            paths = [os.path.join(p, part) for p in paths]
            continue
        found = []
        for folder in paths:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            budget[0] -= len(names)
            if budget[0] < 0:
                raise _TooMany
            found += [os.path.join(folder, n) for n in names
                      if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))]
        paths = found
    return paths


def is_read_only(argv: list[str], cwd: str, workspace: str) -> bool:
    return classify(argv, cwd, workspace).read_only
