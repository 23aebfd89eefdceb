"""JSON from outside (answers, session files) with bounded nesting: a 200,000-deep `[[[[` must not
raise RecursionError, nor may a 900-deep value later (json.dumps of the next request). JSONTooDeep
is a ValueError, so "not JSON" handling covers it."""

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
    """Is a list or object in `value` more than `max_depth` levels down? Iterative; memory grows
    with the depth only."""
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
    """A JSON value's type in words."""
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number", dict: "an object",
            list: "a list", type(None): "null"}.get(type(value), type(value).__name__)
