"""The blocking client against the scripted model server over real sockets (no proxy in between,
so each HTTP behaviour is tested exactly; the e2e tests repeat the important ones through LiteLLM)."""

from __future__ import annotations

import socket

import pytest

from codex_lite.client import Client, ModelError, _retry_after
from codex_lite.config import Provider
from scripted_server import ScriptedServer, completion, error, html_error, rate_limited, raw


@pytest.fixture
def server():
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


def client_for(server, retries=2, key="sk-secret-key-123", **kw):
    waits: list[float] = []
    provider = Provider(id="test", base_url=server.base_url, api_key=key, request_max_retries=retries, **kw)
    return Client(provider, sleep=waits.append), waits


def test_request_shape(server):
    server.set_script([completion("hi")])
    client, _ = client_for(server, http_headers={"X-Device": "router"}, query_params={"v": "1"})
    tools = [{"type": "function", "function": {"name": "shell", "parameters": {}}}]
    answer = client.chat("scripted", [{"role": "user", "content": "yo"}], tools, "high")
    assert answer["choices"][0]["message"]["content"] == "hi"
    req = server.requests()[0]
    assert req["body"]["stream"] is False
    assert req["body"]["tools"] == tools and req["body"]["tool_choice"] == "auto"
    assert req["body"]["reasoning_effort"] == "high"
    assert req["headers"]["authorization"] == "Bearer sk-secret-key-123"
    assert req["headers"]["x-device"] == "router"
    assert req["path"].endswith("?v=1")


def test_reasoning_effort_none_is_not_sent(server):
    server.set_script([completion("hi")])
    client, _ = client_for(server)
    client.chat("scripted", [], None, "none")
    body = server.chat_requests()[0]
    assert "reasoning_effort" not in body and "tools" not in body


def test_429_honours_retry_after(server):
    server.set_script([rate_limited(retry_after=7), completion("ok")])
    client, waits = client_for(server)
    seen = []
    answer = client.chat("scripted", [], on_retry=lambda a, w, r: seen.append((a, w, r)))
    assert answer["choices"][0]["message"]["content"] == "ok"
    assert waits == [7.0]
    assert seen[0][0] == 1 and "429" in seen[0][2]


def test_5xx_backoff_is_capped_exponential_with_jitter(server):
    server.set_script([error(503, "busy")] * 4 + [completion("ok")])
    client, waits = client_for(server, retries=4)
    client.chat("scripted", [])
    assert len(waits) == 4
    for i, wait in enumerate(waits):
        ceiling = min(30.0, 2 ** i)
        assert ceiling / 2 <= wait <= ceiling


def test_html_500_gives_a_short_message(server):
    server.set_script([html_error()] * 3)
    client, waits = client_for(server, retries=2)
    with pytest.raises(ModelError) as err:
        client.chat("scripted", [])
    message = str(err.value)
    assert "500" in message and "HTML error page (500 Internal Server Error)" in message
    assert "<html" not in message and server.base_url in message
    assert "gave up after 3 attempts" in message and len(waits) == 2


def test_401_is_final_and_never_shows_the_key(server):
    server.set_script([error(401, "Invalid key sk-secret-key-123 passed", "auth_error")])
    client, waits = client_for(server)
    with pytest.raises(ModelError) as err:
        client.chat("scripted", [])
    message = str(err.value)
    assert err.value.status == 401 and waits == []
    assert "check the API key" in message and "sk-secret-key-123" not in message


def test_400_shows_the_server_message(server):
    server.set_script([error(400, "model 'x' not found", "invalid_request_error")])
    client, _ = client_for(server)
    with pytest.raises(ModelError, match="answered 400: model 'x' not found"):
        client.chat("x", [])


def test_non_json_and_no_choices(server):
    server.set_script([raw(200, "plain text"), raw(200, {"choices": []})])
    client, _ = client_for(server)
    with pytest.raises(ModelError, match="not JSON"):
        client.chat("scripted", [])
    with pytest.raises(ModelError, match="without choices"):
        client.chat("scripted", [])


def test_dead_proxy_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = Provider(id="t", base_url=f"http://127.0.0.1:{port}/v1", request_max_retries=1)
    waits: list[float] = []
    with pytest.raises(ModelError) as err:
        Client(provider, sleep=waits.append).chat("m", [])
    assert f"cannot reach http://127.0.0.1:{port}/v1/chat/completions" in str(err.value)
    assert "connection refused" in str(err.value) and len(waits) == 1


def test_model_list_falls_back_to_v1_models(server):
    provider = Provider(id="litellm", base_url=server.base_url, is_litellm=True)
    # the scripted server answers 404 to LiteLLM's own endpoints, like a plain OpenAI server
    assert Client(provider).list_models() == ["scripted"]


def test_retry_after_forms():
    assert _retry_after("3") == 3.0
    assert _retry_after("100000") == 100000.0  # kept: the client gives up when it passes the budget
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("soon") is None and _retry_after(None) is None
    assert _retry_after("nan") is None and _retry_after("-1") is None


def test_litellm_shapes_of_429_and_html_500(server):
    """LiteLLM renames Retry-After and wraps an upstream HTML page inside its JSON error."""
    from scripted_server import HTML_500

    wrapped = {"error": {"message": "litellm.InternalServerError: OpenAIException - " + HTML_500
                         + "\n\nLiteLLM: model group 'scripted' failed", "code": "500"}}
    server.set_script([error(429, "slow down", headers={"llm_provider-retry-after": "4"}),
                       raw(500, wrapped)])
    client, waits = client_for(server, retries=1)
    with pytest.raises(ModelError) as err:
        client.chat("scripted", [])
    assert waits == [4.0]
    message = str(err.value)
    assert "an HTML error page (500 Internal Server Error)" in message
    assert "<" not in message and "model group 'scripted' failed" in message


def test_litellm_without_key_database_rejects_other_keys_with_a_hint(server):
    server.set_script([error(400, "No connected db.", "no_db_connection")])
    client, _ = client_for(server)
    with pytest.raises(ModelError, match="accepts only its master key.*check the API key"):
        client.chat("scripted", [])
