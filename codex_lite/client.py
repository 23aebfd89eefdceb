"""Blocking, non-streaming chat completions over urllib3.

One request at a time, the whole JSON answer at once: that is what made the Rust patchset stable
behind LiteLLM, and it keeps the agent single-threaded. What a hostile or broken server can push is
bounded: `request_timeout_seconds` bounds an attempt as a whole (a server dripping a byte a second
too), `request_total_timeout_seconds` all attempts and waits; only transient failures (refused or
reset connections, timeouts, 429, 5xx) are retried; `max_response_bytes` applies after
decompression (bombs) and JSON nesting is bounded (json_limits). Failures are a one-line ModelError
naming the URL and what the server said, with the API key and http_headers values redacted (before
the cut), as they are in request bodies.
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
import zlib
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import urllib3

from codex_lite.config import Provider
from codex_lite import events as ev
from codex_lite.context_window import OVERFLOW_STATUSES, SANE_WINDOWS, is_overflow
from codex_lite.events import duration_text
from codex_lite.json_limits import JSONTooDeep, json_type, loads
from codex_lite.retry import REQUEST, RequestPolicy
from codex_lite.security.redact import Redactor

READ_CHUNK = 64 * 1024
STEP = 1 << 20  # most bytes inflated in one step
FALLBACK_STATUSES = (400, 404, 405, 501)  # a model-list endpoint this server does not have


class ModelError(Exception):
    """A request that failed for good; the message is meant for the user as it is. `unreachable`
    is set when no server answered at all (nothing listens there, or the name does not resolve);
    `overflow` when the server said the context is too long."""

    def __init__(self, message: str, status: int | None = None, unreachable: bool = False,
                 overflow: bool = False):
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable
        self.overflow = overflow


def size_text(n: int) -> str:
    """16 MiB, 4 KiB, 1000 bytes."""
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n >> 10} KiB" if n % 1024 == 0 else f"{n} bytes"


class Client:
    def __init__(self, provider: Provider, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.provider = provider
        self.sleep = sleep
        self.clock = clock
        self.redactor = Redactor.for_provider(provider)
        self.http = urllib3.PoolManager(retries=False)
        self.response_format: dict[str, Any] | None = None  # exec --output-schema

    def retry_notices(self, emit: Callable[[ev.Event], None]) -> Callable[[int, float, str], None]:
        """An `on_retry` that tells `emit` of each retry as a Retry event (scope "request")."""
        return lambda attempt, wait, reason: emit(ev.Retry(
            attempt=attempt, max_attempts=self.retry_policy.max_attempts,
            wait_seconds=round(wait, 3), reason=reason, scope=REQUEST))

    @property
    def retry_policy(self) -> RequestPolicy:
        """How transient failures are retried (codex_lite.retry), read from the provider each time."""
        return RequestPolicy.from_provider(self.provider)

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
        if self.response_format:
            body["response_format"] = self.response_format
        url = self.provider.base_url + "/chat/completions"
        return _check_completion(url, self._request("POST", url, body, on_retry))

    def list_models(self, on_retry: Callable[[int, float, str], None] | None = None) -> list[str]:
        """Model names, asking LiteLLM's richer endpoints first, then the OpenAI one. Retried like a
        chat request; only an endpoint this server lacks (404 and the like) moves on."""
        root = self.provider.root_url
        urls = [self.provider.base_url + "/models"]
        if self.provider.is_litellm:
            urls = [root + "/model_group/info", root + "/model/info", root + "/v1/models"]
        last: ModelError | None = None
        for url in urls:
            try:
                names = _model_names(self._request("GET", url, None, on_retry))
            except ModelError as exc:
                if exc.status not in FALLBACK_STATUSES and not 200 <= (exc.status or 0) < 300:
                    raise  # (a 2xx here is an answer that is not a model list)
                last = exc
                continue
            if names:
                return names
        if last:
            raise last
        return []

    def max_input_tokens(self, model: str) -> tuple[int | None, str]:
        """(LiteLLM's max_input_tokens for `model`, the endpoint that said it), else (None, "unknown").
        One short attempt per endpoint: this must not delay the task."""
        if not self.provider.is_litellm:
            return None, "unknown"
        root = self.provider.root_url
        for path, name_key in (("/model_group/info", "model_group"), ("/model/info", "model_name")):
            try:
                answer = self._once("GET", root + path, None, self.clock() + 5.0)
            except (_Transient, ModelError):
                continue
            for item in (answer.get("data") if isinstance(answer, dict) else None) or []:
                if not isinstance(item, dict) or item.get(name_key) != model:
                    continue
                info = item.get("model_info") if isinstance(item.get("model_info"), dict) else item
                tokens = info.get("max_input_tokens")
                if isinstance(tokens, (int, float)) and not isinstance(tokens, bool) \
                        and SANE_WINDOWS[0] <= tokens <= SANE_WINDOWS[1]:
                    return int(tokens), f"{path} of the proxy"
        return None, "unknown"

    def _request(self, method: str, url: str, body: dict[str, Any] | None,
                 on_retry: Callable[[int, float, str], None] | None) -> Any:
        """One request with its retries, inside the total budget."""
        p = self.provider
        payload = json.dumps(body).encode() if body is not None else None
        budget = p.total_timeout_seconds
        budget_end = self.clock() + budget
        attempt = 0
        while True:
            attempt += 1
            deadline = min(self.clock() + p.request_timeout_seconds, budget_end)
            try:
                return self._once(method, url, payload, deadline)
            except _Transient as exc:
                if exc.unreachable and p.unconfigured_hint:  # a new user: say what to set up
                    raise ModelError(f"nothing answers at {p.root_url}, the default URL: "
                                     f"{p.unconfigured_hint}", unreachable=True) from None
                final = self._give_up(exc, attempt, budget_end, budget)
                if final is not None:
                    raise ModelError(f"{exc.message} ({final})" if final else exc.message, exc.status,
                                     unreachable=exc.unreachable) from None
                wait = exc.retry_after if exc.retry_after is not None else RequestPolicy.backoff(attempt)
                if on_retry:
                    on_retry(attempt, wait, exc.short)
                self.sleep(wait)

    def _give_up(self, exc: _Transient, attempt: int, budget_end: float, budget: float) -> str | None:
        """None to retry; otherwise why this transient failure ends the request (a note for the
        message, "" for none)."""
        if attempt > self.retry_policy.max_retries:
            return f"gave up after {attempt} attempts" if attempt > 1 else ""
        left = budget_end - self.clock()
        wait = exc.retry_after if exc.retry_after is not None else 0.0
        if exc.retry_after is not None and wait >= left:
            return (f"the server asks to wait {duration_text(wait)} before retrying, beyond the "
                    f"{duration_text(budget)} budget of request_total_timeout_seconds")
        if left <= 1.0 or wait >= left:
            return (f"the {duration_text(budget)} budget of request_total_timeout_seconds is spent "
                    f"after {attempt} attempt{'s' if attempt > 1 else ''}")
        return None

    def _once(self, method: str, url: str, payload: bytes | None, deadline: float) -> Any:
        try:
            return self._send(method, url, payload, deadline)
        except (_Transient, ModelError) as exc:  # the last line of defence: texts are redacted below
            exc.args = tuple(self.redactor.text(str(a)) for a in exc.args)
            if isinstance(exc, _Transient):
                exc.message = self.redactor.text(exc.message)
                exc.short = self.redactor.text(exc.short)
            raise

    def _send(self, method: str, url: str, payload: bytes | None, deadline: float) -> Any:
        p = self.provider
        headers = {"Content-Type": "application/json", **p.http_headers}
        if p.api_key:
            headers["Authorization"] = f"Bearer {p.api_key}"
        full_url = url
        if p.query_params:
            from urllib.parse import urlencode

            full_url += ("&" if "?" in url else "?") + urlencode(p.query_params)
        limit = deadline - self.clock()
        try:
            with _Deadline(limit):
                timeout = urllib3.Timeout(connect=max(0.001, min(p.connect_timeout_seconds, limit)),
                                          read=max(0.001, limit))
                resp = self.http.request(method, full_url, body=payload, headers=headers, timeout=timeout,
                                         preload_content=False, redirect=False)
                try:
                    text = _read_capped(resp, p.max_response_bytes, url, lambda: self.clock() > deadline)
                except BaseException:
                    resp.close()  # half read: the connection must not go back to the pool
                    raise
                resp.release_conn()
        except _DeadlinePassed:
            raise _Transient(f"{url} timed out after {duration_text(limit)}",
                             f"timed out after {duration_text(limit)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise _connection_failure(url, exc, limit, self.redactor) from None
        except ValueError as exc:  # a header value http.client refuses (config.py checks them first)
            raise ModelError(f"cannot send the request to {url}: {exc}") from None
        return _answer_of(url, resp, text, self.redactor)


def _check_completion(url: str, answer: Any) -> dict[str, Any]:
    """The outer shape of a completion, or a one-line ModelError; answer.py reads the inside."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    problem = None
    if not isinstance(answer, dict):
        problem = f"JSON that is {json_type(answer)}, not an object"
    elif not isinstance(choices, list) or not choices:
        problem = "without choices"
    elif not isinstance(choices[0], dict):
        problem = f"a choice that is {json_type(choices[0])}, not an object"
    elif not isinstance(choices[0].get("message"), dict):
        problem = f"a message that is {json_type(choices[0].get('message'))}, not an object"
    elif not isinstance(choices[0]["message"].get("content"), (str, list, type(None))):
        problem = f"a message whose content is {json_type(choices[0]['message'].get('content'))}, not text"
    if problem:
        raise ModelError(f"{url} answered {problem}")
    return answer


class _Transient(Exception):
    """A failure worth retrying: `message` names the URL, `short` (for retry notices) does not."""

    def __init__(self, message: str, short: str, status: int | None = None,
                 retry_after: float | None = None, unreachable: bool = False):
        super().__init__(message)
        self.message, self.short, self.status = message, short, status
        self.retry_after, self.unreachable = retry_after, unreachable


class _DeadlinePassed(BaseException):
    """Raised by SIGALRM. A BaseException, so no `except Exception` in urllib3 swallows it."""


class _Deadline:
    """Interrupts the request when `seconds` pass, whatever it waits for (a byte-a-second drip never
    trips a socket timeout). SIGALRM: the main thread only, where the agent runs."""

    def __init__(self, seconds: float):
        self.seconds = max(seconds, 0.001)
        self.previous: Any = None
        self.installed = self.armed = False

    def _expired(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise _DeadlinePassed()

    def __enter__(self) -> _Deadline:
        try:
            self.previous = signal.signal(signal.SIGALRM, self._expired)
        except (ValueError, AttributeError, OSError):  # not the main thread, or no SIGALRM
            return self
        self.installed = self.armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.installed:
            return
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if self.previous is None else self.previous)


def _connection_failure(url: str, exc: Exception, limit: float, redactor: Redactor) -> Exception:
    """urllib3's exception as a _Transient (worth retrying) or a final ModelError."""
    errors = urllib3.exceptions
    if isinstance(exc, errors.LocationValueError):  # malformed URL or unknown scheme
        return ModelError(f"cannot use {url}: {_short(redactor.text(str(exc)))}")
    text = redactor.text(str(getattr(exc, "reason", None) or exc))
    if "Name or service not known" in text or "nodename nor servname" in text \
            or "No address associated" in text:
        host = urllib3.util.parse_url(url).host
        return ModelError(f"cannot reach {url}: the name {host} does not resolve (check the address)",
                          unreachable=True)
    if "refused" in text.lower():
        return _Transient(f"cannot reach {url}: connection refused (is the proxy running?)",
                          "connection refused", unreachable=True)
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first
    if isinstance(exc, errors.NewConnectionError) or "Temporary failure in name resolution" in text:
        reason = _reason(text)
        return _Transient(f"cannot reach {url}: {reason}", reason, unreachable=True)
    if isinstance(exc, (errors.ConnectTimeoutError, errors.ReadTimeoutError)) or "timed out" in text:
        return _Transient(f"{url} timed out after {duration_text(limit)}",
                          f"timed out after {duration_text(limit)}")
    if isinstance(exc, errors.ProtocolError):
        reason = _reason(text)
        return _Transient(f"cannot reach {url}: {reason}", reason)
    return ModelError(f"cannot reach {url}: {_reason(text)}")


def _answer_of(url: str, resp: Any, text: str, redactor: Redactor) -> Any:
    """The parsed answer of a 2xx; a _Transient for 429 and 5xx; a ModelError for the rest."""
    status = resp.status
    if status in OVERFLOW_STATUSES and is_overflow(text[:65536]):  # final: only a smaller request helps
        raise ModelError(f"{url} answered {status}: {_server_message(text, redactor)}", status, overflow=True)
    if status == 429 or status >= 500:
        # LiteLLM renames the upstream's Retry-After to llm_provider-retry-after
        wait = resp.headers.get("Retry-After") or resp.headers.get("llm_provider-retry-after")
        said = _server_message(text, redactor)
        raise _Transient(f"{url} answered {status}: {said}", f"answered {status}: {said}", status,
                         _retry_after(wait))
    if 300 <= status < 400:
        where = resp.headers.get("Location") or "elsewhere"
        raise ModelError(f"{url} answered {status}, a redirect to {_short(where, 120)}: set base_url to "
                         "where it points", status)
    if status >= 400:
        hint = " (check the API key)" if status in (401, 403) else ""
        if status == 400 and "No connected db" in text:
            hint = (" (the proxy accepts only its master key, since it has no key database: "
                    "check the API key)")
        raise ModelError(f"{url} answered {status}{hint}: {_server_message(text, redactor)}", status)
    try:
        return loads(text)
    except JSONTooDeep as exc:
        raise ModelError(f"{url} answered {status} with JSON {exc}", status) from None
    except (ValueError, RecursionError):
        raise ModelError(f"{url} answered {status} with something that is not JSON: "
                         f"{_server_message(text, redactor)}", status) from None


# -- reading the body -------------------------------------------------------------------------------


def _read_capped(resp: Any, cap: int, url: str, expired: Callable[[], bool]) -> str:
    """The body as text, at most `cap` bytes after decompression: inflated a step at a time
    (zlib's max_length), so a 1 MB gzip bomb of 1 GiB stops at cap + 1 bytes of memory. `expired`
    is checked after every chunk (outside the main thread it is the only deadline)."""
    too_big = ModelError(f"{url} answered more than {size_text(cap)} (max_response_bytes); the answer "
                         "was dropped", resp.status)
    coding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
    if coding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise ModelError(f"{url} answered with Content-Encoding {coding!r}, which codex-lite does not read")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32) if coding != "identity" else None  # gzip or zlib
    length = resp.headers.get("Content-Length")
    if inflater is None and length and length.isdigit() and int(length) > cap:
        raise too_big
    out = bytearray()
    while chunk := resp.read(READ_CHUNK, decode_content=False):
        while chunk and inflater:
            if len(out) > cap:
                raise too_big
            try:
                out += inflater.decompress(chunk, min(cap + 1 - len(out), STEP))
            except zlib.error as exc:
                raise ModelError(f"{url} sent a body that does not decompress: {exc}") from None
            chunk = inflater.unconsumed_tail
        out += chunk
        if len(out) > cap:
            raise too_big
        if expired():
            raise _DeadlinePassed()
    return out.decode(json.detect_encoding(out), "replace")


# -- what the server said ---------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    """Seconds from delta-seconds or an HTTP date; None for nonsense (`nan`, `-1`): then backoff.
    Huge values are kept: the caller gives up when they pass the budget."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = max(seconds, 0.0)
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


def _reason(text: str) -> str:
    for needle, reason in (("Connection reset", "connection reset by the server"),
                           ("IncompleteRead", "the connection broke mid-answer"),
                           ("Connection broken", "the connection broke mid-answer"),
                           ("Connection aborted", "the connection broke mid-answer"),
                           ("Temporary failure in name", "the name does not resolve right now")):
        if needle in text:
            return reason
    return _short(text)


def _server_message(body: str, redactor: Redactor) -> str:
    """What the server said, in one short line: the JSON error message, with any HTML error page in
    it (LiteLLM wraps the upstream's page in its JSON) reduced to the page's title, and the secrets
    it echoed redacted before it is cut."""
    text = body[:65536].strip()
    try:
        parsed = loads(body)  # at most max_response_bytes, like any answer
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg is None and isinstance(err, dict):
            msg = err.get("detail") or parsed.get("detail")
        if isinstance(msg, (str, int, float)):
            text = str(msg)
    cut = text.find("Traceback (most recent call last)")  # LiteLLM puts its own in some messages
    if cut >= 0:
        text = text[:cut].rstrip() + " (the server's traceback is left out)"
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
