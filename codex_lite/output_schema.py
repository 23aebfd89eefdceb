"""`codex-lite exec --output-schema FILE`: the final answer as JSON that follows a JSON Schema.

The schema goes to the server as `response_format` (json_schema, strict; LiteLLM forwards it).
Servers honour that unevenly, so the final message is checked here too: one that is not JSON or
does not match fails the run with exit 1 and a line naming the first mismatch.

The checker covers the core of what structured outputs use: type, properties, required,
additionalProperties, items, enum, const and anyOf. Other keywords are ignored (the server is the
stricter judge), never a crash.
"""

from __future__ import annotations

import json
from typing import Any

from codex_lite.errors import UserError

SCHEMA_NAME = "codex_output_schema"  # the name Codex gives it
MAX_SCHEMA_BYTES = 1 << 20
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


class SchemaError(UserError):
    """The schema file cannot be used, or an answer does not follow it (one line for the user)."""


def load(path: str) -> dict[str, Any]:
    """The schema in `path`: a JSON object, read with a size cap."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SCHEMA_BYTES + 1)
    except OSError as exc:
        raise SchemaError(f"--output-schema {path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_SCHEMA_BYTES:
        raise SchemaError(f"--output-schema {path}: larger than {MAX_SCHEMA_BYTES} bytes")
    try:
        schema = json.loads(data)
    except ValueError as exc:
        raise SchemaError(f"--output-schema {path}: not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise SchemaError(f"--output-schema {path}: a JSON Schema must be a JSON object")
    return schema


class OutputSchema:
    """A loaded schema: what to send, and how to judge the final answer."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.response_format = {"type": "json_schema",
                                "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True}}

    def problem(self, answer: str) -> str | None:
        try:
            check_answer(answer, self.schema)
        except SchemaError as exc:
            return str(exc)
        return None


def check_answer(text: str, schema: dict[str, Any]) -> Any:
    """The answer parsed as JSON when it follows `schema`; SchemaError naming the mismatch otherwise.
    A ```json fence around the object is tolerated (models add one despite response_format)."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```"):
        body = body[3:-3].removeprefix("json").strip()
    try:
        value = json.loads(body)
    except ValueError:
        raise SchemaError("the final answer is not JSON, but --output-schema asks for JSON "
                          "following the schema") from None
    problem = mismatch(value, schema)
    if problem:
        raise SchemaError(f"the final answer does not follow the --output-schema: {problem}")
    return value


def mismatch(value: Any, schema: Any, where: str = "$", depth: int = 0) -> str | None:
    """Why `value` does not follow `schema` (the first reason found), or None."""
    if not isinstance(schema, dict) or depth > 64:
        return None
    wanted = schema.get("type")
    names = wanted if isinstance(wanted, list) else [wanted] if wanted else []
    if names and not any(_is(value, name) for name in names):
        actual = next((n for n in ("null", "boolean", "integer", "number", "string", "array", "object")
                       if _is(value, n)), "?")
        return f"{where} is {actual}, not {' or '.join(map(str, names))}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} is {_short(value)}, not one of {_short(schema['enum'])}"
    if "const" in schema and value != schema["const"]:
        return f"{where} is {_short(value)}, not {_short(schema['const'])}"
    options = schema.get("anyOf")
    if isinstance(options, list) and options and all(mismatch(value, o, where, depth + 1) for o in options):
        return f"{where} matches none of the anyOf alternatives"
    if isinstance(value, dict):
        return _object_problem(value, schema, where, depth)
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = mismatch(item, schema.get("items"), f"{where}[{i}]", depth + 1)
            if problem:
                return problem
    return None


def _is(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    cls = _TYPES.get(name)
    return cls is None or isinstance(value, cls)


def _object_problem(value: dict, schema: dict[str, Any], where: str, depth: int) -> str | None:
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            return f"{where} lacks the required property {name!r}"
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name not in props and extra is False:
            return f"{where} has the property {name!r}, which the schema does not allow"
        problem = mismatch(item, props.get(name, extra), f"{where}.{name}", depth + 1)
        if problem:
            return problem
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
