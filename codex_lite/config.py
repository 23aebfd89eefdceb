"""Configuration: `$CODEX_HOME/config.toml`, profiles, `-c key=value` overrides and the environment.

Keys that Codex users know keep Codex's names and meanings; our own sections ([retry], [shell],
[agent], [telemetry]) sit beside them. Every key is declared in SCHEMA, so an unknown key or a wrong
type is one clear line naming the file and the key, never a traceback. Precedence, lowest first:
built-in defaults, the environment (LITELLM_BASE_URL), config.toml, the chosen profile, -c flags,
command-line options such as -m.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from codex_lite import config_file, retry
from codex_lite.errors import UserError
from codex_lite.policies import (APPROVAL_POLICIES, DEFAULT_APPROVAL_POLICY, DEFAULT_SANDBOX_MODE,
                                  SANDBOX_MODES)
from codex_lite.records import dataclass, field

DEFAULT_PROVIDER = "litellm"
DEFAULT_BASE_URL = "http://127.0.0.1:4000"
DEFAULT_TOTAL_TIMEOUT_SECONDS = 300.0  # a silent or throttling server fails within 5 minutes
DEFAULT_MAX_RESPONSE_BYTES = 16 << 20
DEFAULT_UNDO_MAX_BYTES = 4 << 20  # snapshots for undo, all sessions together (flash, not disks)
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")


class ConfigError(UserError):
    """A user mistake in the configuration; the message is one line (control characters escaped)."""

    label = "config error"

    def __str__(self) -> str:
        text = super().__str__()
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class StrTable:
    """Schema marker: a table whose values are all strings (query_params)."""


class Headers:
    """Schema marker: http_headers that can be sent (see header_problem)."""


class Url:
    """Schema marker: an http:// or https:// URL with a host (base_url)."""


@dataclass(frozen=True)
class Range:
    """Schema marker: a finite int (or float) in [low, high]; `above`: low itself is refused."""

    kind: type
    low: float | None = None
    high: float | None = None
    above: bool = False

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.high is not None:
            return f"{what} from {self.low:g} to {self.high:g}"
        return f"{what} {'above' if self.above else 'of at least'} {self.low:g}"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float) if self.kind is float else int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return self.high is None or value <= self.high


class StrList:
    """Schema marker: a list of strings (shell_environment_policy's patterns)."""


@dataclass(frozen=True)
class Enum:
    choices: tuple[str, ...]


@dataclass(frozen=True)
class TableOf:
    """A table of named sub-tables that all follow `schema` ([model_providers.<id>], [profiles.<n>])."""

    schema: dict[str, Any]


SECONDS = Range(float, 0, 7 * 86400, above=True)
PROVIDER_SCHEMA: dict[str, Any] = {
    "name": str, "base_url": Url, "env_key": str, "api_key": str, "wire_api": str,
    "http_headers": Headers, "query_params": StrTable, "request_max_retries": Range(int, 0, 100),
    "request_timeout_seconds": SECONDS, "request_total_timeout_seconds": SECONDS,
    "connect_timeout_seconds": SECONDS, "max_response_bytes": Range(int, 1024, 1 << 31),
}
PROFILE_SCHEMA: dict[str, Any] = {
    "model": str, "model_provider": str, "model_reasoning_effort": Enum(REASONING_EFFORTS),
    "approval_policy": Enum(APPROVAL_POLICIES), "sandbox_mode": Enum(SANDBOX_MODES),
}
SCHEMA: dict[str, Any] = {
    **PROFILE_SCHEMA,
    "profile": str,
    "model_context_window": Range(int, 1),
    "model_auto_compact_token_limit": Range(int, 1),
    "project_doc_max_bytes": Range(int, 0),
    "model_providers": TableOf(PROVIDER_SCHEMA),
    "profiles": TableOf(PROFILE_SCHEMA),
    "retry": {"max_attempts": Range(int, 1, 1000), "wait_seconds": Range(float, 0, 86400)},
    "agent": {"max_tool_rounds": Range(int, 1)},
    "shell": {"timeout_ms": Range(int, 1), "max_output_bytes": Range(int, 1024),
              "memory_limit_mb": Range(int, 0), "nice": Range(int, 0, 19)},
    "shell_environment_policy": {"inherit": Enum(("all", "core", "none")), "ignore_default_excludes": bool,
                                 "exclude": StrList, "include_only": StrList, "set": StrTable},
    "notify": StrList,
    "history": {"persistence": Enum(("save-all", "none")), "max_bytes": Range(int, 0)},
    "undo": {"max_bytes": Range(int, 0)},
    "exec": {"require_git": bool},
    "telemetry": {"enabled": bool, "dir": str, "max_total_bytes": Range(int, 0),
                  "ring_buffer_bytes": Range(int, 0),
                  "debug_trace": bool, "session_usage": bool, "log_prompts": bool},
}


@dataclass
class Provider:
    id: str
    base_url: str
    api_key: str | None = None
    env_key: str | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, str] = field(default_factory=dict)
    request_max_retries: int = retry.REQUEST_MAX_RETRIES
    request_timeout_seconds: float = 300.0       # one attempt, connect to last byte
    request_total_timeout_seconds: float | None = None  # all attempts and waits; see below
    connect_timeout_seconds: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # after decompression
    is_litellm: bool = False
    unconfigured_hint: str | None = None  # base_url is the default: what to say if nothing answers

    @property
    def total_timeout_seconds(self) -> float:
        """The budget of a request with its retries; by default never less than one attempt."""
        if self.request_total_timeout_seconds is not None:
            return self.request_total_timeout_seconds
        return max(DEFAULT_TOTAL_TIMEOUT_SECONDS, self.request_timeout_seconds)

    @property
    def root_url(self) -> str:
        """The server root, where LiteLLM answers /model_group/info and /model/info."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass
class Config:
    codex_home: str
    path: str
    model: str | None
    provider: Provider
    reasoning_effort: str | None = None
    approval_policy: str = DEFAULT_APPROVAL_POLICY
    sandbox_mode: str = DEFAULT_SANDBOX_MODE
    model_context_window: int | None = None
    model_auto_compact_token_limit: int | None = None
    project_doc_max_bytes: int = 32 * 1024
    retry_max_attempts: int = retry.TURN_MAX_ATTEMPTS    # [retry]: the turn policy (codex_lite.retry)
    retry_wait_seconds: float = retry.TURN_WAIT_SECONDS
    max_tool_rounds: int = 200
    shell: dict[str, Any] = field(default_factory=dict)
    shell_environment_policy: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    notify: list[str] = field(default_factory=list)     # run with Codex's JSON when a turn completes
    history: dict[str, Any] = field(default_factory=dict)  # [history]: prompt_history.py
    undo_max_bytes: int = DEFAULT_UNDO_MAX_BYTES
    exec_require_git: bool = True
    profile: str | None = None
    file_exists: bool = False


def codex_home(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return os.path.expanduser(env.get("CODEX_HOME") or "~/.codex-lite")


def normalize_litellm_url(url: str) -> str:
    """LiteLLM's base URL with exactly one trailing /v1, whether the user wrote it or not."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def read_toml(path: str) -> dict[str, Any]:
    """The parsed file, {} when it does not exist; a ConfigError naming file and line otherwise."""
    try:
        return config_file.read(path)
    except config_file.ReadError as exc:
        raise ConfigError(str(exc)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """`-c key.sub=value`: the value is TOML when it parses as TOML, a plain string otherwise."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"-c {text!r}: expected key=value")
    return [part.strip() for part in key.strip().split(".")], config_file.value_or_text(raw)


def validate(data: dict[str, Any], schema: dict[str, Any], source: str, prefix: str = "") -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in schema:
            raise ConfigError(f"{source}: unknown key '{name}'")
        _check(value, schema[key], source, name)


def _check(value: Any, spec: Any, source: str, name: str) -> None:
    if isinstance(spec, dict):
        _expect(isinstance(value, dict), source, name, "a table", value)
        validate(value, spec, source, name + ".")
    elif isinstance(spec, TableOf):
        _expect(isinstance(value, dict), source, name, "a table", value)
        for sub, table in value.items():
            _expect(isinstance(table, dict), source, f"{name}.{sub}", "a table", table)
            validate(table, spec.schema, source, f"{name}.{sub}.")
    elif isinstance(spec, Enum):
        _expect(value in spec.choices, source, name, "one of " + ", ".join(spec.choices), value)
    elif spec is StrTable:
        _expect(isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
                source, name, "a table of strings", value)
    elif spec is StrList:
        _expect(isinstance(value, list) and all(isinstance(v, str) for v in value),
                source, name, "a list of strings", value)
    elif spec is Headers:
        _expect(isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
                source, name, "a table of strings", value)
        for header, text in value.items():
            problem = header_problem(header, text)
            if problem:
                raise ConfigError(f"{source}: '{name}.{header}' {problem}")
    elif spec is Url:
        _expect(isinstance(value, str), source, name, "a string", value)
        problem = url_problem(value)
        if problem:
            raise ConfigError(f"{source}: '{name}' {problem}")
    elif isinstance(spec, Range):
        _expect(spec.accepts(value), source, name, spec.describe(), value)
    elif spec is int:
        _expect(isinstance(value, int) and not isinstance(value, bool), source, name, "an integer", value)
    else:
        _expect(isinstance(value, spec), source, name, f"a {spec.__name__}", value)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_problem(name: str, value: str) -> str | None:
    """Why this header cannot be sent as it is (None when it can)."""
    if not _TOKEN.fullmatch(name):
        return "is not a valid HTTP header name"
    if any(c in value for c in "\r\n\0"):
        return "must not contain a line break or NUL (header injection)"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "must be latin-1 text (what HTTP headers carry)"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL, or None: a typo is one line before any request."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        problem = "has an invalid port" if parts.port == 0 else None
    except ValueError as exc:
        problem = f"is not a valid URL: {exc}"
    if problem is None and (parts.scheme not in ("http", "https") or "://" not in url):
        problem = "must start with http:// or https://"
    elif problem is None and not parts.hostname:
        problem = "has no host"
    elif problem is None and any(c.isspace() or ord(c) < 32 for c in url):
        problem = "must not contain spaces or control characters"
    return problem and f"{problem} ({url[:80]!r})"


def _expect(ok: bool, source: str, name: str, wanted: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{source}: '{name}' must be {wanted}, not {value!r}")


def _set(data: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = data.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"-c {'.'.join(path)}: '{part}' is not a table")
        data = nxt
    data[path[-1]] = value


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def load(overrides: list[str] = (), profile: str | None = None, model: str | None = None,
         env: dict[str, str] | None = None) -> Config:
    """The effective configuration for this run."""
    env = os.environ if env is None else env
    home = codex_home(env)
    path = os.path.join(home, "config.toml")
    data = read_toml(path)
    validate(data, SCHEMA, path)
    cli: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        _set(cli, key, value)
    validate(cli, SCHEMA, "-c")
    data = _merge(data, cli)
    profile = profile or data.get("profile")
    if profile:
        profiles = data.get("profiles", {})
        if profile not in profiles:
            raise ConfigError(f"{path}: profile '{profile}' is not defined under [profiles]")
        data = _merge(data, profiles[profile])
    if model:
        data["model"] = model
    return _build(data, home, path, profile, env, os.path.exists(path))


def _build(data: dict[str, Any], home: str, path: str, profile: str | None, env: dict[str, str],
           exists: bool) -> Config:
    """The Config of validated data (SCHEMA has checked every type and range)."""
    turn_retry = data.get("retry", {})
    return Config(
        codex_home=home, path=path, model=data.get("model"), profile=profile, file_exists=exists,
        provider=_provider(data, env, path),
        reasoning_effort=data.get("model_reasoning_effort"),
        approval_policy=data.get("approval_policy", DEFAULT_APPROVAL_POLICY),
        sandbox_mode=data.get("sandbox_mode", DEFAULT_SANDBOX_MODE),
        model_context_window=data.get("model_context_window"),
        model_auto_compact_token_limit=data.get("model_auto_compact_token_limit"),
        project_doc_max_bytes=data.get("project_doc_max_bytes", 32 * 1024),
        retry_max_attempts=turn_retry.get("max_attempts", retry.TURN_MAX_ATTEMPTS),
        retry_wait_seconds=float(turn_retry.get("wait_seconds", retry.TURN_WAIT_SECONDS)),
        max_tool_rounds=data.get("agent", {}).get("max_tool_rounds", 200),
        shell=data.get("shell", {}),
        shell_environment_policy=data.get("shell_environment_policy", {}),
        telemetry=data.get("telemetry", {}),
        notify=data.get("notify", []),
        history=data.get("history", {}),
        undo_max_bytes=data.get("undo", {}).get("max_bytes", DEFAULT_UNDO_MAX_BYTES),
        exec_require_git=data.get("exec", {}).get("require_git", True),
    )


def _provider(data: dict[str, Any], env: dict[str, str], path: str) -> Provider:
    pid = data.get("model_provider", DEFAULT_PROVIDER)
    table = dict(data.get("model_providers", {}).get(pid, {}))
    hint = None
    if pid == DEFAULT_PROVIDER:
        if "base_url" not in table:
            from_env = env.get("LITELLM_BASE_URL", "").strip()
            problem = url_problem(from_env) if from_env else None
            if problem:
                raise ConfigError(f"LITELLM_BASE_URL {problem}")
            table["base_url"] = from_env or DEFAULT_BASE_URL
            if not from_env:
                hint = (f"set LITELLM_BASE_URL, run `codex-lite` for the first-run questions, or edit "
                        f"{path}")
        table["base_url"] = normalize_litellm_url(table["base_url"])
        table.setdefault("env_key", "LITELLM_API_KEY")
    elif "base_url" not in table:
        raise ConfigError(f"{path}: model_provider '{pid}' needs [model_providers.{pid}] with a base_url")
    env_key = table.get("env_key")
    api_key = table.get("api_key") or (env.get(env_key) if env_key else None) or None
    if api_key:
        _check_api_key(api_key, f"${env_key}" if not table.get("api_key") else
                       f"{path}: 'model_providers.{pid}.api_key'")
    return Provider(
        id=pid, base_url=table["base_url"].rstrip("/"), api_key=api_key, env_key=env_key,
        http_headers=table.get("http_headers", {}), query_params=table.get("query_params", {}),
        request_max_retries=table.get("request_max_retries", retry.REQUEST_MAX_RETRIES),
        request_timeout_seconds=float(table.get("request_timeout_seconds", 300)),
        request_total_timeout_seconds=(float(table["request_total_timeout_seconds"])
                                       if "request_total_timeout_seconds" in table else None),
        connect_timeout_seconds=float(table.get("connect_timeout_seconds", 10)),
        max_response_bytes=table.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES),
        is_litellm=pid == DEFAULT_PROVIDER, unconfigured_hint=hint,
    )


def _check_api_key(key: str, where: str) -> None:
    """The key goes into an Authorization header: say so when it cannot (never showing it)."""
    problem = header_problem("Authorization", key)
    if problem:
        raise ConfigError(f"{where}: the API key {problem} (the key itself is not shown)")
