"""Recognise a patch in a shell command, the ways models actually send one.

Models trained on Codex call apply_patch through the shell tool as often as through the function
tool: `["apply_patch", PATCH]`, or a shell script `apply_patch <<'EOF' ... EOF`, sometimes after
`cd DIR &&`. Those are intercepted and applied by the engine (never run: there is no `apply_patch`
binary on a router). A command that *is* a patch, with no `apply_patch` in front, gets a hint
instead of being run as a program called `***`. Call normalisation reads the same forms
(`patch_only`): a shell call that is only a patch becomes an apply_patch call before it is run.
"""

from __future__ import annotations

import os

from codex_lite.tools.patch_parse import BEGIN, heredoc_delimiter

_COMMANDS = ("apply_patch", "applypatch")

# What the shell tool answers to a command that is a bare patch (see looks_like_bare_patch).
BARE_PATCH_HINT = (
    "This command is a patch, not a program, so it was not run. To apply it, call the apply_patch "
    "tool with {\"input\": \"*** Begin Patch\\n...\\n*** End Patch\"}, or run the shell command "
    "[\"apply_patch\", \"*** Begin Patch\\n...\\n*** End Patch\"]."
)

# Argument names models use for the patch of the apply_patch function tool, "input" first.
_ARGUMENT_KEYS = ("input", "patch", "diff", "content", "text")
_SHELLS = ("bash", "sh", "ash", "zsh", "dash")


def patch_from_argv(argv: list[str]) -> tuple[str, str | None] | None:
    """(patch_text, workdir_or_None) when `argv` invokes apply_patch, else None.

    Recognised: `["apply_patch", PATCH]`, `["applypatch", PATCH]`, and
    `[bash|sh|ash|zsh, -lc|-c, SCRIPT]` where SCRIPT is `[cd DIR &&] apply_patch <<'EOF'` + the
    patch + `EOF` (any delimiter, quoted or not) or `apply_patch 'PATCH'`. The workdir is DIR as
    written (relative to the command's own workdir), or None."""
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    if len(argv) == 2 and argv[0] in _COMMANDS:
        return argv[1], None
    script = shell_script(argv)
    return None if script is None else _patch_from_script(script)


def patch_only(argv: list[str]) -> str | None:
    """The patch of an argv that is nothing but one: `["apply_patch", PATCH]` (or `applypatch`)
    or `[PATCH]`, PATCH starting with '*** Begin Patch'. Call normalisation (tools/normalize.py)
    turns such a shell call without a workdir into an apply_patch call."""
    if len(argv) == 1:
        return argv[0] if argv[0].lstrip().startswith(BEGIN) else None
    found = patch_from_argv(argv) if len(argv) == 2 else None
    return found[0] if found and found[0].lstrip().startswith(BEGIN) else None


def patch_from_arguments(arguments: object) -> str | None:
    """The patch text of an apply_patch function call: `{"input": PATCH}` as specified, also
    under "patch"/"diff"/"content"/"text", or the arguments themselves when they are a string.
    None when there is no string to apply."""
    if isinstance(arguments, str):
        return arguments
    if isinstance(arguments, dict):
        for key in _ARGUMENT_KEYS:
            if isinstance(arguments.get(key), str):
                return arguments[key]
        strings = [v for v in arguments.values() if isinstance(v, str) and "*** Begin Patch" in v]
        if len(strings) == 1:
            return strings[0]
    return None


def looks_like_bare_patch(argv: list[str]) -> bool:
    """True for a shell command that is just a patch (argv[0], the whole argv joined, or a `-lc`
    script starting with '*** Begin Patch'): the shell tool answers it with a hint."""
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return False
    if " ".join(argv).lstrip().startswith(BEGIN):
        return True
    script = shell_script(argv)
    return script is not None and script.lstrip().startswith(BEGIN)


def shell_script(argv: list[str]) -> str | None:
    """The script of `[shell, -c|-lc, SCRIPT]` (also `[shell, -l, -c, SCRIPT]`), else None."""
    if len(argv) < 3 or os.path.basename(argv[0]) not in _SHELLS:
        return None
    flags = argv[1:-1]
    if flags in (["-lc"], ["-c"], ["-l", "-c"], ["-cl"]):
        return argv[-1]
    return None


def _patch_from_script(script: str) -> tuple[str, str | None] | None:
    rest, workdir = _strip_cd(script.lstrip())
    for cmd in _COMMANDS:
        if rest.startswith(cmd) and rest[len(cmd):len(cmd) + 1] in (" ", "\t", "\n"):
            break
    else:
        return None
    first, _, body = rest.partition("\n")
    delim = heredoc_delimiter(first)
    if delim is not None:
        patch = _heredoc_body(body, delim, strip_tabs="<<-" in first)
    else:
        patch = _quoted_argument(rest)
    return None if patch is None else (patch, workdir)


def _strip_cd(script: str) -> tuple[str, str | None]:
    """Remove a leading `cd DIR &&` (or `cd DIR;`), returning the rest and DIR."""
    if not script.startswith("cd ") and not script.startswith("cd\t"):
        return script, None
    rest = script[2:].lstrip(" \t")
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            return script, None
        folder, rest = rest[1:end], rest[end + 1:]
    else:
        cut = len(rest)
        for sep in (" ", "\t", ";", "&", "\n"):
            pos = rest.find(sep)
            if 0 <= pos < cut:
                cut = pos
        folder, rest = rest[:cut], rest[cut:]
    rest = rest.lstrip(" \t")
    for sep in ("&&", ";"):
        if rest.startswith(sep) and folder:
            return rest[len(sep):].lstrip(), folder
    return script, None


def _heredoc_body(body: str, delim: str, strip_tabs: bool) -> str | None:
    """The heredoc's text up to the line that is exactly `delim` (as the shell reads it: leading
    tabs removed for `<<-`; trailing whitespace forgiven), so that a patch's context line " EOF"
    does not end it. None if there is no such line or other commands follow it (then the script
    does more than apply a patch, so it is not ours to intercept)."""
    lines = body.split("\n")
    for n, line in enumerate(lines):
        if (line.lstrip("\t") if strip_tabs else line).rstrip() == delim:
            if any(extra.strip() for extra in lines[n + 1:]):
                return None
            return "".join(line + "\n" for line in lines[:n])
    return None


def _quoted_argument(rest: str) -> str | None:
    """`apply_patch '*** Begin Patch ...'`: the quoted argument, read as the shell reads it (a
    quote inside the patch arrives as `'\\''`), when the script is just that and it holds a patch."""
    from codex_lite.tools import sh_syntax  # rare form: keep the import off the common path

    words = sh_syntax.split(rest)
    if words is not None and len(words) == 2 and words[1].lstrip().startswith(BEGIN):
        return words[1]
    return None
