"""What a trace record may hold: secrets out, conversation text reduced to sizes unless log_prompts.

    secret_name(name) -> bool            `api_key`, `Authorization`, `access_token`, ... (not `input_tokens`)
    secret_values(config, env=None)      the provider's secrets (redact.provider_secrets) and every
                                         environment variable named like a key, token, secret or password
    shape(event, log_prompts) -> dict    the trace record of an event
    scrub_line(line, redactor) -> str    a serialized record with secret values and bearer tokens blanked

Why apart: this is the privacy boundary of telemetry; it reuses codex_lite.security.redact (REDACTED,
MIN_CHARS, the Redactor's replacement of exact values) and adds only what logs need on top: secret
*names*, bearer/`sk-` patterns and the shapes-only rule.
"""

from __future__ import annotations

import os
import re
from typing import Any

from codex_lite.security.redact import MIN_CHARS, REDACTED, Redactor, provider_secrets

FIELD_CLIP = 4096                # longest string kept in a trace record (log_prompts on)
_SECRET_NAMES = ("authorization", "proxy_authorization", "cookie", "set_cookie", "password", "secret",
                 "token", "key", "api_key", "apikey", "bearer")
_SECRET_PATTERN = r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{8,}"  # compiled on use
# Conversation content per event kind: logged only with log_prompts, otherwise replaced by its size.
PRIVATE_FIELDS: dict[str, tuple[str, ...]] = {
    "turn_started": ("prompt",), "reasoning": ("text",), "agent_message": ("text",),
    "tool_call": ("arguments", "error"), "command_started": ("command", "cwd"),
    "tool_result": ("output",), "file_change": ("diff", "changes"),
    "plan_update": ("plan", "explanation"), "history_append": ("message",),
}
# Kinds whose remaining fields are not conversation content (error texts come from our own code).
PUBLIC_KINDS = set(PRIVATE_FIELDS) | {"history_rewind", "usage", "retry", "retry_outcome", "error",
                                      "turn_completed", "turn_failed", "model_selection", "envelope_repair",
                                      "context_compacted"}

_NAME_CACHE: dict[str, bool] = {}


def secret_name(name: str) -> bool:
    """`Authorization`, `api_key`, `x-api-key`, `access_token`, ... but not `input_tokens` (a count)."""
    known = _NAME_CACHE.get(name)
    if known is None:
        low = name.lower().replace("-", "_")
        known = low in _SECRET_NAMES or low.endswith(("_key", "_token", "_secret", "_password", "apikey"))
        if len(_NAME_CACHE) < 512:
            _NAME_CACHE[name] = known
    return known


def secret_values(config: Any, env: dict[str, str] | None = None) -> list[str]:
    """Strings never to be written: the provider's key, its header values and every environment
    variable named like a key, token, secret or password."""
    env = os.environ if env is None else env
    found: set[str] = set()
    provider = getattr(config, "provider", None)
    if provider is not None:
        found.update(provider_secrets(provider))
    for name, value in env.items():
        if secret_name(name) or "PASSWORD" in name.upper() or "SECRET" in name.upper():
            found.add(value)
    return sorted((s for s in found if s and len(s) >= MIN_CHARS), key=len, reverse=True)


def scrub_line(line: str, redactor: Redactor) -> str:
    """A serialized record with the known secret values (also in their JSON-escaped forms) and
    anything that looks like a bearer token or an `sk-` key replaced by REDACTED."""
    line = redactor.text(line)
    if "earer" in line or "sk-" in line:
        line = re.sub(_SECRET_PATTERN, lambda m: (m.group(1) or "") + REDACTED, line)
    return line


def _clip(value: Any, limit: int = FIELD_CLIP) -> Any:
    """Long strings cut, secret-named keys blanked, recursively: one event can never be huge."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"...[{len(value) - limit} more]"
    if isinstance(value, dict):
        return {k: REDACTED if secret_name(str(k)) and v else _clip(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clip(v, limit) for v in value[:200]]
    return value


def _size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, dict)):
        return len(value)
    return 1


def shape(event: Any, log_prompts: bool) -> dict[str, Any]:
    """The trace record of an event: everything with log_prompts, otherwise conversation text is
    replaced by sizes and tool metadata keeps only numbers and flags."""
    fields = getattr(event, "__dict__", None)  # a shallow copy: asdict() deep-copies every event
    data = {**fields, "event": event.kind} if fields is not None else event.to_dict()
    kind = data.get("event", "")
    if kind == "model_selection":
        data["event"] = f"model_selection.{data.get('action') or 'unknown'}"
    if log_prompts:
        return _clip(data)
    if kind not in PUBLIC_KINDS:  # an event kind this module does not know yet: numbers only
        return {k: v for k, v in data.items()
                if k == "event" or isinstance(v, (bool, int, float)) or v is None}
    for name in PRIVATE_FIELDS.get(kind, ()):
        if name in data:
            value = data.pop(name)
            if name == "message" and isinstance(value, dict):
                data["role"] = value.get("role")
                value = value.get("content")
            data[f"{name}_size"] = _size(value)
    if isinstance(data.get("metadata"), dict):
        data["metadata"] = {k: v for k, v in data["metadata"].items()
                            if isinstance(v, (bool, int, float)) and not secret_name(k)}
    return _clip(data, 300)
