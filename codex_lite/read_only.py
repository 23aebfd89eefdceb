"""Commands that provably only read: they run without asking under `untrusted` and `on-request`.

    classify(argv, cwd, workspace) -> Verdict(read_only, reason)
    hardened_env(base) -> dict           the environment read-only commands run with (see git)
    find_program(name, workspace) -> str | None

A command is read-only only when all of this holds; otherwise the user is asked:
- `sh_syntax.read` understands all of it (a direct argv, or a `bash -lc`/`sh -c` script made only
  of simple commands joined by `;`, `&&`, `||`, `|`);
- every program is on the allow-list (CHECKS, with WHY for the README) and its arguments pass that program's check:
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
from typing import Callable, Mapping

from codex_lite import read_only_git
from codex_lite.program_options import Options, Parsed, parse_options
from codex_lite.program_options import options as _opts
from codex_lite.records import dataclass
from codex_lite.shell_names import READ_SHELLS
from codex_lite.tools import sh_syntax
from codex_lite.tools.sh_syntax import Word

hardened_env = read_only_git.hardened_env


@dataclass
class Verdict:
    read_only: bool
    reason: str = ""  # why not, for tests and debugging


def _with(spec: Options, check: Callable[[Parsed], bool] | None = None) -> Callable[[list[Word]], bool]:
    """A program check: the arguments parse by `spec`, then `check` (if any) agrees."""
    def run(args: list[Word]) -> bool:
        parsed = parse_options(args, spec)
        return parsed is not None and (check is None or check(parsed))
    return run


def _anything(args: list[Word]) -> bool:
    return True


def _literal(words: list[Word]) -> bool:
    return not any(w.glob for w in words)


# ----------------------------------------------------------------------------- programs


SORT = _opts(flags="bdfgiMhnRrsuVcCzm", values="ktS",
             long="ignore-leading-blanks dictionary-order ignore-case general-numeric-sort "
                  "ignore-nonprinting month-sort human-numeric-sort numeric-sort random-sort reverse "
                  "version-sort stable unique zero-terminated debug merge help version",
             long_values="key field-separator buffer-size parallel sort", long_optional="check")
UNIQ = _opts(flags="cdDiuz", values="fsw",
             long="count repeated ignore-case unique zero-terminated help version",
             long_values="skip-fields skip-chars check-chars", long_optional="all-repeated group")
TREE = _opts(flags="adlfixpsughDFqNQvtrcUACSJXn", values="LPI",
             long="noreport dirsfirst filesfirst prune du si inodes device ignore-case matchdirs "
                  "gitignore info help version",
             long_values="filelimit charset sort timefmt")
FILE = _opts(flags="bhiIkLNnrsE0", values="eFP",
             long="brief mime mime-type mime-encoding dereference no-dereference keep-going no-buffer "
                  "no-pad raw special-files extension apple print0 help version",
             long_values="separator exclude exclude-quiet parameter")
DATE = _opts(flags="uR", values="drDf", optional="I",
             long="utc universal rfc-email rfc-2822 debug help version",
             long_values="date reference file rfc-3339", long_optional="iso-8601")
HOSTNAME = _opts(flags="sfdiIaA",
                 long="short fqdn long domain ip-address all-ip-addresses all-fqdns alias help version")
DIFF = _opts(flags="abBcdeEfhHiNnpPqrstTuvwyZ", values="CDFILSUWxX", numeric=True,
             long="normal brief report-identical-files ed rcs side-by-side left-column "
                  "suppress-common-lines show-c-function expand-tabs initial-tab suppress-blank-empty "
                  "recursive no-dereference new-file unidirectional-new-file ignore-file-name-case "
                  "no-ignore-file-name-case ignore-case ignore-tab-expansion ignore-trailing-space "
                  "ignore-space-change ignore-all-space ignore-blank-lines text strip-trailing-cr minimal "
                  "speed-large-files help version",
             long_values="width show-function-line label tabsize exclude exclude-from starting-file "
                         "from-file to-file ignore-matching-lines ifdef line-format old-line-format "
                         "new-line-format unchanged-line-format old-group-format new-group-format "
                         "changed-group-format unchanged-group-format horizon-lines palette",
             long_optional="context unified color")
# md5sum -c and wc --files0-from open every file a list names (a repository's list may name a
# device), so they are checked like the rest: listed options only, exact names.
SUMS = _opts(flags="btz", long="binary tag text zero help version")
WC = _opts(flags="cmlLw", long="bytes chars lines max-line-length words help version",
           long_values="total")
UNIQ_MAX_OPERANDS = 1


def _date(p: Parsed) -> bool:
    """`date` prints; an operand other than +FORMAT sets the clock (GNU and BusyBox), as does -s."""
    return all(not w.glob and w.text.startswith("+") for w in p.operands)


def _printf(args: list[Word]) -> bool:
    """bash's printf -v assigns to a variable, and `-v 'a[$(cmd)]'` runs cmd: the format must come
    first (or after `--`) and be a literal."""
    if args and args[0].text == "--":
        args = args[1:]
    return not args or (not args[0].text.startswith("-") and not args[0].glob)


_TEST_INTEGER_OPS = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}


def _test(args: list[Word]) -> bool:
    """test/[: bash's `-v 'a[$(cmd)]'` (and `-R`) evaluate an array subscript, and ksh evaluates
    the operands of -eq and friends as arithmetic; globs would shift operands around."""
    if not _literal(args) or any(w.text in ("-v", "-R") for w in args):
        return False
    texts = [w.text for w in args]
    for k, t in enumerate(texts):
        if t in _TEST_INTEGER_OPS:
            around = texts[k - 1:k] + texts[k + 1:k + 2]
            if not all(x.lstrip("+-").isdigit() for x in around):
                return False
    return True


# sed: the script language, kept to commands that print. `w`, `W`, `e`, `r`, `R`, the s flags `w`
# and `e`, labels and text commands are refused (they write, run, read other files or need a
# parser of their own). Brackets stay simple so that GNU sed (which ends a regex at the first
# unescaped delimiter) and BusyBox sed (which skips over [...]) split them the same way.
SED = _opts(flags="nErsuz", values="el",
            long="quiet silent regexp-extended separate unbuffered null-data posix sandbox debug "
                 "help version",
            long_values="expression line-length")
_SED_SIMPLE = set("pPdDnNgGhHxz=")


def _sed(p: Parsed) -> bool:
    scripts = [v or "" for name, v in p.options if name in ("e", "expression")]
    files = p.operands
    if not scripts:
        if not files or files[0].glob:
            return False
        scripts, files = [files[0].text], files[1:]
    return all(_sed_script_prints(s) for s in scripts)


def _sed_script_prints(script: str) -> bool:
    try:
        _SedScript(script).run()
    except ValueError:
        return False
    return True


class _SedScript:
    """A recogniser for the printing subset of sed; raises ValueError on anything else."""

    def __init__(self, s: str) -> None:
        self.s, self.i, self.depth = s, 0, 0

    def run(self) -> None:
        while True:
            self._skip(" \t\n;")
            if self.i >= len(self.s):
                break
            self._command()
        if self.depth:
            raise ValueError("unbalanced {")

    def _skip(self, chars: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def _peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def _command(self) -> None:
        if self._peek() == "}":
            self.depth -= 1
            if self.depth < 0:
                raise ValueError("unbalanced }")
            self.i += 1
            return self._end()
        if self._address():
            self._skip(" \t")
            if self._peek() == ",":
                self.i += 1
                self._skip(" \t")
                if self._peek() in "+~":
                    self.i += 1
                    self._digits()
                elif not self._address():
                    raise ValueError("bad range")
        self._skip(" \t")
        if self._peek() == "!":
            self.i += 1
            self._skip(" \t")
        c = self._peek()
        self.i += 1
        if c == "{":
            self.depth += 1
            return None
        if c in _SED_SIMPLE:
            return self._end()
        if c in "qQl":
            self._skip(" \t")
            self._digits(optional=True)
            return self._end()
        if c == "s":
            delim = self._delimiter()
            self._part(delim, regex=True)
            self._part(delim, regex=False)
            while self._peek() and self._peek() in "gpiImM0123456789":
                self.i += 1
            return self._end()
        if c == "y":
            delim = self._delimiter()
            self._part(delim, regex=True)  # BusyBox skips [...] here as in a regex
            self._part(delim, regex=False)
            return self._end()
        raise ValueError(f"sed command {c!r}")

    def _end(self) -> None:
        self._skip(" \t")
        if self._peek() not in ("", ";", "\n", "}"):
            raise ValueError("junk after a command")

    def _digits(self, optional: bool = False) -> bool:
        start = self.i
        while self._peek().isdigit():
            self.i += 1
        if self.i == start and not optional:
            raise ValueError("number expected")
        return self.i > start

    def _address(self) -> bool:
        c = self._peek()
        if c.isdigit():
            self._digits()
            if self._peek() == "~":
                self.i += 1
                self._digits()
            return True
        if c == "$":
            self.i += 1
            return True
        if c in ("/", "\\"):
            if c == "\\":
                self.i += 1
            delim = self._peek()
            if delim in ("", "\n", "\\"):
                raise ValueError("bad address delimiter")
            self.i += 1
            self._part(delim, regex=True)
            while self._peek() in ("I", "M"):
                self.i += 1
            return True
        return False

    def _delimiter(self) -> str:
        d = self._peek()
        if d in ("", "\n", "\\") or d.isalnum() or d.isspace():
            raise ValueError("bad delimiter")
        self.i += 1
        return d

    def _part(self, delim: str, regex: bool) -> None:
        """Up to the next unescaped delimiter; in a regex, [...] must be simple."""
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\n":
                raise ValueError("newline in a regex or replacement")
            if c == "\\":
                self.i += 2
                continue
            if c == delim:
                self.i += 1
                return
            if regex and c == "[":
                self._bracket(delim)
                continue
            self.i += 1
        raise ValueError("unterminated")

    def _bracket(self, delim: str) -> None:
        """`[abc]`, `[^a-z]`: no delimiter, backslash, `[` or newline inside."""
        s = self.s
        j = self.i + 1
        if j < len(s) and s[j] == "^":
            j += 1
        start = j
        while j < len(s) and s[j] != "]":
            if s[j] in ("[", "\\", "\n", delim):
                raise ValueError("complex bracket expression")
            j += 1
        if j >= len(s) or j == start:
            raise ValueError("unterminated bracket")
        self.i = j + 1


# find: the expression is checked word by word against the primaries that only test or print.
_FIND_NO_ARG = {
    "!", "(", ")", ",", "-not", "-a", "-and", "-o", "-or", "-print", "-print0", "-ls", "-prune", "-quit",
    "-true", "-false", "-empty", "-readable", "-writable", "-executable", "-nouser", "-nogroup", "-depth",
    "-d", "-xdev", "-mount", "-noleaf", "-follow", "-daystart", "-ignore_readdir_race",
    "-noignore_readdir_race", "-warn", "-nowarn",
}
_FIND_ONE_ARG = {
    "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex", "-lname",
    "-ilname", "-type", "-xtype", "-size", "-mtime", "-mmin", "-atime", "-amin", "-ctime", "-cmin",
    "-newer", "-anewer", "-cnewer", "-used", "-perm", "-user", "-group", "-uid", "-gid", "-links",
    "-inum", "-samefile", "-maxdepth", "-mindepth", "-regextype", "-printf", "-fstype", "-context",
}


def _find(args: list[Word]) -> bool:
    """Refuses -exec*, -ok*, -delete, -fprint*, -fls and anything it does not know."""
    i = 0
    while i < len(args) and args[i].text in ("-H", "-L", "-P"):
        i += 1
    while i < len(args) and not (args[i].text.startswith("-") or args[i].text in ("(", "!", ")", ",")):
        i += 1  # start folders; a glob here can only add folders (none of its matches starts with -)
    while i < len(args):
        t = args[i].text
        if args[i].glob:
            return False  # a pattern where find expects an operator
        i += 1
        if t in _FIND_NO_ARG:
            continue
        if t in _FIND_ONE_ARG or _is_newer_xy(t):
            if i >= len(args):
                return False
            i += 1
            continue
        return False
    return True


def _is_newer_xy(t: str) -> bool:
    return len(t) == 8 and t.startswith("-newer") and all(c in "amcBt" for c in t[6:])


def _rg(args: list[Word]) -> bool:
    """ripgrep has no abbreviations; it runs programs only through --pre, --hostname-bin and
    -z/--search-zip (decompressors)."""
    for w in args:
        t = w.text
        if t == "--":
            break
        if t.startswith("--"):
            if t[2:].split("=")[0] in ("pre", "pre-glob", "hostname-bin", "search-zip"):
                return False
        elif t.startswith("-") and "z" in t:
            return False
    return True


def _uniq(p: Parsed) -> bool:
    """A second operand is an output file."""
    return len(p.operands) <= UNIQ_MAX_OPERANDS and _literal(p.operands)


def _no_operands(p: Parsed) -> bool:
    return not p.operands


# Programs that only read whatever their options: every option is accepted.
_READERS = (
    "ls cat head tail pwd echo true false which whoami id uname stat du df nl rev seq cut tr "
    "cmp basename dirname realpath readlink grep egrep fgrep free uptime column od"
).split()

# One line per program for the README table (kept here so code and docs cannot drift apart).
WHY = {
    "ls cat head tail nl rev cut tr od column": "read files or stdin and print; no option writes or runs anything",
    "wc": "listed options only: --files0-from opens every file a list names",
    "md5sum sha1sum sha256sum sha512sum": "listed options only: -c/--check opens every file a checksum list names",
    "grep egrep fgrep": "search and print, options the search rails know (GNU and BusyBox); a recursive "
                        "search skips devices and named pipes, so -D/--devices=read is refused",
    "rg": "any option except --pre, --pre-glob, --hostname-bin and -z/--search-zip, which run programs",
    "find": "only tests and printing primaries; -exec*, -ok*, -delete, -fprint*, -fls and unknown ones are refused",
    "sed": "only -n -e -E -r -s -u -z -l and scripts of printing commands (p, d, s///[gpiIMm], y, q, ...); "
           "-i, -f, w, W, e, r, R and the s flags w and e are refused",
    "sort": "listed options only: -o/--output, --compress-program, -T and --files0-from are refused",
    "uniq": "listed options and at most one (literal) operand: a second one is an output file",
    "tree": "listed options only: -o (output file) and -R (writes 00Tree.html files) are refused",
    "file": "listed options only: -C (compiles magic), -z/-Z (runs decompressors), -p (touches atime), "
            "-m, -f are refused",
    "date": "listed options and +FORMAT operands only: -s and a date operand set the clock",
    "hostname": "only the printing options and no operand: an operand or -F sets the host name",
    "printf": "the format first: bash's printf -v assigns (and `-v 'a[$(cmd)]'` runs cmd)",
    "test [": "literal operands, no -v/-R (bash evaluates array subscripts), integers around -eq ...",
    "git": "status diff log show blame grep ls-files ls-tree rev-parse branch tag remote cat-file "
           "describe shortlog merge-base show-ref for-each-ref check-ignore count-objects version with "
           "listed options only; run so that no config can start a program (see above)",
    "cd": "inside scripts only, one literal folder",
    "set": "inside scripts only: -e -u -x -f and -o errexit/nounset/xtrace/pipefail/noglob",
    "pwd echo true false which whoami id uname stat du df cmp basename dirname realpath readlink "
    "free uptime seq": "print facts; no option writes or runs anything",
    "diff": "listed options only (GNU and BusyBox): -l/--paginate runs pr",
}


def _cd(args: list[Word]) -> bool:
    """One literal folder (CDPATH, which could send it elsewhere, is checked by the caller)."""
    return len(args) == 1 and not args[0].glob and not args[0].text.startswith("-") and bool(args[0].text)


_SET_NAMES = {"errexit", "nounset", "xtrace", "pipefail", "noglob"}


def _set(args: list[Word]) -> bool:
    """Shell options that only make a script stricter or quieter (`set -k` would turn arguments
    into environment variables, so only these letters and names are accepted)."""
    i = 0
    while i < len(args):
        t = args[i].text
        i += 1
        if len(t) < 2 or t[0] not in "-+" or args[i - 1].glob:
            return False
        letters = t[1:]
        if letters.endswith("o"):
            if i >= len(args) or args[i].text not in _SET_NAMES:
                return False
            i += 1
            letters = letters[:-1]
        if any(c not in "eufx" for c in letters):
            return False
    return True


SUM_PROGRAMS = ("md5sum", "sha1sum", "sha256sum", "sha512sum")
CHECKS: dict[str, Callable[[list[Word]], bool]] = {name: _anything for name in _READERS}
CHECKS.update({
    "diff": _with(DIFF), "wc": _with(WC), **{name: _with(SUMS) for name in SUM_PROGRAMS}, "rg": _rg, "find": _find, "sed": _with(SED, _sed), "sort": _with(SORT), "uniq": _with(UNIQ, _uniq),
    "tree": _with(TREE), "file": _with(FILE), "date": _with(DATE, _date),
    "hostname": _with(HOSTNAME, _no_operands), "printf": _printf, "test": _test, "[": _test,
    "cd": _cd, "set": _set,
})
# Shell builtins everywhere, never looked up on PATH; accepted inside scripts only.
SCRIPT_ONLY = {"cd", "set"}


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
