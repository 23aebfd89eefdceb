"""Configuration: real files under a temporary CODEX_HOME, and the CLI's one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from codex_lite import config


def write(home, text: str) -> str:
    os.makedirs(home, exist_ok=True)
    path = os.path.join(home, "config.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def load(home, *overrides, profile=None, model=None, **env):
    return config.load(list(overrides), profile, model, env={"CODEX_HOME": str(home), **env})


def test_zero_config_uses_litellm_env(tmp_path):
    cfg = load(tmp_path, LITELLM_BASE_URL="http://10.0.0.1:4000/", LITELLM_API_KEY="sk-x")
    assert cfg.provider.base_url == "http://10.0.0.1:4000/v1"
    assert cfg.provider.root_url == "http://10.0.0.1:4000"
    assert cfg.provider.api_key == "sk-x"
    assert cfg.model is None and not cfg.file_exists
    assert (cfg.retry_max_attempts, cfg.retry_wait_seconds) == (5, 30.0)


def test_base_url_with_v1_is_kept_once(tmp_path):
    cfg = load(tmp_path, LITELLM_BASE_URL="http://h:4000/v1")
    assert cfg.provider.base_url == "http://h:4000/v1"


def test_file_profile_and_overrides_in_precedence_order(tmp_path):
    write(tmp_path, """
model = "base-model"
model_reasoning_effort = "low"
[retry]
max_attempts = 3
wait_seconds = 2.5
[profiles.fast]
model = "fast-model"
model_reasoning_effort = "minimal"
[model_providers.litellm]
base_url = "http://proxy:4000"
api_key = "sk-file"
http_headers = { "X-Team" = "router" }
""")
    cfg = load(tmp_path, "retry.wait_seconds=0", profile="fast", LITELLM_BASE_URL="http://env:1")
    assert cfg.model == "fast-model"
    assert cfg.reasoning_effort == "minimal"
    assert cfg.retry_max_attempts == 3 and cfg.retry_wait_seconds == 0
    assert cfg.provider.base_url == "http://proxy:4000/v1"  # the file wins over the environment
    assert cfg.provider.api_key == "sk-file"
    assert cfg.provider.http_headers == {"X-Team": "router"}
    assert load(tmp_path, profile="fast", model="cli-model").model == "cli-model"


def test_custom_provider_with_env_key(tmp_path):
    write(tmp_path, """
model_provider = "lab"
[model_providers.lab]
base_url = "https://lab.example/openai/v1/"
env_key = "LAB_KEY"
request_max_retries = 1
""")
    cfg = load(tmp_path, LAB_KEY="sk-lab")
    assert cfg.provider.base_url == "https://lab.example/openai/v1"
    assert cfg.provider.api_key == "sk-lab" and cfg.provider.request_max_retries == 1
    assert not cfg.provider.is_litellm


def test_override_value_is_toml_or_plain_string(tmp_path):
    cfg = load(tmp_path, "model=gpt-oss-20b", "shell.timeout_ms=5000", "sandbox_mode=read-only")
    assert cfg.model == "gpt-oss-20b"
    assert cfg.shell == {"timeout_ms": 5000}
    assert cfg.sandbox_mode == "read-only"


@pytest.mark.parametrize("text, message", [
    ("model = \n", "line 1"),
    ("[retry]\nmax_attempt = 3\n", "unknown key 'retry.max_attempt'"),
    ("[retry]\nwait_seconds = \"soon\"\n", "'retry.wait_seconds' must be a number"),
    ("approval_policy = \"sometimes\"\n", "'approval_policy' must be one of untrusted"),
    ("[shell]\ntimeout_ms = true\n", "'shell.timeout_ms' must be an integer"),
    ("profile = \"nope\"\n", "profile 'nope' is not defined"),
    ("model_provider = \"other\"\n", "needs [model_providers.other] with a base_url"),
])
def test_bad_config_names_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path)
    assert message in str(err.value)
    assert path in str(err.value) or "profile" in message


def test_bad_override_is_named(tmp_path):
    with pytest.raises(config.ConfigError, match=r"-c: unknown key 'retry.tries'"):
        load(tmp_path, "retry.tries=2")
    with pytest.raises(config.ConfigError, match="expected key=value"):
        load(tmp_path, "novalue")


def test_cli_reports_broken_toml_in_one_line(tmp_path):
    write(tmp_path, "[retry]\nmax_attempts = = 3\n")
    env = {**os.environ, "CODEX_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "codex_lite", "exec", "--skip-git-repo-check", "hi"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "config.toml" in lines[0] and "line 2" in lines[0]


def test_shipped_config_toml_is_valid_and_documents_every_key():
    """The annotated default config must load, and every key of the schema must appear in it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "config.toml")
    data = config.read_toml(path)
    config.validate(data, config.SCHEMA, path)
    with open(path) as f:
        text = f.read()
    for key, spec in config.SCHEMA.items():
        assert key in text, f"config.toml does not mention {key}"
        if isinstance(spec, dict):
            for sub in spec:
                assert sub in text, f"config.toml does not mention {key}.{sub}"
    for sub in config.PROVIDER_SCHEMA:
        assert sub in text, f"config.toml does not mention model_providers.*.{sub}"
