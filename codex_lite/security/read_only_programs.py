"""The allow-list of read-only programs, and each program's check of its arguments.

    CHECKS: name -> check(args: list[Word]) -> bool   True when these arguments only read
    WHY: name -> str                                  one line per program, for README's table
    SCRIPT_ONLY                                       shell builtins accepted inside scripts only

Used by read_only.py (`classify`), which also checks everything that is not about one program
(where the program was found, globs, devices, the environment). A check accepts only the options it
knows (security/program_options.py): options that write files, run programs or change the system
are refused (`sed -i` and sed's `w`/`e` commands, `find -exec`, `sort -o`, `date -s`, ...).
"""

from __future__ import annotations

from typing import Callable

from codex_lite.security.program_options import Options, Parsed, parse_options
from codex_lite.security.program_options import options as _opts
from codex_lite.tools.sh_syntax import Word


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
