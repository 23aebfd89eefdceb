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
A script handed to a replacement shell is parsed first (`sh -n`); when it does not parse, nothing
runs and the model gets an explanation instead of a half-run script or exit 127.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Shells that understand `-c SCRIPT` with POSIX syntax.
SHELLS = ("bash", "zsh", "ksh", "mksh", "ash", "dash", "sh", "yash", "loksh", "oksh", "posh")
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
    if len(argv) < 3 or os.path.basename(argv[0]) not in SHELLS:
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
    import shutil

    return shutil.which(name, path=path)


def _usable_shell(candidate: str | None) -> str | None:
    """$SHELL when it is an existing, executable POSIX-family shell (not fish, nologin, ...)."""
    if not candidate or not os.path.isabs(candidate):
        return None
    if os.path.basename(candidate) not in SHELLS:
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
    if exe is not None:
        if remapped:
            argv[0] = exe
            return Resolved(argv, _once(("path", argv[0]), f"note: {head} was run from PATH ({exe})."))
        return Resolved(argv)
    if head not in SHELLS:
        return Resolved(argv)  # the shell tool reports "program not found"
    sub = _pick(head, path)
    if sub is None:
        return Resolved(argv)
    return _replace(argv, head, sub)


def _replace(argv: list[str], asked: str, sub: str) -> Resolved:
    idx = script_index(argv)
    end = idx if idx is not None else _first_operand(argv)
    new = [sub] + _strip_login(argv[1:end]) + argv[end:]
    name = describe_shell(sub)
    if idx is not None:
        error = _parse_error(sub, argv[idx])
        if error is not None:
            msg = (f"codex-lite: {asked} is not installed here and {name} cannot parse this script "
                   f"({error.strip()}). Nothing was run. Rewrite it in POSIX sh: no [[ ]], arrays, "
                   "<<<, <(...), {a..b}, ${var//x/y}, function keyword or source.")
            shown = [sub, "-c", 'printf "%s\\n" "$1" >&2; exit 2', "codex-lite", msg]
            _told.add((asked, sub))
            return Resolved(shown, None, asked, sub)  # the output itself explains
    note = (f"{asked} is not installed; ran with {name} ({sub}) instead: bash-only syntax "
            "([[ ]], arrays, <<<, <(...), ${var//x/y}) will fail, write POSIX sh.")
    return Resolved(new, _once((asked, sub), note), asked, sub)


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
    note = (f"bash is not installed; `bash -lc` scripts run with {describe_shell(sub)}: "
            "write POSIX sh (no [[ ]], arrays, <<<, <(...), ${var//x/y})")
    return Resolved([sub], note, "bash", sub)
