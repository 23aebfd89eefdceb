"""Onboarding: the config.toml editor keeps what the user wrote; the first-run dialog explains a
proxy that is down or a bad key and lets the user fix it, tests the choice, saves it (0600)."""

from __future__ import annotations

import socket
import stat
import sys

import pytest
from scripted_server import completion
from test_repl import setup_env

from codex_lite.config_file import ConfigWriteError, update_toml_text, write_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CTRL_U = "\x15"  # clears the pre-filled default in the prompt

USER_CONFIG = """\
# codex-lite settings (mine)
model = "old-model"   # the one I like
approval_policy = "untrusted"

[retry]
# be patient
wait_seconds = 5

[model_providers.litellm]
base_url = "http://10.0.0.1:4000"  # the router
api_key = "sk-old"
request_max_retries = 2
"""


def test_edit_keeps_comments_and_other_keys():
    new = update_toml_text(USER_CONFIG, {"model": "gpt-oss-20b", "model_reasoning_effort": "low"},
                           {"model_providers.litellm": {"base_url": "http://10.0.0.2:4000/v1",
                                                        "api_key": None, "env_key": "MY_KEY"}})
    assert new.startswith('# codex-lite settings (mine)\nmodel = "gpt-oss-20b"   # the one I like\n')
    assert 'approval_policy = "untrusted"\nmodel_reasoning_effort = "low"\n\n[retry]\n# be patient\n' in new
    assert 'base_url = "http://10.0.0.2:4000/v1"  # the router\n' in new
    data = tomllib.loads(new)
    assert data["model_providers"]["litellm"] == {"base_url": "http://10.0.0.2:4000/v1",
                                                  "request_max_retries": 2, "env_key": "MY_KEY"}
    assert data["retry"] == {"wait_seconds": 5}


def test_edit_adds_the_table_when_missing_and_handles_an_empty_file():
    new = update_toml_text("", {"model": "m"}, {"model_providers.litellm": {"base_url": "http://x/v1"}})
    assert tomllib.loads(new) == {"model": "m", "model_providers": {"litellm": {"base_url": "http://x/v1"}}}
    new = update_toml_text("[shell]\nnice = 5", {"model": "m"}, {})
    assert tomllib.loads(new) == {"model": "m", "shell": {"nice": 5}}


def test_unusual_layout_is_refused_without_writing(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('model_providers.litellm.base_url = "http://a"\n')
    with pytest.raises(ConfigWriteError) as info:
        write_config(str(path), {}, {"model_providers.litellm": {"base_url": "http://b/v1"}})
    assert "by hand" in str(info.value)
    assert path.read_text() == 'model_providers.litellm.base_url = "http://a"\n'


def test_written_file_is_private(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    write_config(str(path), {"model": "m"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    write_config(str(path), {"model": "n"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and 'model = "n"' in path.read_text()


@pytest.fixture
def fresh(model, tmp_path, monkeypatch):
    """A first run: no config.toml, no LITELLM_BASE_URL."""
    env = setup_env(model, tmp_path, monkeypatch)
    monkeypatch.delenv("LITELLM_BASE_URL")
    monkeypatch.delenv("LITELLM_API_KEY")
    return env


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def root(model) -> str:
    return model.base_url.rsplit("/v1", 1)[0]


def test_first_run_proxy_down_then_fixed_url(fresh):
    model = fresh["model"]
    model.set_script([completion("OK"), completion("hi there")])
    keys = (CTRL_U + dead_url() + "\r" + "sk-abc\r"       # proxy down
            + "url\r" + CTRL_U + root(model) + "\r"  # edit the URL; the key is kept
            + "\r" + "low\r"                                   # first model, effort low
            + "hello\r/quit\r")
    code, screen = _run_fresh(keys)
    assert code == 0, screen
    assert "Welcome to codex-lite" in screen
    assert "Nothing answers at" in screen and "is the proxy running" in screen
    assert "answered in" in screen and "hi there" in screen
    cfg = fresh["home"] / "config.toml"
    data = tomllib.loads(cfg.read_text())
    assert data["model"] == "scripted" and data["model_reasoning_effort"] == "low"
    assert data["model_providers"]["litellm"] == {"base_url": root(model) + "/v1", "api_key": "sk-abc"}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    test_req, turn_req = model.chat_requests()
    assert test_req["reasoning_effort"] == "low" and turn_req["reasoning_effort"] == "low"
    assert model.requests()[-1]["headers"]["authorization"] == "Bearer sk-abc"


def test_first_run_env_var_key_is_stored_by_name(fresh, monkeypatch):
    model = fresh["model"]
    monkeypatch.setenv("MY_PROXY_KEY", "sk-from-env")
    model.set_script([completion("OK")])
    code, screen = _run_fresh(CTRL_U + root(model) + "\r$MY_PROXY_KEY\r1\r1\r/quit\r")
    assert code == 0, screen
    text = (fresh["home"] / "config.toml").read_text()
    assert 'env_key = "MY_PROXY_KEY"' in text and "sk-from-env" not in text
    assert model.requests()[-1]["headers"]["authorization"] == "Bearer sk-from-env"


def test_first_run_quit_saves_nothing(fresh):
    code, _ = _run_fresh(CTRL_U + dead_url() + "\r\rquit\r")
    assert code == 1
    assert not (fresh["home"] / "config.toml").exists()


@pytest.mark.e2e
def test_first_run_bad_key_through_litellm_then_fixed(fresh, litellm_proxy):
    model = fresh["model"]
    model.set_script([completion("OK")])
    keys = (CTRL_U + litellm_proxy.url + "\r" + "sk-wrong\r"
            + "key\r" + litellm_proxy.master_key + "\r"
            + "\r\r/quit\r")
    code, screen = _run_fresh(keys)
    assert code == 0, screen
    assert "refused the API key" in screen
    assert "sk-wrong" not in screen
    data = tomllib.loads((fresh["home"] / "config.toml").read_text())
    assert data["model_providers"]["litellm"]["api_key"] == litellm_proxy.master_key
    assert data["model"] == "scripted"


def _run_fresh(keys: str):
    """run_repl without -m: onboarding chooses the model."""
    import io

    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from codex_lite import cli, repl

    args = cli.build_parser().parse_args([])
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        with create_app_session(input=pipe, output=DummyOutput()):
            code = repl.main(args, ui=repl.PtkUI(), out=out)
    return code, out.getvalue()
