"""Call normalisation: one tool call, structured or leaked, as our tools expect it.

    normalize_call(call_id, name, arguments_text) -> RecoveredCall   never raises
    safe_normalize(call_id, name, arguments, notes) -> RecoveredCall the same, listing repairs in notes

Models send our tools under other names, with other argument names and units, and with broken
JSON, through structured tool_calls as much as through leaked text; the envelope package
(envelope/recovery.py) runs every call it finds through here, so both are read the same way:

- names: tools/calls.py `clean_name` (prefixes, token residue, glued content types, aliases) and
  `translate` (other agents' tools that map to ours). Unknown names pass through cleaned (the agent
  answers with the list of tools).
- arguments: tools/arguments.py `parse_arguments` (tolerant JSON); a one-element list and a
  `{"name", "arguments"}` wrapper are unwrapped; a shell call whose arguments are a bare command
  line runs it with `bash -lc` (never a sentence or an ellipsis: `looks_like_prose`).
- shell: `cmd` -> `command`; a string command -> `["bash", "-lc", s]`; `timeout`, `timeoutMs`,
  `timeout_seconds`, ... -> `timeout_ms` in milliseconds; `cwd` and friends -> `workdir`. A missing
  `workdir` stays missing: the shell tool defaults it to the session's cwd, the only place that
  knows it. `SHELL_ARGUMENT_KEYS` are the keys a shell argument object may hold.
- patches: `{"input": "*** Begin Patch..."}` sent to shell, or an argv that is only a patch
  (tools/patch_invocation.py `patch_only`) without a workdir, becomes an `apply_patch` call; a
  patch whose newlines were escaped twice is unescaped.
- A call that cannot be understood keeps its name and gets `error` set, written for the model to act
  on and ending with how to call the tool right (its name and an argument example); a call whose
  name was lost is named UNNAMED, since the history sent back needs a name.
"""

from __future__ import annotations

import json
import math
from typing import Any

from codex_lite.records import dataclass
from codex_lite.tools import calls, patch_invocation
from codex_lite.tools.arguments import ArgumentsError, loads, parse_arguments, strip_fences
from codex_lite.tools.calls import APPLY_PATCH, SHELL, UPDATE_PLAN, clean_name
from codex_lite.tools.patch_parse import BEGIN as _PATCH_START

UNNAMED = "unnamed_tool"  # the name of an error call whose tool name was lost


@dataclass
class RecoveredCall:
    """One tool call, normalised. Exactly one of `arguments` and `error` is set: an error call is
    answered with its error text (written for the model, so it can retry) instead of being run."""

    call_id: str
    name: str
    arguments: dict[str, Any] | None
    error: str | None = None  # set when the call could not be understood; sent back to the model
    recovered: bool = False   # True when it came from leaked text
    origin: str = ""          # for leaked calls, the class of leak it came from (see CLASSES)


_TIMEOUT_MS = ("timeout_ms", "timeoutMs", "timeout_millis", "timeout_milliseconds", "timeoutMillis",
               "timeout_msec")
_TIMEOUT_S = ("timeout_seconds", "timeout_s", "timeout_sec", "timeout_secs", "timeoutSeconds",
              "timeoutSec", "timeout_in_seconds")
_WORKDIR = ("workdir", "cwd", "working_directory", "workingDirectory", "working_dir", "dir",
            "directory")
_TIMEOUT_KEYS = frozenset(("timeout",) + _TIMEOUT_MS + _TIMEOUT_S)


def normalize_call(call_id: str, name: str, arguments_text: str | None) -> RecoveredCall:
    """Clean the name and normalise the arguments of one call (structured or leaked): the same
    rules as for leaked calls, since models send `container.exec` with `cmd` through structured
    tool_calls too. Arguments given as a dict (some servers) are accepted as well. Never raises."""
    return safe_normalize(call_id, name, arguments_text, [])


def _normalize(call_id: str, name: str, text: str | None, notes: list[str]) -> RecoveredCall:
    canon = clean_name(name or "")
    if not canon:  # a placeholder name: the history sent back to the server needs one
        return RecoveredCall(call_id, UNNAMED, None, "the tool call has no tool name; "
                             "send it again as a tool call that names one of the tools")
    if canon == APPLY_PATCH and _raw_patch(text) is not None:
        return _normalize_patch(call_id, {"input": _raw_patch(text)}, notes)
    try:
        args = parse_arguments(text, notes)
    except ArgumentsError as exc:
        if canon == SHELL and _raw_command(text) is not None:
            notes.append("shell arguments were a bare command line, not JSON; run with bash -lc")
            return _normalize_shell(call_id, {"command": _raw_command(text)}, notes)
        return RecoveredCall(call_id, canon, None, f"{canon}: {exc}")
    if isinstance(args, list) and len(args) == 1 and isinstance(args[0], dict):
        notes.append("arguments were wrapped in a one-element list")
        args = args[0]
    args = _unwrap_call_object(args, canon)
    if canon == SHELL and isinstance(args, list):
        args = {"command": args}
    if canon == APPLY_PATCH and isinstance(args, str) and args.lstrip().startswith(_PATCH_START):
        args = {"input": args}
    if not isinstance(args, dict):
        return RecoveredCall(call_id, canon, None,
                             f"{canon}: the arguments must be a JSON object, got {type(args).__name__}")
    if canon not in calls.TOOL_NAMES:
        mapped = calls.translate(canon, args)
        if mapped is not None:
            ours, args, error = mapped
            if error:
                return RecoveredCall(call_id, ours, None, error)
            notes.append(f"a call to {canon} was read as a call to {ours}")
            canon = ours
    if canon == SHELL:
        return _normalize_shell(call_id, args, notes)
    if canon == APPLY_PATCH:
        return _normalize_patch(call_id, args, notes)
    if canon == UPDATE_PLAN:
        return _normalize_plan(call_id, args)
    return RecoveredCall(call_id, canon, args)


def _raw_patch(text: str | None) -> str | None:
    """apply_patch is a free-form tool in Codex: a bare patch body is its whole input."""
    s = strip_fences((text or "").strip())
    return s if s.startswith(_PATCH_START) else None


def _raw_command(text: str | None) -> str | None:
    """`ls -R` sent as the whole argument text of a shell call (Ollama reports it as
    "invalid character 'l' looking for beginning of value"): the command line itself."""
    s = strip_fences((text or "").strip())
    if not s or s[0] in '{["' or '{"' in s or s.startswith(_PATCH_START) or looks_like_prose(s):
        return None  # JSON behind junk (`彩彩票{"cmd": ...`) is a broken call, never a command line
    return s


def looks_like_prose(s: str) -> bool:
    """A sentence, an ellipsis or punctuation: what a model writes after a recipient it did not
    mean to call, never to be run as a command line. `ls -R`, `git add .` and `make` are commands;
    `Let me check the files.` and `...` are not."""
    s = s.strip()
    if not any(c.isalnum() for c in s[:200]):
        return True
    words = s[:400].split()
    if len(words) >= 2 and s[-1] in ".!?\u2026" and words[-1] not in (".", ".."):
        return True
    return len(words) >= 3 and words[0].isalpha() and words[0][:1].isupper()


def _unwrap_call_object(args: Any, canon: str) -> Any:
    """`{"name": "shell", "arguments": {...}}` written as the arguments of a call to shell."""
    if isinstance(args, dict) and set(args) <= {"name", "arguments", "parameters", "type"}:
        inner = args.get("arguments", args.get("parameters"))
        if isinstance(inner, str):
            parsed, err = loads(inner)
            inner = parsed if err is None else inner
        if isinstance(inner, dict) and clean_name(str(args.get("name", canon))) == canon:
            return inner
    return args


def _normalize_shell(call_id: str, args: dict, notes: list[str]) -> RecoveredCall:
    args = dict(args)
    patch = args.get("input", args.get("patch"))
    if isinstance(patch, str) and patch.lstrip().startswith(_PATCH_START) and \
            "command" not in args and "cmd" not in args:
        notes.append("a patch sent to shell was routed to apply_patch")
        return _normalize_patch(call_id, {"input": patch}, notes)
    if "command" not in args:
        for alias in ("cmd", "commands", "argv", "script"):
            if alias in args:
                args["command"] = args.pop(alias)
                break
    else:
        args.pop("cmd", None)
    command, error = _argv(args.get("command"))
    if error:
        return RecoveredCall(call_id, SHELL, None, f"shell: {error}")
    args["command"] = command
    _normalize_workdir(args)
    _normalize_timeout(args, notes)
    if "workdir" not in args:
        routed = patch_invocation.patch_only(command)
        if routed is not None:
            notes.append("a patch passed as a shell argv was routed to apply_patch")
            return _normalize_patch(call_id, {"input": routed}, notes)
    elif len(command) == 2 and patch_invocation.patch_from_argv(command):
        command[1] = _unescape_patch(command[1], notes)  # the shell tool applies it in workdir
    return RecoveredCall(call_id, SHELL, args)


def _argv(command: Any) -> tuple[list[str] | None, str | None]:
    if command is None:
        return None, 'missing "command"; send {"command": ["bash", "-lc", "..."]}'
    if isinstance(command, str):
        if not command.strip():
            return None, '"command" is empty'
        listed, err = loads(command) if command.lstrip().startswith("[") else (None, True)
        if err is None and isinstance(listed, list) and listed:
            return _argv(listed)  # '["ls", "-la"]': a JSON-encoded argv
        return ["bash", "-lc", command], None
    if not isinstance(command, list) or not command:
        return None, '"command" must be a non-empty list of strings'
    if not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in command):
        return None, '"command" must be a list of strings'
    argv = [a if isinstance(a, str) else json.dumps(a) for a in command]
    if len(argv) == 1 and " " in argv[0].strip() and not argv[0].startswith(_PATCH_START):
        return ["bash", "-lc", argv[0]], None  # ["ls -la"]: a script, not a program name
    return argv, None


def _normalize_workdir(args: dict) -> None:
    for alias in _WORKDIR:
        if alias in args:
            value = args.pop(alias)
            if isinstance(value, str) and value.strip() and "workdir" not in args:
                args["workdir"] = value
    # no workdir given: leave it absent, the shell tool uses the session's cwd


def _normalize_timeout(args: dict, notes: list[str]) -> None:
    """One `timeout_ms` in milliseconds; an unreadable timeout is dropped (the tool's default
    applies) rather than failing a command the model otherwise got right."""
    found = [(k, args.pop(k)) for k in list(args) if k in _TIMEOUT_KEYS]
    if not found:
        return
    key, value = found[0]
    ms = _to_ms(key, value)
    if ms is None:
        notes.append(f"ignored an unreadable timeout {key}={value!r}")
    else:
        args["timeout_ms"] = ms
        if key != "timeout_ms" or value != ms:
            notes.append(f"{key}={value!r} read as timeout_ms={ms}")


_UNIT_SUFFIXES = (("milliseconds", "ms"), ("millis", "ms"), ("ms", "ms"), ("seconds", "s"),
                  ("secs", "s"), ("sec", "s"), ("s", "s"), ("minutes", "m"), ("mins", "m"),
                  ("min", "m"), ("m", "m"))


def _to_ms(key: str, value: Any) -> int | None:
    """`timeout_ms` is milliseconds, `timeout_seconds` seconds; a bare `timeout` is read as
    seconds up to 600 (nobody means a sub-second timeout) and as milliseconds above.
    Strings with units ("30s", "2m", "1500ms") are understood."""
    unit = "ms" if key in _TIMEOUT_MS else "s" if key in _TIMEOUT_S else "?"
    if isinstance(value, str):
        v = value.strip().lower()
        for suffix, u in _UNIT_SUFFIXES:
            if v.endswith(suffix):
                v, unit = v[:-len(suffix)].strip(), u
                break
        try:
            value = float(v)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        return None
    if unit == "?":
        unit = "s" if value <= 600 else "ms"
    factor = {"ms": 1, "s": 1000, "m": 60000}[unit]
    return round(value * factor)


def _normalize_patch(call_id: str, args: dict, notes: list[str]) -> RecoveredCall:
    args = dict(args)
    if "input" not in args:
        for alias in ("patch", "content", "diff", "text"):
            if isinstance(args.get(alias), str):
                args["input"] = args.pop(alias)
                break
    if not isinstance(args.get("input"), str):
        return RecoveredCall(call_id, APPLY_PATCH, None,
                             'apply_patch: missing "input"; send {"input": "*** Begin Patch\\n...'
                             '\\n*** End Patch"}')
    args["input"] = _unescape_patch(args["input"], notes)
    return RecoveredCall(call_id, APPLY_PATCH, args)


def _unescape_patch(patch: str, notes: list[str]) -> str:
    """A patch is many lines; one written with `\\n` escapes and no newline at all was escaped
    once too often (`"*** Begin Patch\\\\n*** Update File: ..."` in the JSON)."""
    if "\n" in patch or "\\n" not in patch or not patch.lstrip().startswith(_PATCH_START):
        return patch
    notes.append("the patch had escaped newlines (\\n) instead of line breaks; unescaped")
    return patch.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")


def _normalize_plan(call_id: str, args: dict) -> RecoveredCall:
    args = dict(args)
    plan = args.get("plan")
    if isinstance(plan, str):
        parsed, err = loads(plan)
        if err is None:
            args["plan"] = plan = parsed
    if not isinstance(plan, list):
        return RecoveredCall(call_id, UPDATE_PLAN, None,
                             'update_plan: "plan" must be a list of {"step", "status"} objects')
    return RecoveredCall(call_id, UPDATE_PLAN, args)


_SHELL_KEYS = frozenset(("command", "cmd", "timeout", "justification", "with_escalated_permissions",
                         "sandbox_permissions", "yield_time_ms", "max_output_tokens", "shell", "login", "tty"))
SHELL_ARGUMENT_KEYS = _SHELL_KEYS | frozenset(_WORKDIR) | _TIMEOUT_KEYS


def safe_normalize(call_id: str, name: str, args: Any, notes: list[str]) -> RecoveredCall:
    """normalize_call that also records what it repaired in `notes`."""
    try:
        text = args if isinstance(args, str) or args is None else json.dumps(args)
        call = _normalize(call_id, str(name or ""), text, notes)
    except Exception as exc:  # noqa: BLE001  model output must never crash the agent
        call = RecoveredCall(call_id, clean_name(str(name or "")) or UNNAMED, None,
                             f"the tool call could not be read: {type(exc).__name__}")
    return _with_usage(call)


def _with_usage(call: RecoveredCall) -> RecoveredCall:
    """An error the model gets back ends with how to call the tool right: its name and an example."""
    if call.error is None:
        return call
    if call.name in calls.TOOL_NAMES and calls.EXAMPLES[call.name] not in call.error:
        call.error = f"{call.error.rstrip('. ')}. To retry, {calls.usage(call.name)}"
    elif call.name == UNNAMED and "The tools are" not in call.error:
        call.error = f"{call.error.rstrip('. ')}. The tools are: {calls.tool_list()}."
    return call
