"""Whole answers that are JSON calls (the `bare_json` leak class), and tools named by their arguments.

    bare_calls(text) -> ([(name, arguments_text)], more) | None   None: the text is an answer
    _inferred_call(text) -> (name, arguments_text) | None         a commentary message that lost its
                                                                  recipient, named by its arguments

Models behind servers that drop the tool-call protocol answer with the call itself as JSON:
`{"name": "shell", "arguments": {...}}`, an array of them, the OpenAI form, or exactly our tools'
argument objects (`{"command": [...]}`). Those are run; JSON that is data (a record, a package.json,
a tool schema, a list of strings) stays an answer. At most MAX_LEAKED_CALLS calls are kept; the rest
are counted, so memory stays flat however many calls an answer holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from codex_lite.envelope.tokens import MAX_LEAKED_CALLS, _skip_ws
from codex_lite.tools import calls
from codex_lite.tools.arguments import (
    DECODER,
    loads,
    repair_invalid_escapes,
    repair_stray_closer,
    repair_truncated,
    strip_fences,
)
from codex_lite.tools.calls import APPLY_PATCH, SHELL, UPDATE_PLAN, clean_name
from codex_lite.tools.normalize import SHELL_ARGUMENT_KEYS
from codex_lite.tools.patch_parse import BEGIN as _PATCH_START

_NAME_KEYS = ("name", "tool", "tool_name")
_ARGS_KEYS = ("arguments", "parameters", "args", "input")
_CALL_EXTRAS = frozenset(("type", "id", "call_id", "index"))


def bare_calls(text: str) -> tuple[list[tuple[str, str]], int] | None:
    """The calls an answer made of JSON calls holds (at most MAX_LEAKED_CALLS, and how many more
    there were), or None when it is an answer.

    Call-shaped means the whole answer, give or take whitespace, one code fence around it and
    stray closing brackets after it, is JSON calls: objects with a `name` (or `tool`) plus
    `arguments`/`parameters`/`args` (an object, or a JSON text of one), one or several (in an array,
    or one after the other), the OpenAI form `{"type": "function", "function": {...}}`, a flat
    `{"name": KNOWN_TOOL, "path": ...}`, or exactly the argument object of one of our tools. A call
    cut short comes back with its arguments text, so the model is told it was truncated. JSON that
    is data (a record, a package.json, a tool schema, a list of strings) is an answer."""
    s = strip_fences(text.strip())
    if not s or s[0] not in "{[":
        return None
    out: list[tuple[str, str]] = []
    more = 0
    for value in _json_values(s):
        if value is _NOT_JSON:
            name = None if out or more else _truncated_call_name(s)
            return ([(name, s)], 0) if name else None
        for item in value if isinstance(value, list) else [value]:
            call = _call_shape(item)
            if call is None:
                return None
            if len(out) < MAX_LEAKED_CALLS:
                out.append(call)
            else:
                more += 1  # counted, not kept: memory stays flat however many calls there are
    return (out, more) if out else None


_NOT_JSON = object()


def _json_values(s: str) -> Iterator[Any]:
    """Top-level JSON values separated by whitespace, then nothing but stray closing brackets;
    _NOT_JSON when something else follows (one at a time, so only one is held in memory)."""
    i, n = 0, len(s)
    while i < n:
        if s[i] in "]}" and not s[i:].strip(" \t\r\n]}"):
            return
        try:
            value, i = DECODER.raw_decode(s, i)
        except (ValueError, RecursionError) as exc:
            fixed = None if i else (repair_invalid_escapes(s, exc) or repair_stray_closer(s, exc)
                                    or repair_truncated(s, exc))
            yield fixed[0] if fixed else _NOT_JSON
            return
        yield value
        while i < n and s[i] in " \t\r\n":
            i += 1


def _call_shape(value: Any) -> tuple[str, str] | None:
    """(tool name, arguments JSON text) when `value` is a call, else None."""
    if not isinstance(value, dict) or not value:
        return None
    fn = value.get("function")
    if isinstance(fn, dict) and set(value) <= _CALL_EXTRAS | {"function"}:
        value = fn  # {"type": "function", "function": {"name": ..., "arguments": ...}}
    name_key = next((k for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name_key is None:
        return _our_arguments(value)
    name = value[name_key]
    if value.get("type", "function") != "function" or not _plausible_name(name):
        return None
    args_key = next((k for k in _ARGS_KEYS if k in value), None)
    if args_key is not None:
        if set(value) - _CALL_EXTRAS - {name_key, args_key}:
            return None  # a description next to the parameters: a tool definition, not a call
        args = value[args_key]
        parsed = loads(args)[0] if isinstance(args, str) else args
        if not isinstance(parsed, dict) or (parsed.get("type") == "object" and "properties" in parsed):
            return None
        return name, args if isinstance(args, str) else json.dumps(args)
    if clean_name(name) not in calls.TOOL_NAMES and not calls.ours_for(name):
        return None  # `{"name": "Alice", "age": 30}`: a record
    flat = {k: v for k, v in value.items() if k != name_key and k not in _CALL_EXTRAS}
    return name, json.dumps(flat)


def _plausible_name(name: str) -> bool:
    n = name.strip()
    return 0 < len(n) <= 64 and (n[0].isalpha() or n[0] == "_") and \
        all(c.isalnum() or c in "_-. " for c in n)


def _our_arguments(value: dict) -> tuple[str, str] | None:
    """Exactly the argument object of one of our tools: `{"command": [...]}`, `{"cmd": [...],
    "workdir": ...}`, `{"input": "*** Begin Patch..."}`, `{"plan": [{"step": ...}]}`."""
    keys = set(value)
    if ("command" in keys or "cmd" in keys) and keys <= SHELL_ARGUMENT_KEYS:
        command = value.get("command", value.get("cmd"))
        if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
            return SHELL, json.dumps(value)
        if isinstance(command, str) and command.strip() and len(keys) > 1:
            return SHELL, json.dumps(value)  # a lone `{"command": "npm start"}` may be data
        return None
    patch = value.get("input")
    if keys == {"input"} and isinstance(patch, str) and patch.lstrip().startswith(_PATCH_START):
        return APPLY_PATCH, json.dumps(value)
    plan = value.get("plan")
    if keys <= {"plan", "explanation"} and isinstance(plan, list) and plan and \
            all(isinstance(p, dict) and "step" in p for p in plan):
        return UPDATE_PLAN, json.dumps(value)
    return None


def _truncated_call_name(s: str) -> str | None:
    """The tool of a call-shaped answer that was cut short (`{"name": "shell", "arguments": {"comm`,
    `{"input": "*** Begin Patch...`), or None when the JSON does not start like a call."""
    i = _skip_ws(s, 1)
    if s.startswith(('"command"', '"cmd"'), i):
        return SHELL
    if s.startswith('"input"', i):
        return APPLY_PATCH if _PATCH_START in s[i:i + 64] else None
    key = next((k for k in _NAME_KEYS if s.startswith(f'"{k}"', i)), None)
    if key is None or not s.startswith(":", _skip_ws(s, i + len(key) + 2)):
        return None
    try:
        name, j = DECODER.raw_decode(s, _skip_ws(s, _skip_ws(s, i + len(key) + 2) + 1))
    except (ValueError, RecursionError):
        return None
    j = _skip_ws(s, j)
    if not isinstance(name, str) or not _plausible_name(name) or not s.startswith(",", j):
        return None
    j = _skip_ws(s, j + 1)
    return name if any(s.startswith(f'"{k}"', j) for k in _ARGS_KEYS) else None


# ----------------------------------------------------------------------------------------------
# The rule: what is shown never carries a token, a recipient or a channel glued to a role


def _inferred_call(text: str) -> tuple[str, str] | None:
    """`<|channel|>commentary<|message|>{"command": [...]}` with the recipient lost: the shape of
    the arguments names the tool when it is one of ours."""
    if not text.startswith("{") or not text.endswith("}"):
        return None
    value, err = loads(text)
    if err is not None or not isinstance(value, dict):
        return None
    bare = _bare_call_object(text)
    if bare:
        return bare
    if "command" in value or "cmd" in value:
        return SHELL, text
    if isinstance(value.get("input"), str) and value["input"].lstrip().startswith(_PATCH_START):
        return APPLY_PATCH, text
    if isinstance(value.get("plan"), list):
        return UPDATE_PLAN, text
    return None


def _bare_call_object(text: str) -> tuple[str, str] | None:
    """The whole text is one call-shaped JSON object (see bare_calls)."""
    value, err = loads(text.strip())
    return _call_shape(value) if err is None else None
