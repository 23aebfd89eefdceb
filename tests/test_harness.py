"""The test harness itself: the scripted server alone, then the real LiteLLM proxy in front of it.

The proxy tests pin down what LiteLLM 1.106.2 passes through and what it changes (tests/README.md),
so a LiteLLM upgrade that changes the wire format shows up here first, not as a mystery in e2e tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3
from scripted_server import (
    EXHAUSTED_TEXT,
    HTML_500,
    RemoteScript,
    ScriptedServer,
    completion,
    delayed,
    error,
    html_error,
    make_usage,
    rate_limited,
    raw,
)

HERE = Path(__file__).resolve().parent
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))


def post(url: str, body: dict, key: str | None = None, path: str = "/v1/chat/completions"):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return HTTP.request("POST", url + path, body=json.dumps(body).encode(), headers=headers)


def chat(url: str, key: str | None, **extra):
    body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    body.update(extra)
    return post(url, body, key)


# --------------------------------------------------------------------------- the scripted server alone


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


def test_server_pops_replies_in_order_and_records_requests(server):
    server.set_script([completion("one"), completion("two")])
    r1 = chat(server.base_url[:-3], "k1")
    r2 = post(server.url, {"messages": []}, "k2", path="/chat/completions")
    r3 = chat(server.base_url[:-3], None)
    assert [r.status for r in (r1, r2, r3)] == [200, 200, 200]
    texts = [json.loads(r.data)["choices"][0]["message"]["content"] for r in (r1, r2, r3)]
    assert texts == ["one", "two", EXHAUSTED_TEXT]
    reqs = server.requests()
    assert [r["path"] for r in reqs] == ["/v1/chat/completions", "/chat/completions", "/v1/chat/completions"]
    assert reqs[0]["headers"]["authorization"] == "Bearer k1"
    assert reqs[0]["body"]["stream"] is False
    assert len(server.chat_requests()) == 3


def test_server_tool_calls_helper():
    body = completion(tool_calls=[("shell", {"command": ["ls"]}, "call_a"), ("apply_patch", "{not json")])
    msg = body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert msg["content"] is None
    assert msg["tool_calls"][0] == {"id": "call_a", "type": "function",
                                    "function": {"name": "shell", "arguments": '{"command": ["ls"]}'}}
    assert msg["tool_calls"][1]["function"]["arguments"] == "{not json"
    assert msg["tool_calls"][1]["id"] != "call_a"


def test_server_raw_replies_and_delay(server):
    server.set_script([rate_limited(3), html_error(), error(400, "bad"), raw(418, "teapot", {"X-A": "b"}),
                       delayed(0.3, completion("late")), delayed(0.2), completion("after bare delay")])
    r = chat(server.url, "k")
    assert r.status == 429 and r.headers["Retry-After"] == "3"
    assert json.loads(r.data)["error"]["type"] == "rate_limit_error"
    r = chat(server.url, "k")
    assert r.status == 500 and r.headers["Content-Type"].startswith("text/html") and r.data.decode() == HTML_500
    r = chat(server.url, "k")
    assert r.status == 400 and json.loads(r.data)["error"]["message"] == "bad"
    r = chat(server.url, "k")
    assert r.status == 418 and r.headers["X-A"] == "b" and r.data == b"teapot"
    t0 = time.monotonic()
    r = chat(server.url, "k")
    assert time.monotonic() - t0 >= 0.3 and json.loads(r.data)["choices"][0]["message"]["content"] == "late"
    t0 = time.monotonic()
    r = chat(server.url, "k")
    assert time.monotonic() - t0 >= 0.2
    assert json.loads(r.data)["choices"][0]["message"]["content"] == "after bare delay"


def test_server_admin_endpoints_and_models(server):
    remote = RemoteScript(server.url)
    remote.set_script([completion("a")])
    remote.push(completion("b"))
    assert server.pending() == 2
    assert json.loads(chat(server.url, "k").data)["choices"][0]["message"]["content"] == "a"
    reqs = remote.requests()
    assert len(reqs) == 1 and reqs[0]["body"]["messages"][0]["content"] == "hi"
    remote.reset()
    assert server.pending() == 0 and server.requests() == []
    models = json.loads(HTTP.request("GET", server.base_url + "/models").data)
    assert models["data"][0]["id"] == "scripted"


def test_server_stop_looks_like_a_dead_port():
    s = ScriptedServer().start()
    url = s.url
    assert chat(url, "k").status == 200  # opens a keep-alive connection in the pool
    s.stop()
    with pytest.raises(urllib3.exceptions.HTTPError):
        chat(url, "k")


def test_server_standalone_process(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([completion("from file")]))
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(HERE / "scripted_server.py"), "--port", "0",
                             "--port-file", str(port_file), "--script", str(script)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = int(proc.stdout.readline())
        assert int(port_file.read_text()) == port
        url = f"http://127.0.0.1:{port}"
        assert json.loads(chat(url, "k").data)["choices"][0]["message"]["content"] == "from file"
        assert RemoteScript(url).requests()[0]["headers"]["authorization"] == "Bearer k"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


# --------------------------------------------------------------------------- through the real LiteLLM proxy



def _msg(resp):
    assert resp.status == 200, resp.data[:2000]
    return json.loads(resp.data)["choices"][0]["message"]


@pytest.mark.e2e
def test_proxy_health_and_models(litellm_proxy):
    assert litellm_proxy.startup_seconds is not None and litellm_proxy.startup_seconds < 60
    r = HTTP.request("GET", litellm_proxy.url + "/v1/models",
                     headers={"Authorization": f"Bearer {litellm_proxy.master_key}"})
    assert r.status == 200
    assert [m["id"] for m in json.loads(r.data)["data"]] == ["scripted", "scripted-16k"]


@pytest.mark.e2e
def test_proxy_forwards_request_fields(litellm_proxy, model):
    model.set_script([completion("ok")])
    tools = [{"type": "function", "function": {"name": "shell", "description": "run",
                                               "parameters": {"type": "object", "properties": {}}}}]
    messages = [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "call_1", "type": "function",
                                 "function": {"name": "shell", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"output": "x"}'}]
    _msg(chat(litellm_proxy.url, litellm_proxy.master_key, tools=tools, tool_choice="auto",
              reasoning_effort="high", messages=messages))
    [req] = model.requests()
    body = req["body"]
    assert req["headers"]["authorization"] == "Bearer " + litellm_proxy.upstream_key
    assert body["model"] == "scripted"
    assert body["tools"] == tools and body["tool_choice"] == "auto"
    assert body["reasoning_effort"] == "high"
    assert "stream" not in body  # "stream": false is dropped on the way (true would be sent)
    assert body["messages"][2] == messages[2]
    assert body["messages"][1]["tool_calls"] == messages[1]["tool_calls"]
    assert "content" not in body["messages"][1]  # content: null is dropped


@pytest.mark.e2e
def test_proxy_reasoning_fields(litellm_proxy, model):
    key = litellm_proxy.master_key
    model.set_script([
        completion("a", reasoning_content="rc"),
        completion("b", reasoning="r only"),
        completion("c", reasoning_content="rc2", reasoning="r2"),
        completion(None, reasoning_content="only reasoning"),
        completion("d", message_extra={"thinking_blocks": [{"type": "thinking", "thinking": "tb"}]}),
    ])
    m = _msg(chat(litellm_proxy.url, key))
    assert m["content"] == "a" and m["reasoning_content"] == "rc"
    m = _msg(chat(litellm_proxy.url, key))  # `reasoning` is renamed to reasoning_content
    assert m["reasoning_content"] == "r only" and "reasoning" not in m
    assert m["provider_specific_fields"]["reasoning"] == "r only"
    m = _msg(chat(litellm_proxy.url, key))  # both: reasoning_content wins, reasoning moves aside
    assert m["reasoning_content"] == "rc2" and m["provider_specific_fields"]["reasoning"] == "r2"
    m = _msg(chat(litellm_proxy.url, key))
    assert m["content"] is None and m["reasoning_content"] == "only reasoning"
    m = _msg(chat(litellm_proxy.url, key))
    assert m["thinking_blocks"] == [{"type": "thinking", "thinking": "tb"}]


@pytest.mark.e2e
def test_proxy_tool_calls_and_harmony_pass_unchanged(litellm_proxy, model):
    env = '<|channel|>commentary to=functions.shell <|constrain|>json<|message|>{"command":["ls"]}<|call|>'
    analysis = "<|start|>assistant<|channel|>analysis<|message|>think<|end|>"
    calls = [("shell", {"command": ["ls"]}, "call_abc"), ("shell", '{"command": ["cat", "a"]}', "fc_XYZ-1"),
             ("apply_patch", "{broken json", "x")]
    model.set_script([completion(None, tool_calls=calls), completion(env, reasoning_content=analysis)])
    m = _msg(chat(litellm_proxy.url, litellm_proxy.master_key))
    assert m["content"] is None
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]] == [
        ("call_abc", "shell", '{"command": ["ls"]}'), ("fc_XYZ-1", "shell", '{"command": ["cat", "a"]}'),
        ("x", "apply_patch", "{broken json")]
    m = _msg(chat(litellm_proxy.url, litellm_proxy.master_key))
    assert m["content"] == env and m["reasoning_content"] == analysis


@pytest.mark.e2e
def test_proxy_usage_details(litellm_proxy, model):
    model.set_script([
        completion("a", usage=make_usage(100, 20, cached_tokens=64, reasoning_tokens=12)),
        completion("b", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
                               "prompt_tokens_details": None, "completion_tokens_details": None}),
    ])
    u = json.loads(chat(litellm_proxy.url, litellm_proxy.master_key).data)["usage"]
    assert u["prompt_tokens"] == 100 and u["completion_tokens"] == 20
    assert u["prompt_tokens_details"]["cached_tokens"] == 64
    assert u["completion_tokens_details"]["reasoning_tokens"] == 12
    u = json.loads(chat(litellm_proxy.url, litellm_proxy.master_key).data)["usage"]
    assert "prompt_tokens_details" not in u and "completion_tokens_details" not in u  # nulls dropped


@pytest.mark.e2e
def test_proxy_429_keeps_status_but_renames_retry_after(litellm_proxy, model):
    model.set_script([rate_limited(7, "Rate limit reached, slow down")])
    r = chat(litellm_proxy.url, litellm_proxy.master_key)
    assert r.status == 429
    assert "Retry-After" not in r.headers
    assert r.headers["llm_provider-retry-after"] == "7"
    err = json.loads(r.data)["error"]
    assert err["code"] == "429" and "Rate limit reached, slow down" in err["message"]
    assert len(model.requests()) == 1  # no retries inside LiteLLM


@pytest.mark.e2e
def test_proxy_500_html_becomes_json_with_the_page_inside(litellm_proxy, model):
    model.set_script([html_error(500), error(503, "upstream overloaded")])
    r = chat(litellm_proxy.url, litellm_proxy.master_key)
    assert r.status == 500 and r.headers["Content-Type"] == "application/json"
    err = json.loads(r.data)["error"]
    assert err["type"] == "internal_server_error"
    assert err["message"].startswith("litellm.InternalServerError: InternalServerError: OpenAIException - <!DOCTYPE")
    assert "<h1>Internal Server Error</h1>" in err["message"]
    r = chat(litellm_proxy.url, litellm_proxy.master_key)
    assert r.status == 503 and "upstream overloaded" in json.loads(r.data)["error"]["message"]
    assert len(model.requests()) == 2


@pytest.mark.e2e
def test_proxy_wrong_key_is_401(litellm_proxy, model):
    model.set_script([completion("never")])
    secret = "sk-wrong-secret-key-123456"
    r = chat(litellm_proxy.url, secret)
    assert r.status == 401
    err = json.loads(r.data)["error"]
    assert err["type"] == "auth_error" and err["message"].startswith("Authentication Error")
    assert secret not in r.data.decode()
    r = chat(litellm_proxy.url, None)
    assert r.status == 401
    assert model.requests() == []


@pytest.mark.e2e
def test_proxy_unknown_model_is_400(litellm_proxy, model):
    r = chat(litellm_proxy.url, litellm_proxy.master_key, model="nope")
    assert r.status == 400 and "Invalid model name" in json.loads(r.data)["error"]["message"]
