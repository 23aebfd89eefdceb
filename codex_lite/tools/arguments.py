"""Tolerant JSON: read the arguments of a tool call the way models actually write them.

    parse_arguments(text, notes=None) -> value   raises ArgumentsError (its message is for the model)

Models send code fences around the JSON, prose around one object, a stray closing bracket, missing
closing brackets, double encoding, one level of over-escaping, backslashes JSON does not know
(`\\(` in a regex) and raw line breaks in strings. Each is repaired only when one reading is
possible, and what was repaired is appended to `notes` (for logs, never for the user); anything else
raises ArgumentsError with a message that tells the model what is wrong and how to send it again.
Every repair re-parses the text a bounded number of times, so the cost stays linear.

Also used by call normalisation (tools/normalize.py) and by the envelope's bare-JSON reader:
`loads(s) -> (value, error)`, `DECODER` (strict=False: raw newlines and tabs in strings are
common in leaks), `strip_fences`, and the repairs `repair_invalid_escapes`, `repair_stray_closer`,
`repair_truncated` (each `(s, error) -> (value, label) | None`).
"""

from __future__ import annotations

import json
from typing import Any


class ArgumentsError(ValueError):
    """Arguments that cannot be read unambiguously; the message is written for the model."""


def parse_arguments(text: str | None, notes: list[str] | None = None) -> Any:
    """Parse tool arguments, repairing only what has a single reading. Raises ArgumentsError."""
    notes = notes if notes is not None else []
    s = strip_fences((text or "").strip())
    if not s:
        return {}
    value, err = loads(s)
    if err is None:
        return _unwrap_string(value, notes)
    for repair in (_repair_escaped, repair_invalid_escapes, _repair_surrounded, repair_stray_closer,
                   repair_truncated):
        fixed = repair(s, err)
        if fixed is not None:
            value, label = fixed
            notes.append(label)
            return _unwrap_string(value, notes)
    k = s.find("{")
    if k > 0:  # junk before the object: describe what is wrong with the object itself
        s, err = s[k:], loads(s[k:])[1] or err
    raise ArgumentsError(_describe_json_error(s, err))


DECODER = json.JSONDecoder(strict=False)  # raw newlines and tabs inside strings are common in leaks


def loads(s: str):
    try:
        return DECODER.decode(s), None
    except (ValueError, RecursionError) as exc:
        return None, exc


def strip_fences(s: str) -> str:
    if s.startswith("```"):
        nl = s.find("\n")
        end = s.rfind("```")
        if nl > 0 and end > nl:
            return s[nl + 1:end].strip()
    return s


def _unwrap_string(value: Any, notes: list[str]) -> Any:
    """Double encoding: the arguments are a JSON string holding JSON."""
    if isinstance(value, str):
        inner = value.strip()
        if inner[:1] in "{[":
            parsed, err = loads(inner)
            if err is None:
                notes.append("arguments were double-encoded JSON")
                return parsed
    return value


def _repair_escaped(s: str, err: Exception):
    """`{\\"command\\": [\\"ls\\"]}`: one level of escaping too many."""
    if not s.startswith('{\\"') and not s.startswith('[\\"'):
        return None
    unescaped, e1 = loads('"' + s + '"')
    if e1 is not None or not isinstance(unescaped, str):
        return None
    value, e2 = loads(unescaped)
    if e2 is None:
        return value, "arguments were over-escaped"
    return None


def repair_invalid_escapes(s: str, err: Exception):
    """`".*\\(\\.cpp"`: a backslash before a character JSON does not escape (a regex, a Windows
    path) can only have been meant literally."""
    if "Invalid \\escape" not in str(getattr(err, "msg", "")):
        return None
    value, e = loads(_escape_stray_backslashes(s))
    return (value, "backslashes JSON does not know were read literally") if e is None else None


def _escape_stray_backslashes(s: str) -> str:
    out, i = [], 0
    while True:
        k = s.find("\\", i)
        if k < 0:
            out.append(s[i:])
            return "".join(out)
        nxt = s[k + 1:k + 2]
        if nxt and nxt in '"\\/bfnrtu':
            out.append(s[i:k + 2])
            i = k + 2
        else:
            out.append(s[i:k] + "\\\\")
            i = k + 1


def _repair_surrounded(s: str, err: Exception):
    """Prose (or a stray closing bracket) before/after exactly one JSON object."""
    start = s.find("{")
    if start < 0:
        return None
    try:
        value, end = DECODER.raw_decode(s, start)
    except (ValueError, RecursionError):
        return None
    rest = s[end:].strip()
    if _has_object(rest):
        return None  # a second object: two readings, refuse
    if start == 0 and rest and not rest.strip("}] \n\t"):
        return value, "a stray closing bracket after the arguments was removed"
    return value, "text around the JSON arguments was ignored"


def _has_object(s: str) -> bool:
    k = s.find("{")
    if k < 0:
        return False
    try:
        DECODER.raw_decode(s, k)
        return True
    except (ValueError, RecursionError):
        return False


def repair_stray_closer(s: str, err: Exception):
    """`{"command": ["ls"]]}`: one extra `]` or `}` inside."""
    for _ in range(2):
        pos = getattr(err, "pos", None)
        if pos is None or pos >= len(s) or s[pos] not in "]}":
            return None
        s = s[:pos] + s[pos + 1:]
        value, err = loads(s)
        if err is None:
            return value, "a stray closing bracket in the arguments was removed"
    return None


def repair_truncated(s: str, err: Exception):
    """`{"command": ["ls", "-la"]`: the closing brackets are missing, nothing else is."""
    if not s.startswith("{"):
        return None
    stack, in_str, esc = [], False, False
    for ch in s:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and (not stack or stack.pop() != ch):
            return None
    if in_str or not stack or s.rstrip()[-1:] in (",", ":"):
        return None
    value, e = loads(s + "".join(reversed(stack)))
    if e is None:
        return value, "the arguments were truncated; missing closing brackets were added"
    return None


def _describe_json_error(s: str, err: Exception) -> str:
    if isinstance(err, RecursionError):
        return "the arguments are nested too deeply to parse; send a flat JSON object"
    from codex_lite.envelope.leaks import last_resort, scrub  # late: the envelope package imports this module

    pos = getattr(err, "pos", 0) or 0
    near = last_resort(scrub(s[max(0, pos - 30):pos + 30])).replace("\n", "\\n")  # shown: no protocol
    if pos >= len(s) - 1 or str(getattr(err, "msg", "")).startswith("Unterminated string"):
        return ("the arguments JSON is truncated (it ends before the object is closed); "
                "send the complete JSON object again")
    return f"the arguments are not valid JSON ({getattr(err, 'msg', err)} near {near!r}); " \
           "send one JSON object"


# ----------------------------------------------------------------------------------------------
