"""[shell_environment_policy]: Codex's five steps, case-insensitive wildcard patterns, the
KEY/SECRET/TOKEN default, and our extra rule that configured secret values are never inherited.
Through the CLI: tests/security/test_secrets_environment.py."""

from __future__ import annotations

import pytest

from codex_lite.tools.child_env import child_environment

PARENT = {"PATH": "/usr/bin", "HOME": "/root", "API_KEY": "k", "SECRET_TOKEN": "t", "my_Key_x": "m",
          "FOO": "bar", "FOOD": "x", "LITELLM_API_KEY": "sk-provider-key", "COPY": "sk-provider-key"}


@pytest.mark.parametrize("policy, expected", [
    ({}, {"PATH": "/usr/bin", "HOME": "/root", "FOO": "bar", "FOOD": "x"}),
    ({"inherit": "core"}, {"PATH": "/usr/bin", "HOME": "/root"}),
    ({"inherit": "none"}, {}),
    ({"inherit": "none", "set": {"ONLY": "1"}}, {"ONLY": "1"}),
    ({"ignore_default_excludes": True},
     {"PATH": "/usr/bin", "HOME": "/root", "API_KEY": "k", "SECRET_TOKEN": "t", "my_Key_x": "m", "FOO": "bar",
      "FOOD": "x"}),
    ({"exclude": ["foo"]}, {"PATH": "/usr/bin", "HOME": "/root", "FOOD": "x"}),
    ({"exclude": ["fo?", "h*"]}, {"PATH": "/usr/bin", "FOOD": "x"}),
    ({"include_only": ["*PATH", "f*"]}, {"PATH": "/usr/bin", "FOO": "bar", "FOOD": "x"}),
    # set comes before include_only, as in Codex: a set variable can be filtered out again
    ({"set": {"NEW": "1", "FOO": "over"}, "include_only": ["FOO"]}, {"FOO": "over"}),
    # only an explicit set passes the provider key on
    ({"inherit": "none", "set": {"PASSED": "sk-provider-key"}}, {"PASSED": "sk-provider-key"}),
])
def test_codex_semantics(policy, expected):
    assert child_environment(policy, PARENT, {"sk-provider-key"}) == expected


def test_the_provider_key_is_dropped_by_value_whatever_its_name():
    env = child_environment({"ignore_default_excludes": True}, PARENT, {"sk-provider-key"})
    assert "LITELLM_API_KEY" not in env and "COPY" not in env
    assert env["API_KEY"] == "k"  # the user's own, passed on as they asked


def test_patterns_are_whole_names_not_regular_expressions():
    parent = {"A.B": "1", "AxB": "2", "A+B": "3"}
    assert child_environment({"exclude": ["A.B"]}, parent) == {"AxB": "2", "A+B": "3"}
    assert child_environment({"include_only": ["A+B"]}, parent) == {"A+B": "3"}
