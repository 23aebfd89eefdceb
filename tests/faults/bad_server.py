"""A model server that misbehaves on purpose (standard library only): the hostile or broken server
that codex-lite must survive with one clear line, a bounded wait and bounded memory.

The misbehaviour is chosen by the first path segment, so one server serves every test at once and
a test only picks its base URL:

    server = BadServer().start()
    base = server.url("drip")          # http://127.0.0.1:PORT/drip~1 (LITELLM_BASE_URL adds /v1)
    ... codex-lite posts to {base}/v1/chat/completions and the server drips one byte a second ...
    server.hits(base)                  # how many requests reached that base URL
    server.stop()

Behaviours (`NAME` or `NAME=ARG`):
    silent                 read the request, never answer
    drip                   headers at once, then a body of one byte a second, forever
    slow_headers           the status line and headers one byte a second, forever
    gzip_bomb              Content-Encoding: gzip, 1 MB on the wire, 1 GiB decompressed
    deflate_bomb           Content-Encoding: deflate (zlib), the same
    big=MB                 a valid answer whose content is MB megabytes of text (plain body)
    deep=STATUS            a JSON body nested 200,000 deep, with that status
    reset                  headers with Content-Length 100000, 1000 bytes, then a TCP reset
    retry_after=VALUE      429 with `Retry-After: VALUE` on every request (999999, nan, -1, ...)
    status=CODE            CODE with an OpenAI-style JSON error body
    answer=NAME            200 with WRONG_ANSWERS[NAME]: a body with one field of the wrong type
    calls=N                200 with N structured update_plan calls in one message
(`answer=` and `calls=` answer "done" to a request that carries tool results, so a turn ends.)
    ok                     200 with a plain answer "ok" (the model list works everywhere too)

`GET .../v1/models` (and LiteLLM's /model_group/info) answers per behaviour as well, so the model
list meets the same misbehaviour; `ok` and `answer=...` list one model, "bad".

Standalone (for bench/): `python tests/faults/bad_server.py --port-file F` serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from typing import Any
from urllib.parse import quote, unquote

HOST = "127.0.0.1"
BOMB_BYTES = 1 << 30        # decompressed size of the gzip and deflate bombs
DEEP = 200_000              # nesting depth of `deep=`
FOREVER = 600.0             # how long "forever" lasts before a handler gives up on its own


def _answer(message: Any = None, **top: Any) -> dict[str, Any]:
    msg = {"role": "assistant", "content": "ok"} if message is None else message
    body = {"id": "bad-1", "object": "chat.completion", "model": "bad",
            "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
    body.update(top)
    return body


def _call(function: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "call_bad", "type": "function", "function": function, **extra}


def _with_calls(*calls: Any, tool_calls: Any = None) -> dict[str, Any]:
    return _answer({"role": "assistant", "content": None,
                    "tool_calls": list(calls) if tool_calls is None else tool_calls})


# One wrong type at each level of a chat completion. Each must give one line (the turn fails) or,
# inside a tool call, an error result for the model (the turn goes on).
WRONG_ANSWERS: dict[str, Any] = {
    "body_list": [1, 2, 3],
    "body_string": "just a string",
    "choices_string": _answer(choices="none"),
    "choices_empty": _answer(choices=[]),
    "choice_number": _answer(choices=[5]),
    "message_string": _answer("hello"),
    "message_list": _answer(["hello"]),
    "content_number": _answer({"role": "assistant", "content": 5}),
    "content_dict": _answer({"role": "assistant", "content": {"text": "x"}}),
    "content_parts_bad": _answer({"role": "assistant", "content": [5, {"text": 7}, {"text": "ok"}]}),
    "usage_string": _answer(usage="lots"),
    "usage_list": _answer(usage=[1]),
    "usage_tokens_string": _answer(usage={"prompt_tokens": "3", "completion_tokens": [1]}),
    "prompt_details_string": _answer(usage={"prompt_tokens": 3, "prompt_tokens_details": "cached",
                                            "completion_tokens_details": 7}),
    "reasoning_number": _answer({"role": "assistant", "content": "ok", "reasoning_content": 5,
                                 "thinking_blocks": "x", "provider_specific_fields": 3}),
    "tool_calls_number": _with_calls(tool_calls=5),
    "tool_calls_string": _with_calls(tool_calls="shell"),
    "tool_call_string": _with_calls("shell"),
    "function_string": _with_calls(_call("shell")),
    "function_missing": _with_calls({"id": "call_bad", "type": "function"}),
    "name_number": _with_calls(_call({"name": 5, "arguments": "{}"})),
    "arguments_number": _with_calls(_call({"name": "shell", "arguments": 5})),
    "arguments_deep": _with_calls(_call({"name": "shell",
                                         "arguments": '{"command": ["true"], "x": ' + "[" * 800
                                         + "]" * 800 + "}"})),
    "id_dict": _with_calls({"id": {"x": 1}, "type": "function",
                            "function": {"name": "shell", "arguments": '{"command": ["true"]}'}}),
}


# --------------------------------------------------------------------------- bodies


def _compressed_zeros(wbits: int) -> bytes:
    """BOMB_BYTES of zeros, gzip (wbits 31) or zlib (wbits 15) compressed: about 1 MB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1 << 20)
    parts = [comp.compress(zeros) for _ in range(BOMB_BYTES >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


_BOMBS: dict[int, bytes] = {}
_BOMBS_LOCK = threading.Lock()


def _bomb(wbits: int) -> bytes:
    """Built on first use (a few seconds each) and kept for the life of the process."""
    with _BOMBS_LOCK:
        if wbits not in _BOMBS:
            _BOMBS[wbits] = _compressed_zeros(wbits)
        return _BOMBS[wbits]


def _head(status: int, headers: dict[str, str], length: int | None) -> bytes:
    reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}"]
    hdrs = {"Content-Type": "application/json", **headers, "Connection": "close"}
    if length is not None:
        hdrs["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


# --------------------------------------------------------------------------- behaviours


class _Conn:
    """One accepted connection and the request read from it."""

    def __init__(self, sock: socket.socket, server: BadServer):
        self.sock, self.server = sock, server
        self.method, self.path, self.body = "", "", b""

    def read_request(self) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            data += chunk
            if len(data) > 1 << 20:
                return False
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.method, self.path = lines[0].split(" ")[:2]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = rest
        while len(body) < length:
            chunk = self.sock.recv(min(1 << 20, length - len(body)))
            if not chunk:
                break
            body += chunk
        self.body = body
        return True

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send(_head(status, headers or {}, len(body)) + body)

    def wait_closed(self, seconds: float = FOREVER) -> None:
        """Until the client hangs up (or the server stops, or `seconds` pass)."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def drip(self, data: bytes, interval: float = 1.0) -> None:
        """`data` one byte per `interval`, then nothing, until the client hangs up."""
        for i in range(len(data)):
            if self.server.stopping.is_set() or not self.send(data[i:i + 1]):
                return
            time.sleep(interval)


def _is_models(path: str) -> bool:
    return path.endswith(("/models", "/model_group/info", "/model/info"))


MODEL_LIST = _json({"object": "list", "data": [{"id": "bad", "object": "model"}]})


def handle(conn: _Conn, name: str, arg: str) -> None:
    models = _is_models(conn.path)
    if name == "ok" or (models and name in ("answer", "calls", "big")) \
            or (name in ("answer", "calls") and _answers_tool_results(conn.body)):
        conn.reply(200, MODEL_LIST if models else _json(_answer({"role": "assistant", "content": "done"}
                                                                if name != "ok" else None)))
    elif name == "silent":
        conn.wait_closed()
    elif name == "drip":
        conn.send(_head(200, {}, 1_000_000))
        conn.drip(b'{"choices": [' + b" " * 999_986)
    elif name == "slow_headers":
        conn.drip(_head(200, {"X-Filler": "x" * 60000}, 2) + b"{}")
    elif name in ("gzip_bomb", "deflate_bomb"):
        body = _bomb(31 if name == "gzip_bomb" else 15)
        conn.reply(200, body, {"Content-Encoding": "gzip" if name == "gzip_bomb" else "deflate"})
    elif name == "big":
        _send_big(conn, int(float(arg or 50) * 1_000_000))
    elif name == "deep":
        conn.reply(int(arg or 200), b"[" * DEEP + b"]" * DEEP)
    elif name == "reset":
        conn.send(_head(200, {}, 100_000) + b'{"choices": [' + b" " * 987)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif name == "retry_after":
        conn.reply(429, _json({"error": {"message": "slow down", "type": "rate_limit_error"}}),
                   {"Retry-After": arg})
    elif name == "status":
        conn.reply(int(arg), _json({"error": {"message": f"the bad server says {arg}",
                                              "type": "bad_server"}}))
    elif name == "answer":
        conn.reply(200, _json(WRONG_ANSWERS[arg]))
    elif name == "calls":
        call = {"name": "update_plan", "arguments": json.dumps({"plan": []})}
        calls = [{"id": f"call_{i}", "type": "function", "function": call} for i in range(int(arg))]
        conn.reply(200, _json(_with_calls(tool_calls=calls)))
    else:
        conn.reply(404, _json({"error": {"message": f"no behaviour {name!r}"}}))


def _answers_tool_results(body: bytes) -> bool:
    """Does this request carry tool results? Then the tool-call behaviours answer "done"."""
    try:
        messages = json.loads(body).get("messages") or []
        return messages[-1].get("role") == "tool"
    except (ValueError, AttributeError, IndexError, TypeError):
        return False


def _send_big(conn: _Conn, size: int) -> None:
    head = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "'
    tail = b'"}, "finish_reason": "stop"}]}'
    if not conn.send(_head(200, {}, len(head) + size + len(tail)) + head):
        return
    block = b"x" * (1 << 20)
    left = size
    while left > 0:
        if not conn.send(block[:min(left, len(block))]):
            return
        left -= len(block)
    conn.send(tail)


# --------------------------------------------------------------------------- the server


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class BadServer:
    def __init__(self, host: str = HOST, port: int = 0):
        self.host, self.port = host, port
        self.stopping = threading.Event()
        self._hits: dict[str, int] = {}
        self._tags = 0
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._tcp: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, behaviour: str) -> str:
        """A fresh base URL for one behaviour (without /v1: LITELLM_BASE_URL adds it). Each call
        gets its own `~N` tag, so `hits(url)` counts only the requests of one test."""
        with self._lock:
            self._tags += 1
            return f"http://{self.host}:{self.port}/{quote(behaviour, safe='=,:')}~{self._tags}"

    def hits(self, url: str) -> int:
        """How many requests reached the base URL that `url()` gave."""
        with self._lock:
            return self._hits.get(unquote(url.rstrip("/").rsplit("/", 1)[-1]), 0)

    def last_request_bytes(self, url: str) -> int:
        """The body size of the last request that reached that base URL."""
        with self._lock:
            return self._sizes.get(unquote(url.rstrip("/").rsplit("/", 1)[-1]), 0)

    def start(self) -> BadServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._serve(self.request)

        self._tcp = _TCPServer((self.host, self.port), Handler)
        self.port = self._tcp.server_address[1]
        self._thread = threading.Thread(target=self._tcp.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name="bad-server")
        self._thread.start()
        return self

    def _serve(self, sock: socket.socket) -> None:
        conn = _Conn(sock, self)
        try:
            if not conn.read_request():
                return
            behaviour = unquote(conn.path.lstrip("/").split("/", 1)[0])
            with self._lock:
                self._hits[behaviour] = self._hits.get(behaviour, 0) + 1
                self._sizes[behaviour] = len(conn.body)
            name, _, arg = behaviour.split("~", 1)[0].partition("=")
            handle(conn, name, arg)
        except OSError:
            pass

    def stop(self) -> None:
        self.stopping.set()
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
            self._tcp = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="A misbehaving model server (see the docstring).")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args(argv)
    server = BadServer(port=args.port).start()
    print(server.port, flush=True)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(server.port))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

