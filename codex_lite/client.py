"""Blocking, non-streaming chat completions over urllib3.

One request at a time, the whole JSON answer at once: that is what made the Rust patchset stable
behind LiteLLM, and it keeps the agent single-threaded. Transient failures (429, 5xx, refused or
dropped connections) are retried with capped exponential backoff and jitter, honouring Retry-After.
Anything else is a ModelError whose message says which URL, which status and what the server said,
and never contains the API key or an http_headers value (a hostile server may echo them): they are
redacted before the server's text is cut to one short line. Request bodies are redacted the same
way, so a secret that found its way into the conversation never leaves the device.
"""

from __future__ import annotations

import json
import random
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import urllib3

from codex_lite.config import Provider
from codex_lite.redact import Redactor

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
RETRY_AFTER_CAP_SECONDS = 300.0


class ModelError(Exception):
    """A request that failed for good; the message is meant for the user as it is."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Client:
    def __init__(self, provider: Provider, sleep: Callable[[float], None] = time.sleep):
        self.provider = provider
        self.sleep = sleep
        self.redactor = Redactor.for_provider(provider)
        self.http = urllib3.PoolManager(
            retries=False,
            timeout=urllib3.Timeout(connect=provider.connect_timeout_seconds,
                                    read=provider.request_timeout_seconds),
        )

    # -- requests -------------------------------------------------------------------------------

    def chat(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             reasoning_effort: str | None = None,
             on_retry: Callable[[int, float, str], None] | None = None) -> dict[str, Any]:
        """POST /chat/completions with stream=false; the parsed JSON answer."""
        body: dict[str, Any] = {"model": model, "messages": self.redactor.value(messages), "stream": False}
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        if reasoning_effort and reasoning_effort != "none":
            body["reasoning_effort"] = reasoning_effort
        answer = self._request("POST", self.provider.base_url + "/chat/completions", body, on_retry)
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list) \
                or not answer["choices"]:
            raise ModelError(f"{self.provider.base_url}/chat/completions answered without choices: "
                             f"{_short(self.redactor.text(json.dumps(answer)))}")
        return answer

    def list_models(self) -> list[str]:
        """Model names, asking LiteLLM's richer endpoints first, then the OpenAI one."""
        root = self.provider.root_url
        urls = [self.provider.base_url + "/models"]
        if self.provider.is_litellm:
            urls = [root + "/model_group/info", root + "/model/info", root + "/v1/models"]
        last: ModelError | None = None
        for url in urls:
            try:
                names = _model_names(self._request("GET", url, None, None, retries=0))
            except ModelError as exc:
                if exc.status in (401, 403):
                    raise
                last = exc
                continue
            if names:
                return names
        if last:
            raise last
        return []

    def _request(self, method: str, url: str, body: dict[str, Any] | None,
                 on_retry: Callable[[int, float, str], None] | None, retries: int | None = None) -> Any:
        retries = self.provider.request_max_retries if retries is None else retries
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, url, body)
            except _Transient as exc:
                if attempt > retries:
                    raise ModelError(f"{exc.message} (gave up after {attempt} attempts)", exc.status) \
                        from None
                wait = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
                if on_retry:
                    on_retry(attempt, wait, exc.message)
                self.sleep(wait)

    def _once(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        try:
            return self._send(method, url, body)
        except (_Transient, ModelError) as exc:  # the last line of defence: texts are redacted below
            exc.args = tuple(self.redactor.text(str(a)) for a in exc.args)
            if isinstance(exc, _Transient):
                exc.message = self.redactor.text(exc.message)
            raise

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        headers = {"Content-Type": "application/json", **self.provider.http_headers}
        if self.provider.api_key:
            headers["Authorization"] = f"Bearer {self.provider.api_key}"
        full_url = url
        if self.provider.query_params:
            from urllib.parse import urlencode

            full_url += ("&" if "?" in url else "?") + urlencode(self.provider.query_params)
        payload = json.dumps(body).encode() if body is not None else None
        try:
            resp = self.http.request(method, full_url, body=payload, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise _Transient(f"cannot reach {url}: {_reason(exc, self.redactor)}") from None
        if resp.status == 429 or resp.status >= 500:
            # LiteLLM renames the upstream's Retry-After to llm_provider-retry-after
            wait = resp.headers.get("Retry-After") or resp.headers.get("llm_provider-retry-after")
            raise _Transient(f"{url} answered {resp.status}: {self._said(resp)}", resp.status,
                             _retry_after(wait))
        if resp.status >= 400:
            hint = " (check the API key)" if resp.status in (401, 403) else ""
            if resp.status == 400 and b"No connected db" in resp.data:
                hint = (" (the proxy accepts only its master key, since it has no key database: "
                        "check the API key)")
            raise ModelError(f"{url} answered {resp.status}{hint}: {self._said(resp)}", resp.status)
        try:
            return json.loads(resp.data)
        except ValueError:
            raise ModelError(f"{url} answered {resp.status} with something that is not JSON: "
                             f"{self._said(resp)}", resp.status) from None

    def _said(self, resp: Any) -> str:
        return _server_message(resp.data, self.redactor)

class _Transient(Exception):
    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


def _backoff(attempt: int) -> float:
    """Capped exponential backoff with full jitter in the upper half."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.random() * ceiling / 2


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def _reason(exc: Exception, redactor: Redactor) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = redactor.text(str(reason))
    if "Connection refused" in text:
        return "connection refused (is the proxy running?)"
    if "timed out" in text.lower():
        return "timed out"
    return _short(text)


def _server_message(data: bytes, redactor: Redactor) -> str:
    """What the server said, in one short line: the JSON error message, with any HTML error page in
    it (LiteLLM wraps the upstream's page in its JSON) reduced to the page's title, and the secrets
    it echoed redacted before it is cut."""
    text = data.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg is None and isinstance(err, dict):
            msg = err.get("detail") or parsed.get("detail")
        text = str(msg if msg is not None else text)
    return _short(redactor.text(_without_html(text))) or "(empty body)"


def _without_html(text: str) -> str:
    lower = text[:20000].lower()
    start = min((i for i in (lower.find("<!doctype"), lower.find("<html")) if i >= 0), default=-1)
    if start < 0:
        return text
    title = re.search(r"<title>([^<]{0,200})</title>", text[start:start + 5000], re.I)
    page = "an HTML error page" + (f" ({' '.join(title.group(1).split())})" if title else "")
    end = lower.find("</html>", start)
    rest = text[end + len("</html>"):] if end >= 0 else ""
    return text[:start] + page + rest


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _model_names(answer: Any) -> list[str]:
    data = answer.get("data") if isinstance(answer, dict) else None
    names: list[str] = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict):
            name = item.get("model_group") or item.get("model_name") or item.get("id")
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names
