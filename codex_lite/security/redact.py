"""Secrets stay home: the exact values of the configured API key and of the provider's http_headers
are replaced with `[redacted]` in everything codex-lite writes or sends.

Why it looks like this: a model can read the key from a file (`cat .env`), a hostile server can echo
the headers it was sent, and from there a secret would travel to the model, the session file, JSON
output, the screen and telemetry. So the same Redactor is applied at each of those doors: command
output before it is cut for the model (tools/shell.py), every request body (client.py), every event
before any listener sees it (events.Bus) and the final answer (exec). Secrets are replaced *before*
any text is cut, so a key across a cut cannot leak its first or last part; where bytes must be cut
first (the bounded output buffer), `safe_cut` moves the cut past any secret it would split.

Values shorter than MIN_CHARS (6) are not treated as secrets: replacing a value of a few
characters everywhere would garble every output. Six is low enough for LiteLLM's well-known example
master key `sk-1234` (7), which real proxies do run with. Headers that are public by nature
(`HTTP-Referer`, `X-Title`, `User-Agent`, ...: OpenRouter asks for the first two) are not secrets
either, so their values (`codex-lite`, a site's URL) are never replaced in outputs. Telemetry uses
the same rules (and adds the values of variables named like keys and tokens).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from codex_lite.records import fields, replace

REDACTED = "[redacted]"
MIN_CHARS = 6
# Request headers that never carry a credential.
PUBLIC_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "content-type", "http-referer",
                            "referer", "user-agent", "x-title"})


def provider_secrets(provider: Any) -> list[str]:
    """The provider's API key and the values of its http_headers, public headers left out."""
    headers = getattr(provider, "http_headers", None) or {}
    values = [v for k, v in headers.items() if str(k).lower() not in PUBLIC_HEADERS]
    return [s for s in (getattr(provider, "api_key", None), *values) if isinstance(s, str)]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of an event class, looked up once (records.fields builds a new tuple on
    every call, and this runs for every event)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


class Redactor:
    """Replaces known secret strings; a Redactor without secrets returns everything as it is."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        raw = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_CHARS}
        self.raw = frozenset(raw)
        forms = set(raw)
        for s in raw:  # as they appear inside JSON text too (quotes, backslashes, non-ASCII escaped)
            forms.add(json.dumps(s)[1:-1])
            forms.add(json.dumps(s, ensure_ascii=False)[1:-1])
        self.forms = tuple(sorted(forms, key=len, reverse=True))
        self.encoded = tuple(sorted({s.encode("utf-8", "surrogateescape") for s in forms}, key=len,
                                    reverse=True))
        self.longest_bytes = max((len(b) for b in self.encoded), default=0)

    @classmethod
    def for_provider(cls, provider: Any) -> Redactor:
        """The provider's API key and the values of its (non-public) http_headers."""
        return cls(provider_secrets(provider))

    def __bool__(self) -> bool:
        return bool(self.forms)

    def text(self, text: str) -> str:
        for secret in self.forms:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def value(self, value: Any) -> Any:
        """Strings inside dicts, lists and tuples redacted; a new container only where one changed."""
        if not self.forms:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            out = {k: self.value(v) for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, (list, tuple)):
            items = [self.value(v) for v in value]
            if all(a is b for a, b in zip(items, value)):
                return value
            return type(value)(items) if isinstance(value, tuple) else items
        return value

    def event(self, event: Any) -> Any:
        """An event (a dataclass) with its text fields redacted: the same object when nothing changed,
        else a copy (the agent's own objects are never modified)."""
        if not self.forms:
            return event
        changed = {}
        for name in _field_names(type(event)):
            old = getattr(event, name)
            new = self.value(old)
            if new is not old:
                changed[name] = new
        return replace(event, **changed) if changed else event

    def safe_cut(self, data: bytes, at: int) -> int:
        """`at`, or a later index when cutting `data` at `at` would split a secret: then the cut
        moves to that secret's end, so the secret stays whole on one side."""
        moved = True
        while moved:
            moved = False
            for secret in self.encoded:
                start = data.find(secret, max(0, at - len(secret) + 1))
                if start != -1 and start < at < start + len(secret):
                    at, moved = start + len(secret), True
        return min(at, len(data))
