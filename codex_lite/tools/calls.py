"""Tool names: ours and what models call them, calls to tools we do not have, and how to tell the
model to call the ones we do.

    clean_name(name) -> str   canonical name: `functions.`/`container.` prefixes, token residue,
                              glued content types (`shelljson`) and channel words removed, ALIASES
                              (`exec`, `bash`, `container.exec`, `exec_command`, ...) mapped to ours

Models trained on other agents call *their* tools: Claude Code's `Write` and `Read`, Cursor's
`run_terminal_cmd`, OpenHands' `execute_bash`, Continue's `edit_file`. When the meaning of such a
call is unambiguous it is rewritten as a call to one of ours:

    translate(name, args) -> (name, args, None)   a call to shell, apply_patch or update_plan
                           -> (name, None, error) a known tool whose arguments cannot be mapped
                           -> None                not a name we know: left to the caller

- shell-like tools (`execute_bash`, `run_terminal_cmd`, `terminal_run`, ...) keep their arguments;
  call normalisation (normalize.py) reads `command`/`cmd` as usual;
- file readers (`read_file`, `Read`, `view_file`, `fetch_file_content`, ...) become `cat PATH`, or
  `sed -n 'A,Bp' PATH` when a line range is given;
- file writers (`Write`, `write_file`, `create_file`) become an apply_patch `*** Add File:` (which
  replaces an existing file, as a write does);
- editors (`edit_file`, `Edit`, ...) become apply_patch when they carry a `*** Begin Patch` text;
  a search/replace edit is not guessed at: the model is shown how to send a patch;
- `TodoWrite`/`todo_write` become update_plan.

Anything else is not ours: `unknown_tool(name)` is the error the model gets, listing our tools with
an argument example each (`usage(name)`), so it can call the right one next time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from codex_lite.tools.patch_parse import BEGIN as _PATCH_START

SHELL, APPLY_PATCH, UPDATE_PLAN = "shell", "apply_patch", "update_plan"
TOOL_NAMES = (SHELL, APPLY_PATCH, UPDATE_PLAN)

EXAMPLES = {
    SHELL: '{"command": ["bash", "-lc", "ls -la"]}',
    APPLY_PATCH: ('{"input": "*** Begin Patch\\n*** Update File: path/to/file\\n@@\\n-old line\\n'
                  '+new line\\n*** End Patch"}'),
    UPDATE_PLAN: '{"plan": [{"step": "Read the code", "status": "in_progress"}]}',
}
_PURPOSE = {SHELL: "runs a command (an argv list; workdir and timeout_ms are optional)",
            APPLY_PATCH: "adds, deletes and edits files",
            UPDATE_PLAN: "shows your plan to the user"}

# Names are compared lower-case with `-` and spaces read as `_`.
SHELL_NAMES = frozenset((
    "execute_bash", "bash_command", "run_bash", "run_terminal_cmd", "run_in_terminal", "terminal_run",
    "run_terminal_command", "execute_shell", "shell_exec", "run_shell_command"))
READ_NAMES = frozenset(("read_file", "readfile", "read", "view_file", "open_file", "cat", "get_file_contents",
                        "read_text_file", "fetch_file_content", "file_read"))
WRITE_NAMES = frozenset(("write", "write_file", "writefile", "create_file", "file_write", "save_file"))
EDIT_NAMES = frozenset(("edit", "edit_file", "editfile", "multiedit", "str_replace", "str_replace_editor",
                        "replace_in_file", "apply_diff"))
PLAN_NAMES = frozenset(("todowrite", "todo_write", "update_todos", "write_todos"))

_PATH_KEYS = ("path", "file_path", "filePath", "filepath", "file", "filename", "target_file", "absolute_path")
_TEXT_KEYS = ("content", "contents", "text", "file_text", "data")

NAME_LIMIT = 200  # longest tool name read; keeps every header operation of the envelope bounded
# The names models give our tools (compared lower-case, after any of _PREFIXES).
ALIASES = {
    "shell": SHELL, "exec": SHELL, "shell_command": SHELL, "bash": SHELL, "container.exec": SHELL,
    "container_exec": SHELL, "exec_command": SHELL, "local_shell": SHELL, "run_shell": SHELL,
    "sh": SHELL, "terminal": SHELL, "run_command": SHELL, "execute_command": SHELL,
    "apply_patch": APPLY_PATCH, "applypatch": APPLY_PATCH, "apply-patch": APPLY_PATCH,
    "update_plan": UPDATE_PLAN, "updateplan": UPDATE_PLAN, "update-plan": UPDATE_PLAN,
}
_PREFIXES = ("functions.", "function.", "functions/", "tools.", "tool.", "container.")
# Harmony's content types, then its channel words: glued to a name by servers that strip the tokens
# between them (`shelljson`, `apply_patchcommentary`).
_GLUED_SUFFIXES = ("json", "code", "analysis", "commentary", "final")


def clean_name(name: str) -> str:
    """Canonical tool name: residue, prefixes and glued content types removed, aliases mapped."""
    return _clean_name((name or "")[:NAME_LIMIT * 2])


@lru_cache(maxsize=256)  # the same few names come back in every answer
def _clean_name(n: str) -> str:
    for cut in ("<|", "|>", "{", "(", "<"):
        k = n.find(cut)
        if k >= 0:
            n = n[:k]
    n = n.strip().strip("\"'`").strip()
    if n.startswith("to="):
        n = n[3:].strip()
    words = n.split()
    if len(words) > 1 and (words[0].endswith(".") or words[1].startswith(".")):
        words = [words[0] + words[1]]  # "functions. shell"
    n = words[0].strip("\"'`").rstrip(".,:;") if words else ""
    low = n.lower()
    for prefix in ("",) + _PREFIXES:
        if prefix and not (low.startswith(prefix) and len(n) > len(prefix)):
            continue
        rest, low_rest = n[len(prefix):], low[len(prefix):]
        if low_rest in ALIASES:
            return ALIASES[low_rest]
        if low_rest in SHELL_NAMES:
            return SHELL
        for suffix in _GLUED_SUFFIXES:
            if low_rest.endswith(suffix):
                base = low_rest[:-len(suffix)].rstrip("._-")
                if base in ALIASES:
                    return ALIASES[base]
        if prefix:
            return rest
    return n


def key(name: str) -> str:
    """The comparable form of a tool name: `Write` -> `write`, `run-terminal cmd` -> `run_terminal_cmd`."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def usage(name: str) -> str:
    """How to call one of our tools: its name and an argument example."""
    return f"call {name} as a tool call (not as text) with arguments like {EXAMPLES[name]}"


def tool_list() -> str:
    return "; ".join(f"{n} ({_PURPOSE[n]}), e.g. {EXAMPLES[n]}" for n in TOOL_NAMES)


def unknown_tool(name: str) -> str:
    """The answer to a call of a tool that does not exist here."""
    return (f"there is no tool named {name!r} here. The tools are: {tool_list()}. "
            "Send one of these as a tool call, not as text.")


def is_shell_name(name: str) -> bool:
    return key(name) in SHELL_NAMES


def ours_for(name: str) -> str | None:
    """Which of our tools does what the foreign tool `name` does, None when it is not one we know."""
    k = key(name)
    if k in SHELL_NAMES or k in READ_NAMES:
        return SHELL
    if k in WRITE_NAMES or k in EDIT_NAMES:
        return APPLY_PATCH
    return UPDATE_PLAN if k in PLAN_NAMES else None


def translate(name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """A foreign tool call rewritten as one of ours (see the module docstring); None when `name`
    is not a foreign tool we know."""
    k = key(name)
    if k in SHELL_NAMES:
        return SHELL, args, None
    if k in READ_NAMES:
        return _read(name, args)
    if k in WRITE_NAMES:
        return _write(name, args)
    if k in EDIT_NAMES:
        return _edit(name, args)
    if k in PLAN_NAMES:
        return _plan(name, args)
    return None


def _path(args: dict[str, Any]) -> str | None:
    for k in _PATH_KEYS:
        value = args.get(k)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _line(args: dict[str, Any], *keys: str) -> int | None:
    for k in keys:
        value = args.get(k)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _read(name: str, args: dict[str, Any]):
    path = _path(args)
    if path is None:
        return name, None, f'{name}: no file path; to read a file {usage(SHELL)}, e.g. {{"command": ["cat", "PATH"]}}'
    first = _line(args, "start_line", "line_start", "startLine", "offset", "from_line")
    last = _line(args, "end_line", "line_end", "endLine", "to_line")
    limit = _line(args, "limit", "max_lines", "lines")
    if path.startswith("-"):
        path = "./" + path  # a file name, never an option of cat or sed
    if last is None and limit is not None:
        last = (first or 1) + limit - 1
    if first is None and last is None:
        return SHELL, {"command": ["cat", path]}, None
    return SHELL, {"command": ["sed", "-n", f"{first or 1},{last or '$'}p", path]}, None


def _write(name: str, args: dict[str, Any]):
    path = _path(args)
    text = next((args[k] for k in _TEXT_KEYS if isinstance(args.get(k), str)), None)
    if path is None or text is None:
        return name, None, (f"{name}: needs a file path and its content; to write a file "
                            f"{usage(APPLY_PATCH)} with '*** Add File: PATH' and one '+' line per line")
    body = "".join("+" + line + "\n" for line in text.split("\n")) if text else ""
    if text.endswith("\n"):
        body = body[:-2]  # the final newline is the patch's own line end
    return APPLY_PATCH, {"input": f"{_PATCH_START}\n*** Add File: {path}\n{body}*** End Patch"}, None


def _edit(name: str, args: dict[str, Any]):
    for value in args.values():
        if isinstance(value, str) and value.lstrip().startswith(_PATCH_START):
            return APPLY_PATCH, {"input": value}, None
    return name, None, (f"{name} is not a tool here; to change a file {usage(APPLY_PATCH)} "
                        "(the '-' lines must match the file exactly)")


def _plan(name: str, args: dict[str, Any]):
    todos = args.get("todos", args.get("plan"))
    if isinstance(todos, list) and all(isinstance(t, dict) for t in todos):
        plan = [{"step": str(t.get("content", t.get("step", ""))), "status": str(t.get("status", "pending"))}
                for t in todos]
        return UPDATE_PLAN, {"plan": plan}, None
    return name, None, f"{name} is not a tool here; {usage(UPDATE_PLAN)}"
