"""Which shell really runs a script.

    resolve(argv, path=None) -> Resolved(argv, note, asked, shell)
    script_index(argv) -> int | None        where the -c script sits in a shell argv
    script_shell(path=None) -> Resolved     what would run a `bash -lc` script here (for the model)
    explain_failure(resolved, exit_code, output) -> str | None

Models send almost every command as `bash -lc SCRIPT`. OpenWrt has no bash (BusyBox ash), and
Termux has no shells at the usual absolute paths. Programs are found through PATH only, the user's
$SHELL is preferred when it is a usable POSIX-family shell, and the model is told once which shell
really ran, so it can stop writing bash-only syntax.

A replacement shell runs without `-l`: a login shell sources /etc/profile, which on OpenWrt prints
the banner into every result and resets PATH. The environment we inherit is already a login one.
A script handed to a replacement shell is parsed first (`sh -n`) and checked for bash features the
shell lacks (probed once per shell: [[ ]], ${var/x/y}, arrays, brace expansion, source, ...); when
it cannot work, nothing runs and the model gets an explanation instead of a half-run script or 127.
"""

from __future__ import annotations

import os

from codex_lite.records import dataclass
from codex_lite.shell_names import POSIX_SHELLS

# Preference when the asked shell is missing (after the user's $SHELL).
_FALLBACKS = {
    "bash": ("ash", "ksh", "mksh", "dash", "sh", "zsh"),
    "zsh": ("bash", "ash", "ksh", "mksh", "dash", "sh"),
}
_DEFAULT_FALLBACK = ("ash", "dash", "sh", "bash", "mksh", "ksh", "zsh")
# Directories whose absolute paths models hard-code; on Termux they do not exist.
_STD_DIRS = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")
_LOGIN_OPTS = ("--login", "--norc", "--noprofile", "--posix")
_told: set = set()


@dataclass
class Resolved:
    argv: list[str]
    note: str | None = None  # told to the model when the shell it asked for was replaced
    asked: str | None = None  # the shell the model asked for, when it was replaced
    shell: str | None = None  # path of the shell that really runs


def reset_notes() -> None:
    """Forget which notes were given (a new session, or tests)."""
    _told.clear()


def script_index(argv: list[str]) -> int | None:
    """Index of SCRIPT in `SHELL [opts] -c SCRIPT [args]`, or None when argv is not that."""
    if len(argv) < 3 or os.path.basename(argv[0]) not in POSIX_SHELLS:
        return None
    has_c = False
    i = 1
    while i < len(argv):
        tok = argv[i]
        if tok in ("-o", "+o", "-O", "+O") or tok in ("--rcfile", "--init-file"):
            i += 2
        elif tok == "--":
            i += 1
            break
        elif tok.startswith("--"):
            i += 1
        elif len(tok) > 1 and tok[0] in "-+":
            has_c = has_c or (tok[0] == "-" and "c" in tok[1:])
            i += 1
        else:
            break
    return i if has_c and i < len(argv) else None


def _which(name: str, path: str | None) -> str | None:
    from codex_lite.platform_info import which

    return which(name, path=path)


def _usable_shell(candidate: str | None) -> str | None:
    """$SHELL when it is an existing, executable POSIX-family shell (not fish, nologin, ...)."""
    if not candidate or not os.path.isabs(candidate):
        return None
    if os.path.basename(candidate) not in POSIX_SHELLS:
        return None
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


_busybox_cache: dict = {}


def is_busybox(exe: str) -> bool:
    """A BusyBox applet (symlink or hard link to the busybox binary); cached per path."""
    if exe not in _busybox_cache:
        _busybox_cache[exe] = _is_busybox(exe)
    return _busybox_cache[exe]


def _is_busybox(exe: str) -> bool:
    try:
        real = os.path.realpath(exe)
        if os.path.basename(real).startswith("busybox"):
            return True
        return os.stat(exe).st_size < 4 * 1024 * 1024 and _has_busybox_marker(real)
    except OSError:
        return False


def _has_busybox_marker(real: str) -> bool:
    """Hard-linked applets keep their own name; look for BusyBox's banner in the first 1 MB."""
    try:
        with open(real, "rb") as f:
            return b"BusyBox v" in f.read(1 << 20)
    except OSError:
        return False


def describe_shell(exe: str) -> str:
    """Human name for the note: 'BusyBox ash', 'dash', ..."""
    name = os.path.basename(exe)
    return f"BusyBox {name}" if is_busybox(exe) else name


def _pick(asked: str, path: str | None) -> str | None:
    """The best available replacement for a missing shell, through PATH and $SHELL only."""
    user = _usable_shell(os.environ.get("SHELL"))
    if user and os.path.basename(user) != asked:
        return user
    for name in _FALLBACKS.get(asked, _DEFAULT_FALLBACK):
        if name != asked:
            exe = _which(name, path)
            if exe:
                return exe
    return None


def replacement(shell: str, path: str | None = None) -> str | None:
    """The shell `resolve` runs instead of `shell` when it is not installed (None when it is
    installed, or when nothing can stand in for it)."""
    if shell not in POSIX_SHELLS or _which(shell, path):
        return None
    return _pick(shell, path)


def _program(argv0: str, path: str | None) -> tuple[str | None, bool]:
    """(runnable path or None, was it remapped). Absolute std paths missing here map to PATH."""
    if os.sep not in argv0:
        return _which(argv0, path), False
    if os.path.isfile(argv0) and os.access(argv0, os.X_OK):
        return argv0, False
    if os.path.dirname(argv0) in _STD_DIRS:
        return _which(os.path.basename(argv0), path), True
    return None, False


def _strip_login(opts: list[str]) -> list[str]:
    """Options for a replacement shell: no login/interactive flags, no bash-only long options."""
    out: list[str] = []
    i = 0
    while i < len(opts):
        tok = opts[i]
        if tok in ("-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if tok in _LOGIN_OPTS or (tok.startswith("--") and tok != "--"):
            i += 1
            continue
        if tok in ("-o", "+o") and i + 1 < len(opts):
            out += opts[i:i + 2]
            i += 2
            continue
        if len(tok) > 1 and tok[0] in "-+":
            flags = tok[1:].replace("l", "").replace("i", "")
            if flags:
                out.append(tok[0] + flags)
        else:
            out.append(tok)
        i += 1
    return out


def resolve(argv: list[str], path: str | None = None) -> Resolved:
    """Map a shell argv to a shell that exists; say so to the model the first time.

    path: the PATH the command will run with (default: this process's PATH).
    """
    argv = list(argv)
    if not argv:
        return Resolved(argv)
    head = os.path.basename(argv[0])
    exe, remapped = _program(argv[0], path)
    if exe is not None and head == "env":
        argv[0] = exe if remapped else argv[0]
        return _through_env(argv, path)
    if exe is not None:
        if remapped:
            argv[0] = exe
            return Resolved(argv, _once(("path", argv[0]), f"note: {head} was run from PATH ({exe})."))
        return Resolved(argv)
    if head not in POSIX_SHELLS:
        return Resolved(argv)  # the shell tool reports "program not found"
    sub = _pick(head, path)
    if sub is None:
        return Resolved(argv)
    return _replace(argv, head, sub)


def _through_env(argv: list[str], path: str | None) -> Resolved:
    """`env [NAME=value...] bash -lc S`: resolve the program env would run."""
    k = 1
    while k < len(argv) and "=" in argv[k] and not argv[k].startswith("-"):
        k += 1
    if k >= len(argv) or argv[k].startswith("-"):
        return Resolved(argv)
    inner = resolve(argv[k:], path)
    return Resolved(argv[:k] + inner.argv, inner.note, inner.asked, inner.shell)


def _replace(argv: list[str], asked: str, sub: str) -> Resolved:
    """Run argv with the replacement shell sub, unless its script cannot work there."""
    idx = script_index(argv)
    end = idx if idx is not None else _first_operand(argv)
    new = [sub] + _strip_login(argv[1:end]) + argv[end:]
    name = describe_shell(sub)
    if idx is not None:
        error = _parse_error(sub, argv[idx])
        if error is not None:
            return _refuse(asked, sub, f"{name} cannot parse this script ({error.strip()})")
        missing = _unsupported(sub, argv[idx])
        if missing:
            return _refuse(asked, sub, f"this script uses what {name} lacks: {'; '.join(missing)}")
    note = (f"{asked} is not installed; ran with {name} ({sub}) instead: write POSIX sh, not bash-only "
            f"syntax. {lacks_text(sub)}")
    return Resolved(new, _once((asked, sub), note), asked, sub)


def _refuse(asked: str, sub: str, why: str) -> Resolved:
    """A command that prints why the script was not run and exits 2 (not 127, not half-run)."""
    msg = (f"codex-lite: {asked} is not installed here and {why}. Nothing was run. "
           f"Rewrite it in POSIX sh. {lacks_text(sub)}")
    _told.add((asked, sub))  # the message says it all; no separate note
    return Resolved([sub, "-c", 'printf "%s\\n" "$1" >&2; exit 2', "codex-lite", msg], None, asked, sub)


def lacks_text(shell: str) -> str:
    """One sentence for the model: the bash features this shell does not have (probed)."""
    have = shell_features(shell)
    lacks = [_SHORT[f] for f in _FEATURES if f not in have]
    return "It has no " + ", ".join(lacks + ["<<<", "<(...)"]) + "."


def _first_operand(argv: list[str]) -> int:
    """Where a `SHELL [opts] FILE args` command's operands start."""
    i = 1
    while i < len(argv) and len(argv[i]) > 1 and argv[i][0] in "-+":
        i += 2 if argv[i] in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file") else 1
    return min(i, len(argv))


def _once(key: tuple, note: str) -> str | None:
    if key in _told:
        return None
    _told.add(key)
    return note


def _parse_error(shell: str, script: str) -> str | None:
    """The replacement shell's syntax error for script (`sh -n`), or None when it parses."""
    import subprocess

    try:
        p = subprocess.run([shell, "-n", "-c", script], check=False, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if p.returncode == 0:
        return None
    return p.stderr.decode("utf-8", "replace")[-400:] or f"exit {p.returncode}"


# Bash features a POSIX shell may lack, with what to write instead. Probed per shell, once.
_FEATURES = {
    "[[": "[[ ]] (use [ ] or case)",
    "source": "source (use .)",
    "declare": "declare (use plain assignments)",
    "typeset": "typeset (use plain assignments)",
    "shopt": "shopt (no equivalent; drop it)",
    "mapfile": "mapfile (use a while read loop)",
    "readarray": "readarray (use a while read loop)",
    "let": "let (use $(( )))",
    "pushd": "pushd (use cd)",
    "popd": "popd (use cd)",
    "subst": "${var/x/y} (use sed or case)",
    "substring": "${var:i:n} (use cut or expr)",
    "indirect": "${!var} (use eval)",
    "casemod": "${var^^} / ${var,,} (use tr)",
    "array": "${arr[i]} arrays (use set -- or several variables)",
    "brace": "{a,b} / {1..3} brace expansion (write the words out, or use seq)",
}
_SHORT = {"[[": "[[ ]]", "subst": "${var/x/y}", "substring": "${var:i:n}", "indirect": "${!var}",
          "casemod": "${var^^}", "array": "arrays", "brace": "{a,b} {1..3}"}
_SHORT.update({k: k for k in _FEATURES if k not in _SHORT})
_BUILTINS = ("[[", "source", "declare", "typeset", "shopt", "mapfile", "readarray", "let", "pushd", "popd")
_PROBE = r"""x=abc; y=x
( eval 'test "${x/b/B}" = aBc' ) 2>/dev/null && echo subst
( eval 'test "${x:1:1}" = b' ) 2>/dev/null && echo substring
( eval 'test "${!y}" = abc' ) 2>/dev/null && echo indirect
( eval 'test "${x^^}" = ABC' ) 2>/dev/null && echo casemod
( eval 'test "${x[0]}" = abc' ) 2>/dev/null && echo array
( eval 'test "$(echo {a,b})" = "a b"' ) 2>/dev/null && echo brace
for c in '[[' source declare typeset shopt mapfile readarray let pushd popd; do
  command -v "$c" >/dev/null 2>&1 && echo "$c"
done
"""
_features_cache: dict = {}
_features_file: str | None = None
_FEATURES_KEPT = 16  # shell binaries remembered in the file


def remember_features_in(path: str | None) -> None:
    """Keep probed shell features in the JSON file `path` across runs. The probe forks the shell
    seven times, about 150 ms on a router's CPU (bench/emulated.py): with the file it is paid once
    per shell binary (its path, inode, size and mtime) instead of once per `codex-lite exec`."""
    global _features_file
    _features_file = path


def shell_features(shell: str) -> set:
    """Which of _FEATURES this shell has (one probe per shell per process, or per binary with
    remember_features_in)."""
    if shell not in _features_cache:
        identity = _binary_identity(shell)
        stored = _load_features().get(identity) if identity else None
        if isinstance(stored, list):
            _features_cache[shell] = set(stored) & set(_FEATURES)
        else:
            found = _probe_features(shell)
            if found is not None and identity:
                _store_features(identity, found)
            _features_cache[shell] = set(_FEATURES) if found is None else found  # unknown: never refuse
    return _features_cache[shell]


def _probe_features(shell: str) -> set | None:
    """What the shell prints for _PROBE; None when it could not be run."""
    import subprocess

    try:
        p = subprocess.run([shell, "-c", _PROBE], check=False, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(p.stdout.decode("utf-8", "replace").split())


def _binary_identity(shell: str) -> str | None:
    """The real file behind `shell`, as path:inode:size:mtime; None when there is no file to keep."""
    if _features_file is None:
        return None
    try:
        real = os.path.realpath(shell)
        st = os.stat(real)
    except OSError:
        return None
    return f"{real}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _load_features() -> dict:
    import json

    try:
        with open(_features_file, encoding="utf-8") as f:  # type: ignore[arg-type]
            data = json.load(f)
    except (OSError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _store_features(identity: str, found: set) -> None:
    """Add one entry (the newest _FEATURES_KEPT stay); a file that cannot be written is no loss."""
    import json

    data = _load_features()
    data.pop(identity, None)
    data[identity] = sorted(found)
    data = dict(list(data.items())[-_FEATURES_KEPT:])
    tmp = f"{_features_file}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(_features_file) or ".", exist_ok=True)  # type: ignore[arg-type]
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, _features_file)  # type: ignore[arg-type]
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def bashisms(script: str) -> set:
    """Bash features a script uses as commands, parameter expansions or brace expansion."""
    from .sh_scanner import RESERVED, Bail, Scanner

    sc = Scanner(script)
    try:
        sc.scan(0, False)
    except (Bail, RecursionError):
        return set()  # not parsed (case, odd quoting): the sh -n check and the note must do
    used = {"brace"} if sc.braces else set()
    for words in sc.commands:
        first = next((w.value for w in words if w.value not in RESERVED), None)
        if first in _BUILTINS:
            used.add(first)
    for param in sc.params:
        kind = _param_kind(param)
        if kind:
            used.add(kind)
    return used


def _param_kind(param: str) -> str | None:
    """Classify the inside of ${...}: None for POSIX forms (${x}, ${x:-y}, ${#x}, ${x%y}, ...)."""
    if param.startswith("!"):
        return "indirect"
    i = 0
    while i < len(param) and (param[i].isalnum() or param[i] == "_"):
        i += 1
    if i == 0 or i == len(param):
        return None
    c = param[i]
    if c == "/":
        return "subst"
    if c == "[":
        return "array"
    if c in "^,":
        return "casemod"
    if c == ":" and i + 1 < len(param) and param[i + 1] not in "-=?+":
        return "substring"
    return None


def _unsupported(shell: str, script: str) -> list[str]:
    """Descriptions of the bash features script uses that shell lacks (probe only when used)."""
    used = bashisms(script)
    if not used:
        return []
    have = shell_features(shell)
    return [_FEATURES[f] for f in sorted(used) if f not in have]


_BASH_ONLY_MARKERS = ("[[: not found", "bad substitution", "syntax error", "declare: not found",
                      "source: not found", "shopt: not found", "mapfile: not found",
                      "readarray: not found", "pipefail", "Illegal option")


def explain_failure(resolved: Resolved, exit_code: int, output: str) -> str | None:
    """After a run: a hint when a replacement shell failed on bash-only syntax at run time."""
    if not resolved.asked or exit_code == 0:
        return None
    low = output[-4000:].lower()
    if any(m.lower() in low for m in _BASH_ONLY_MARKERS):
        return (f"hint: this ran with {describe_shell(resolved.shell or 'sh')} because "
                f"{resolved.asked} is not installed; the error above comes from bash-only syntax. "
                "Use POSIX sh.")
    return None


def script_shell(path: str | None = None) -> Resolved:
    """What would run `bash -lc SCRIPT` here, without telling anyone (for the environment text)."""
    bash = _which("bash", path)
    if bash:
        return Resolved(["bash"], None, None, bash)
    sub = _pick("bash", path)
    if sub is None:
        return Resolved(["bash"], "no POSIX shell found on PATH", "bash", None)
    note = (f"bash is not installed; `bash -lc` scripts run with {describe_shell(sub)}: write POSIX sh. "
            f"{lacks_text(sub)}")
    return Resolved([sub], note, "bash", sub)
