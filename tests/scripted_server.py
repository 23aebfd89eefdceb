"""A scripted OpenAI-compatible model server for tests and the demo (standard library only).

It answers `POST /v1/chat/completions` (and `/chat/completions`) by popping the next scripted reply
from a queue, and records every request it receives, so a test can say exactly what "the model"
answers and then check what the agent sent back (tool results, `tool_call_id`s, `"stream": false`,
the `tools`, the Authorization header).

A scripted reply is one of:
- a chat-completion body (a dict with "choices"): sent with status 200. Build it with `completion()`.
- a raw reply `{"status": 429, "headers": {"Retry-After": "1"}, "body": "..."}`; `body` may be a str
  (sent as is, e.g. an HTML error page) or a dict/list (sent as JSON). Build it with `raw()`,
  `error()`, `rate_limited()` or `html_error()`.
- a delay `{"delay": seconds}` (then the next reply is popped) or `{"delay": s, "reply": REPLY}`.
  Build it with `delayed()`. Delays are capped at 120 s so a bad script cannot hang a test run.
When the queue is empty the server answers a plain assistant message "script exhausted", so a test
that scripted too few replies fails visibly instead of hanging.

A context window (`set_window(tokens, summary=..., marker=...)`, cleared by reset) makes the server
behave like a small local model behind vLLM: a request whose messages and tools count more than
`tokens` (one token per TOKEN_BYTES bytes of their JSON, deliberately not the agent's own bytes/4)
gets the OpenAI/vLLM 400 "This model's maximum context length is N tokens. However, your messages
resulted in M tokens..." (LiteLLM turns it into its ContextWindowExceededError), every answer's
`usage.prompt_tokens` is that count, and a request whose last user message contains `marker` (a
request for a summary) is answered `summary` without touching the queue.

Other endpoints: `GET /v1/models` (and `/models`) list the model "scripted". Admin endpoints let a
process that lives for a whole test session be scripted from outside:
`POST /_script` (body: a list of replies, or {"replies": [...]}) replaces the queue,
`POST /_push` appends to it, `GET /_requests` returns the recorded requests,
`POST /_window` sets the window ({"tokens", "summary", "marker"}), `POST /_reset` empties all.

In process:
    server = ScriptedServer().start()
    server.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]), completion("done")])
    ... point a client at server.base_url (".../v1") ...
    server.requests()   # [{"method", "path", "headers", "body"}, ...]
    server.stop()

Standalone:
    python tests/scripted_server.py --port 0 --port-file F [--script FILE.json]
prints the port on stdout (one line), writes it to F, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
MODEL = "scripted"
MAX_DELAY_SECONDS = 120.0
EXHAUSTED_TEXT = "script exhausted"
TOKEN_BYTES = 3.5  # a window's token count: bytes of JSON per token
SUMMARY_MARKER = "Summarise our conversation so far"

_ids = itertools.count(1)


# --------------------------------------------------------------------------- reply builders


def tool_call(name: str, arguments: Any = None, call_id: str | None = None) -> dict[str, Any]:
    """One OpenAI tool call. `arguments` is a dict (JSON-encoded here) or a raw string (sent as is,
    so tests can send broken JSON)."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {
        "id": call_id or f"call_{next(_ids)}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def make_usage(prompt_tokens: int = 10, completion_tokens: int = 5, cached_tokens: int | None = None,
          reasoning_tokens: int | None = None) -> dict[str, Any]:
    u: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        u["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    if reasoning_tokens is not None:
        u["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return u


def completion(content: str | None = None, reasoning_content: str | None = None,
               tool_calls: list[Any] | None = None, usage: dict[str, Any] | None = None,
               *, reasoning: str | None = None, finish_reason: str | None = None,
               model: str = MODEL, message_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full chat-completion body.

    `tool_calls` items are `(name, args)` or `(name, args, call_id)` tuples (args: dict or raw
    string) or ready tool-call dicts. `reasoning_content` and `reasoning` set those message fields
    (omitted when None). `usage=None` gives a small default usage block."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning_content is not None:
        message["reasoning_content"] = reasoning_content
    if reasoning is not None:
        message["reasoning"] = reasoning
    calls = []
    for item in tool_calls or []:
        calls.append(item if isinstance(item, dict) else tool_call(*item))
    if calls:
        message["tool_calls"] = calls
    if message_extra:
        message.update(message_extra)
    if finish_reason is None:
        finish_reason = "tool_calls" if calls else "stop"
    return {
        "id": f"chatcmpl-scripted-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage if usage is not None else make_usage(),
    }


def raw(status: int, body: Any = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A raw reply: any status, headers and body (str as is, dict/list as JSON)."""
    return {"status": int(status), "headers": dict(headers or {}), "body": body}


def error(status: int, message: str, type_: str = "server_error",
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An OpenAI-style JSON error body."""
    return raw(status, {"error": {"message": message, "type": type_, "code": status}}, headers)


def rate_limited(retry_after: float = 1, message: str = "Rate limit reached, slow down") -> dict[str, Any]:
    return error(429, message, "rate_limit_error", {"Retry-After": str(retry_after)})


HTML_500 = """<!DOCTYPE html>
<html><head><title>500 Internal Server Error</title></head>
<body><h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.</p>
<hr><address>nginx/1.24.0</address></body></html>
"""


def html_error(status: int = 500, page: str = HTML_500) -> dict[str, Any]:
    return raw(status, page, {"Content-Type": "text/html; charset=utf-8"})


def delayed(seconds: float, reply: Any = None) -> dict[str, Any]:
    """Wait `seconds` before answering `reply` (or, without one, the next reply in the queue)."""
    d: dict[str, Any] = {"delay": float(seconds)}
    if reply is not None:
        d["reply"] = reply
    return d


# --------------------------------------------------------------------------- the server


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() can drop keep-alive clients too (a stopped server must
    look like a dead port, not keep answering on old connections)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.open_sockets: set[Any] = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for sock in socks:
            try:
                sock.shutdown(2)  # socket.SHUT_RDWR
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    server_version = "ScriptedModel/1.0"
    protocol_version = "HTTP/1.1"

    # quiet: tests read the recorded requests instead
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            sys.stderr.write("scripted_server: " + (format % args) + "\n")

    @property
    def state(self) -> ScriptedServer:
        return self.server.state  # type: ignore[attr-defined]

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, bytes):
            data = body
        else:
            data = str(body).encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self) -> None:
        path = self._path()
        if path == "/_requests":
            self._send(200, self.state.requests())
        elif path in ("/v1/models", "/models"):
            self._send(200, {"object": "list",
                             "data": [{"id": MODEL, "object": "model", "owned_by": "scripted"}]})
        elif path in ("/", "/health"):
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def do_POST(self) -> None:
        path = self._path()
        body = self._read_body()
        if path in ("/_script", "/_push"):
            try:
                data = json.loads(body or b"[]")
            except ValueError as exc:
                self._send(400, {"error": {"message": f"bad script JSON: {exc}"}})
                return
            replies = data.get("replies", []) if isinstance(data, dict) else data
            if path == "/_script":
                self.state.set_script(replies)
            else:
                self.state.push(*replies)
            self._send(200, {"queued": self.state.pending()})
            return
        if path == "/_window":
            self.state.set_window(**json.loads(body or b"{}"))
            self._send(200, {"ok": True})
            return
        if path == "/_reset":
            self.state.reset()
            self._send(200, {"ok": True})
            return
        self.state._record(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        reply = self.state._windowed_reply(body) or self.state._next_reply()
        status, out, headers = 200, reply, {}
        if isinstance(reply, dict) and "status" in reply and "choices" not in reply:
            status, out, headers = reply["status"], reply.get("body", ""), reply.get("headers") or {}
        try:
            self._send(status, out, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to do


class ScriptedServer:
    """The scripted model server, in process. Binds 127.0.0.1 only."""

    def __init__(self, port: int = 0, script: list[Any] | None = None, verbose: bool = False):
        self._lock = threading.Lock()
        self._queue: list[Any] = list(script or [])
        self._requests: list[dict[str, Any]] = []
        self._port = port
        self._verbose = verbose
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._window: dict[str, Any] | None = None
        self.record_bodies = True  # False: requests are recorded with their size only (benchmarks)

    # lifecycle
    def start(self) -> ScriptedServer:
        httpd = _Server((HOST, self._port), _Handler)
        httpd.state = self  # type: ignore[attr-defined]
        httpd.verbose = self._verbose  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="scripted-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.drop_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client (or LiteLLM's api_base) wants: the URL with /v1."""
        return self.url + "/v1"

    # script
    def set_script(self, replies: list[Any]) -> None:
        with self._lock:
            self._queue = list(replies)

    def push(self, *replies: Any) -> None:
        with self._lock:
            self._queue.extend(replies)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue = []
            self._requests = []
            self._window = None

    def set_window(self, tokens: int | None, summary: str = "Summary: the work so far.",
                   marker: str = SUMMARY_MARKER) -> None:
        """Enforce a context window of `tokens` (None: none); see the module doc."""
        with self._lock:
            self._window = {"tokens": tokens, "summary": summary, "marker": marker} if tokens else None

    @staticmethod
    def count_tokens(request: dict[str, Any]) -> int:
        """The window's token count of a chat request (its messages and tools)."""
        size = len(json.dumps(request.get("messages") or [])) + len(json.dumps(request.get("tools") or []))
        return int(size / TOKEN_BYTES) + 1

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests: [{"method", "path", "headers", "body", "time"}]; header names are lower-cased,
        the body is parsed as JSON when it is."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def request_times(self) -> list[float]:
        """Arrival times (time.time()) of the chat-completion requests, in order."""
        return [r["time"] for r in self.requests() if r["path"].rstrip("/").endswith("/chat/completions")]

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completion requests only, in order."""
        return [r["body"] for r in self.requests() if r["path"].rstrip("/").endswith("/chat/completions")]

    # internals
    def _windowed_reply(self, body: bytes) -> Any:
        """The answer of the window mode, or None to take the next scripted reply."""
        with self._lock:
            window = self._window
        if window is None:
            return None
        try:
            request = json.loads(body)
        except ValueError:
            return None
        count = self.count_tokens(request)
        if count > window["tokens"]:
            return raw(400, {"error": {
                "message": f"This model's maximum context length is {window['tokens']} tokens. However, your "
                           f"messages resulted in {count} tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
        messages = request.get("messages") or [{}]
        last = messages[-1] if isinstance(messages[-1], dict) else {}
        if last.get("role") == "user" and window["marker"] in str(last.get("content")):
            return completion(window["summary"], usage=make_usage(count, 50))
        with self._lock:
            reply = self._next_reply_locked_peek()
        if isinstance(reply, dict) and isinstance(reply.get("usage"), dict):
            reply["usage"]["prompt_tokens"] = count
            reply["usage"]["total_tokens"] = count + int(reply["usage"].get("completion_tokens") or 0)
        return reply

    def _next_reply_locked_peek(self) -> Any:
        """Pop the next reply (lock held); delays are not honoured in window mode."""
        while self._queue:
            item = self._queue.pop(0)
            if isinstance(item, dict) and "delay" in item and "choices" not in item:
                if "reply" in item:
                    return item["reply"]
                continue
            return item
        return completion(EXHAUSTED_TEXT)

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        try:
            parsed: Any = json.loads(body) if body and self.record_bodies else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        with self._lock:
            self._requests.append({"method": method, "path": path, "headers": headers, "body": parsed,
                                   "bytes": len(body), "time": time.time()})

    def _next_reply(self) -> Any:
        for _ in range(1000):  # bounded: delays chain at most this many times
            with self._lock:
                item = self._queue.pop(0) if self._queue else None
            if item is None:
                return completion(EXHAUSTED_TEXT)
            if isinstance(item, dict) and "delay" in item and "choices" not in item:
                time.sleep(max(0.0, min(float(item["delay"]), MAX_DELAY_SECONDS)))
                if "reply" in item:
                    return item["reply"]
                continue
            return item
        return completion(EXHAUSTED_TEXT)


class RemoteScript:
    """Drive a ScriptedServer running in another process through its admin endpoints (urllib only)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, data: Any = None) -> Any:
        import urllib.request

        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def set_script(self, replies: list[Any]) -> None:
        self._call("POST", "/_script", list(replies))

    def push(self, *replies: Any) -> None:
        self._call("POST", "/_push", list(replies))

    def reset(self) -> None:
        self._call("POST", "/_reset", {})

    def set_window(self, tokens: int | None, **kwargs: Any) -> None:
        self._call("POST", "/_window", {"tokens": tokens, **kwargs})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_requests")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Scripted OpenAI-compatible model server (127.0.0.1 only).")
    ap.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    ap.add_argument("--port-file", help="write the chosen port to this file")
    ap.add_argument("--script", help="JSON file with the list of replies to queue")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args(argv)
    script: list[Any] = []
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            data = json.load(fh)
        script = data.get("replies", []) if isinstance(data, dict) else data
    server = ScriptedServer(port=args.port, script=script, verbose=args.verbose).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"{server.port}\n")
        os.replace(tmp, args.port_file)  # atomic: a reader never sees a half-written port
    print(server.port, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
