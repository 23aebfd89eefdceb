"""Bad `[shell]` settings, from config.toml or `-c`: one line naming the key and exit code 1, before
any command runs (a negative timeout used to make every command time out at once)."""

from __future__ import annotations

import pytest
from command_support import start_cli
from support.cli import cli_env


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return cli_env("http://127.0.0.1:9", "sk-test", home)  # nothing listens: nothing may be asked


BAD = [
    ("shell.timeout_ms=-5", "shell.timeout_ms"),
    ("shell.timeout_ms=0", "shell.timeout_ms"),
    ("shell.max_output_bytes=0", "shell.max_output_bytes"),
    ("shell.memory_limit_mb=-1", "shell.memory_limit_mb"),
    ("shell.nice=-3", "shell.nice"),
    ("shell.nice=40", "shell.nice"),
]


@pytest.mark.parametrize("override, key", BAD)
def test_bad_shell_setting_is_one_line_naming_the_key(env, tmp_path, override, key):
    done = start_cli(env, tmp_path, "exec", "--skip-git-repo-check", "-c", override, "go",
                     logs=tmp_path / "logs").finish(timeout=30)
    assert done.code == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "config error" in lines[0], done.stderr
    assert done.wall < 30


def test_bad_shell_setting_in_config_toml_names_the_file(env, tmp_path):
    home = tmp_path / "home"
    (home / "config.toml").write_text("[shell]\ntimeout_ms = -5\n")
    done = start_cli(env, tmp_path, "exec", "--skip-git-repo-check", "go",
                     logs=tmp_path / "logs").finish(timeout=30)
    lines = done.stderr.strip().splitlines()
    assert done.code == 1 and len(lines) == 1, done.stderr
    assert "config.toml" in lines[0] and "shell.timeout_ms" in lines[0]


@pytest.mark.parametrize("override", ["shell.timeout_ms=1", "shell.max_output_bytes=1024",
                                      "shell.memory_limit_mb=0", "shell.nice=0", "shell.nice=19"])
def test_edge_values_are_accepted(env, tmp_path, override):
    """Accepted values get past the config: the run fails later, on the dead proxy."""
    done = start_cli(env, tmp_path, "exec", "--skip-git-repo-check", "-m", "m", "-c", override,
                     "-c", "model_providers.litellm.request_max_retries=0", "go",
                     logs=tmp_path / "logs").finish(timeout=60)
    assert done.code == 1 and "config error" not in done.stderr, done.stderr
