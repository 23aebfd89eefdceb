"""JSON from outside (model answers, session files) parsed with bounded nesting.

A 200,000-deep `[[[[...` is a few hundred kilobytes, and a RecursionError from it (or from
anything that later walks a 900-deep value: json.dumps of the next request, a listener) must never
escape as a traceback. `loads` turns both into JSONTooDeep, a ValueError, so callers that already
handle "not JSON" handle this too. `json_type` names a value's type for messages about answers of
the wrong shape.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # a chat completion is about 6 deep, a session line about 8; arguments a few more


class JSONTooDeep(ValueError):
    pass


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, refusing values nested deeper than `max_depth` (JSONTooDeep)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONTooDeep(f"nested more than {max_depth} levels deep") from None
    if too_deep(value, max_depth):
        raise JSONTooDeep(f"nested more than {max_depth} levels deep")
    return value


def too_deep(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Is any list or object inside `value` more than `max_depth` levels down? Iterative (safe on
    any depth), linear in the size of `value`, and its memory grows with the depth only."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [iter(value.values() if isinstance(value, dict) else value)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, (dict, list)):
                if len(stack) >= max_depth:
                    return True
                stack.append(iter(child.values() if isinstance(child, dict) else child))
                break
        else:
            stack.pop()
    return False


def json_type(value: Any) -> str:
    """A JSON value's type in words, for messages about answers of the wrong shape."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            dict: "an object"}.get(type(value), type(value).__name__)
