"""What commands inherit: the environment of the model's commands, from Codex's
`[shell_environment_policy]`, built once per session.

Why: codex-lite's own environment holds the provider's API key (LITELLM_API_KEY) and often other
credentials. A command the model runs can print its environment (`env`, `cat /proc/self/environ`,
both read-only, so asked about by no policy), and its output goes to the model. So children get a
filtered copy, computed the way Codex computes it:

1. start from `inherit`: "all" (our whole environment, the default), "core" (HOME, LOGNAME, PATH,
   SHELL, USER, USERNAME, TMPDIR, TEMP, TMP) or "none";
2. unless `ignore_default_excludes = true`, drop every variable whose name contains KEY, SECRET or
   TOKEN (any case): Codex's original default, kept here (Codex itself now defaults to keeping them);
3. drop the variables matching any `exclude` pattern;
4. add or override the `set` table;
5. when `include_only` is not empty, keep only the variables matching one of its patterns (the `set`
   ones included).
Patterns are case-insensitive wildcards: `*` any run of characters, `?` one character.

On top of Codex: whatever the policy, a variable inherited from us whose value is exactly one of
the configured secrets (the provider's key, its http_headers values) is dropped, so even
`ignore_default_excludes = true` does not hand the key to a child; only an explicit `set` can.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

CORE_VARS = ("HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP")
DEFAULT_EXCLUDES = ("*KEY*", "*SECRET*", "*TOKEN*")


def _pattern(glob: str) -> re.Pattern:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _matcher(globs: Collection[str]):
    compiled = [_pattern(g) for g in globs]
    return lambda name: any(p.fullmatch(name) for p in compiled)


def child_environment(policy: Mapping[str, Any], parent: Mapping[str, str],
                      secrets: Collection[str] = ()) -> dict[str, str]:
    """The environment for the model's commands under `policy` (the [shell_environment_policy]
    table, already validated), from `parent` (our environment)."""
    inherit = policy.get("inherit", "all")
    if inherit == "none":
        env: dict[str, str] = {}
    elif inherit == "core":
        env = {k: v for k, v in parent.items() if k in CORE_VARS}
    else:
        env = dict(parent)
    env = {k: v for k, v in env.items() if v not in secrets}
    if not policy.get("ignore_default_excludes", False):
        secret_name = _matcher(DEFAULT_EXCLUDES)
        env = {k: v for k, v in env.items() if not secret_name(k)}
    if policy.get("exclude"):
        excluded = _matcher(policy["exclude"])
        env = {k: v for k, v in env.items() if not excluded(k)}
    env.update(policy.get("set") or {})
    if policy.get("include_only"):
        included = _matcher(policy["include_only"])
        env = {k: v for k, v in env.items() if included(k)}
    return env
