"""Secrets stay home, part 1: what commands inherit. Commands get Codex's [shell_environment_policy]
environment, by default without variables whose names contain KEY, SECRET or TOKEN, so the provider's
API key never reaches a child (`cat /proc/self/environ`, `env`), and from there the model.

Finding 6 of the trust-boundary issue: children inherited LITELLM_API_KEY; `cat /proc/self/environ`
is read-only, so it ran without asking, and the key went to the model in the next request.
"""

from __future__ import annotations

import json

import pytest
from boundary_support import EXEC_JSON, leaks, requests_text, session_text, tool_messages
from scripted_server import completion

pytestmark = pytest.mark.e2e

MARKER = "VISIBLE_MARKER"  # a plain variable: shows that the command really prints the environment
OTHER_TOKEN = "tok-3b1f0c9e2a7d4e55"  # a secret of the user's that codex-lite was not configured with

READ_ENV = {
    "proc-environ": ["cat", "/proc/self/environ"],
    "env": ["env"],
    "printenv": ["printenv"],
    "shell-expansion": ["sh", "-c", 'echo "key=$LITELLM_API_KEY token=$GITHUB_TOKEN marker=$VISIBLE_MARKER"'],
    "python-os-environ": ["python3", "-c", "import os; print(dict(os.environ))"],
}


def child_env_text(r, model) -> str:
    [cmd] = r.items("command_execution")
    return cmd["aggregated_output"]


@pytest.mark.parametrize("how", list(READ_ENV))
def test_the_provider_key_never_reaches_a_command(how, model, run_cli, proxy_key, codex_home):
    model.set_script([completion(tool_calls=[("shell", {"command": READ_ENV[how]})]), completion("done")])

    r = run_cli(*EXEC_JSON, "show me the environment",
                env={MARKER: "present", "GITHUB_TOKEN": OTHER_TOKEN, "AWS_SECRET_ACCESS_KEY": OTHER_TOKEN})

    assert r.returncode == 0, r.describe()
    seen = child_env_text(r, model)
    assert "present" in seen, seen  # the command did print its environment
    assert "LITELLM_API_KEY=" not in seen and "'LITELLM_API_KEY'" not in seen
    assert OTHER_TOKEN not in seen and "GITHUB_TOKEN=" not in seen
    assert not leaks(proxy_key, request=requests_text(model), session=session_text(codex_home),
                     json=r.stdout, stderr=r.stderr)


POLICIES = {
    # name: (config, variables that must be there, variables that must not)
    "core": ('inherit = "core"', ["HOME", "PATH"], [MARKER, "GITHUB_TOKEN", "LITELLM_API_KEY"]),
    "none-with-set": ('inherit = "none"\nset = { ONLY_ME = "1" }', ["ONLY_ME"],
                      ["HOME", MARKER, "LITELLM_API_KEY"]),
    "include-only": ('include_only = ["VISIBLE_*", "path"]', [MARKER, "PATH"], ["HOME", "LITELLM_API_KEY"]),
    "exclude": ('exclude = ["visible_*"]', ["PATH", "HOME"], [MARKER, "GITHUB_TOKEN", "LITELLM_API_KEY"]),
    "set-overrides": ('set = { VISIBLE_MARKER = "overridden" }', ["VISIBLE_MARKER=overridden"],
                      ["VISIBLE_MARKER=present"]),
    # the user's own tokens may be passed on, but never the provider key codex-lite itself uses
    "ignore-default-excludes": ("ignore_default_excludes = true", ["GITHUB_TOKEN", MARKER],
                                ["LITELLM_API_KEY"]),
}


@pytest.mark.parametrize("name", list(POLICIES))
def test_shell_environment_policy(name, model, run_cli, codex_home, proxy_key):
    config, present, absent = POLICIES[name]
    (codex_home / "config.toml").write_text(f"[shell_environment_policy]\n{config}\n")
    model.set_script([completion(tool_calls=[("shell", {"command": ["env"]})]), completion("done")])

    r = run_cli(*EXEC_JSON, "env please", env={MARKER: "present", "GITHUB_TOKEN": OTHER_TOKEN})

    assert r.returncode == 0, r.describe()
    lines = child_env_text(r, model).splitlines()
    for want in present:
        assert any(line.startswith(want if "=" in want else want + "=") for line in lines), (want, lines)
    for unwanted in absent:  # a NAME must be missing; a NAME=value line must not be there
        gone = unwanted not in lines if "=" in unwanted else not any(
            line.startswith(unwanted + "=") for line in lines)
        assert gone, (unwanted, lines)
    assert not leaks(proxy_key, request=requests_text(model), json=r.stdout)


def test_a_policy_with_a_wrong_type_is_a_clear_error(run_cli, codex_home, model):
    (codex_home / "config.toml").write_text('[shell_environment_policy]\ninherit = "some"\n')
    r = run_cli(*EXEC_JSON, "hello")
    assert r.returncode == 1
    assert "shell_environment_policy.inherit" in r.stderr and "Traceback" not in r.stderr
    (codex_home / "config.toml").write_text('[shell_environment_policy]\nexclude = "AWS_*"\n')
    r = run_cli(*EXEC_JSON, "hello")
    assert r.returncode == 1
    assert "shell_environment_policy.exclude" in r.stderr and "list" in r.stderr
    assert model.requests() == []


def test_the_key_in_the_environment_of_a_command_set_by_the_user_is_still_redacted(model, run_cli, proxy_key,
                                                                                  codex_home):
    """A user who passes the key on explicitly (`set`) gets it in the child, but its value is still
    [redacted] in what the model, the session file and the output see."""
    (codex_home / "config.toml").write_text(
        f'[shell_environment_policy]\nset = {{ PASSED_ON = "{proxy_key}" }}\n')
    model.set_script([completion(tool_calls=[("shell", {"command": ["printenv", "PASSED_ON"]})]),
                      completion("done")])

    r = run_cli(*EXEC_JSON, "print it")

    assert r.returncode == 0, r.describe()
    assert "[redacted]" in tool_messages(model)[0]
    assert not leaks(proxy_key, request=requests_text(model), session=session_text(codex_home),
                     json=r.stdout, stderr=r.stderr)
    json.loads(tool_messages(model)[0])  # still the tool's JSON result
