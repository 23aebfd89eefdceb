"""Start a real LiteLLM proxy (`litellm --config ...`) in front of an upstream such as the scripted
server. Used by tests/conftest.py (session fixture) and scripts/demo. Standard library only.

    proxy = LiteLLMProxy(upstream_base="http://127.0.0.1:PORT/v1", workdir=tmpdir).start()
    proxy.url          # http://127.0.0.1:NNNN  (OpenAI-compatible: proxy.url + "/v1/chat/completions")
    proxy.master_key   # the key a client must send; anything else gets a real 401
    proxy.stop()

The proxy runs in its own process group on 127.0.0.1, with telemetry, update checks and the
remote cost-map fetch off, no database, no retries of its own (so the client's retry logic is what
gets tested), and all its working files (config, log, caches) inside `workdir`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
MODEL = "scripted"
MASTER_KEY = "sk-codex-lite-test-master"
UPSTREAM_KEY = "sk-scripted-upstream-key"
WINDOW_MODEL, WINDOW_TOKENS = "scripted-16k", 16384

# Environment that makes LiteLLM start fast and stay offline and quiet.
QUIET_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches the cost map from the net at import
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "LITELLM_MODE": "PRODUCTION",  # don't load a .env file from the cwd
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
    "NO_REDOC": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
}
# Variables from the caller's environment that must not leak into the proxy (they would make it
# talk to a database, a real provider or another config).
DROP_ENV = ("DATABASE_URL", "DIRECT_URL", "STORE_MODEL_IN_DB", "LITELLM_MASTER_KEY", "LITELLM_CONFIG",
            "CONFIG_FILE_PATH", "OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "REDIS_HOST",
            "REDIS_URL", "LITELLM_LICENSE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
            "ALL_PROXY", "all_proxy")


def _prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl() if sys.platform == "linux" else None  # resolved here: the child only calls it


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux), so a killed test run
    (SIGKILL, a CI timeout) cannot leave a proxy behind in its own session. No imports or locks here
    (the parent has threads): one C call."""
    _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_litellm() -> str:
    """The `litellm` script of the running interpreter's environment (or $LITELLM_BIN)."""
    env = os.environ.get("LITELLM_BIN")
    if env:
        return env
    here = Path(sys.executable).parent / "litellm"
    if here.exists():
        return str(here)
    found = shutil.which("litellm")
    if found:
        return found
    raise FileNotFoundError(
        f"litellm not found next to {sys.executable}; install the test extra: pip install -e '.[test]'")


# LiteLLM without a database answers a wrong key with 400 "No connected db." (and crashes with a
# plain-text 500 on some auth paths when the optional `prisma` module is missing). A real deployment
# keeps virtual keys in a database and answers 401. This custom auth hook, loaded by LiteLLM itself,
# gives the same 401 a DB-backed proxy gives, through LiteLLM's own error handling, without a DB.
AUTH_MODULE = "codex_lite_test_auth"
AUTH_SOURCE = '''"""Written by tests/litellm_proxy.py: accept only the master key, else a 401 like LiteLLM's."""
import os

from fastapi import HTTPException, Request
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if api_key and api_key == os.environ.get("CODEX_LITE_TEST_PROXY_KEY"):
        return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN)
    shown = (api_key[:4] + "****" + api_key[-4:]) if api_key and len(api_key) > 8 else "****"
    raise HTTPException(status_code=401, detail="Authentication Error, Invalid proxy server token "
                        f"passed. Received API Key = {shown}. Unable to find token in cache or "
                        "`LiteLLM_VerificationTokenTable`")
'''


def config_yaml(upstream_base: str, model: str = MODEL, upstream_key: str = UPSTREAM_KEY,
                master_key: str = MASTER_KEY, timeout: float = 60, custom_auth: bool = True) -> str:
    """The proxy config. JSON is valid YAML, so no YAML library is needed to write it."""
    def deployment(name: str, **model_info: int) -> dict:
        entry = {"model_name": name, "litellm_params": {
            "model": f"openai/{name}",  # its own upstream name: LiteLLM keys model_info by it
            "api_base": upstream_base,
            "api_key": upstream_key,
            "max_retries": 0,  # the OpenAI SDK's own retries
            "num_retries": 0,
            "timeout": timeout,
        }}
        if model_info:
            entry["model_info"] = model_info
        return entry

    cfg = {
        # WINDOW_MODEL: the same scripted upstream, with the context window LiteLLM reports as
        # max_input_tokens on /model_group/info and /model/info (issue 17)
        "model_list": [deployment(model), deployment(WINDOW_MODEL, max_input_tokens=WINDOW_TOKENS)],
        "litellm_settings": {
            "num_retries": 0,
            "request_timeout": timeout,
            "telemetry": False,
            "drop_params": False,
            "set_verbose": False,
            "json_logs": False,
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
        },
        "router_settings": {
            "num_retries": 0,
            "retry_after": 0,
            "allowed_fails": 1000000,  # never put the only deployment on cooldown
            "cooldown_time": 0,
            "disable_cooldowns": True,
        },
        "general_settings": {
            "master_key": master_key,
            "disable_spend_logs": True,
            "disable_error_logs": True,
            "disable_reset_budget": True,
            "disable_retry_on_max_parallel_request_limit_error": True,
            "background_health_checks": False,
            "health_check_interval": None,
        },
    }
    if custom_auth:
        cfg["general_settings"]["custom_auth"] = f"{AUTH_MODULE}.user_api_key_auth"
    return json.dumps(cfg, indent=2) + "\n"


class LiteLLMProxy:
    def __init__(self, upstream_base: str, workdir: str | os.PathLike, *, model: str = MODEL,
                 master_key: str = MASTER_KEY, upstream_key: str = UPSTREAM_KEY, port: int | None = None,
                 litellm_bin: str | None = None, timeout: float = 60, custom_auth: bool = True):
        self.upstream_base = upstream_base
        self.workdir = Path(workdir)
        self.model = model
        self.master_key = master_key
        self.upstream_key = upstream_key
        self.port = port
        self.litellm_bin = litellm_bin
        self.timeout = timeout
        self.custom_auth = custom_auth
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "litellm.log"
        self.config_path = self.workdir / "litellm_config.yaml"
        self.startup_seconds: float | None = None
        self._t0: float | None = None
        self._launches = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self, tail: int = 20000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env.update(QUIET_ENV)
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env.update({
            "HOME": str(home),  # LiteLLM and its libraries drop caches in ~
            "XDG_CACHE_HOME": str(home / ".cache"),
            "HF_HOME": str(home / ".cache" / "hf"),
            "TMPDIR": str(self.workdir),
            "CODEX_LITE_TEST_PROXY_KEY": self.master_key,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        return env

    def launch(self) -> LiteLLMProxy:
        """Start the process and return at once; wait_ready() waits for it. The proxy needs ~5 s to
        import, so a test session launches it early and does other work meanwhile."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config_yaml(self.upstream_base, self.model, self.upstream_key,
                                                self.master_key, self.timeout, self.custom_auth))
        (self.workdir / f"{AUTH_MODULE}.py").write_text(AUTH_SOURCE)
        if self.port is None or self._launches:
            self.port = free_port()
        cmd = [self.litellm_bin or find_litellm(), "--config", str(self.config_path),
               "--host", HOST, "--port", str(self.port), "--num_workers", "1"]
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._launches += 1
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=self.env(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent if _PRCTL else None)  # noqa: PLW1509
        return self

    def start(self, ready_timeout: float = 90) -> LiteLLMProxy:
        self.launch()
        return self.wait_ready(ready_timeout)

    def wait_ready(self, ready_timeout: float = 90) -> LiteLLMProxy:
        """Poll /health/liveliness (bounded); relaunch on another port if the chosen one was taken
        meanwhile (at most 3 launches). Stops the proxy and raises RuntimeError with its log on failure."""
        try:
            deadline = time.monotonic() + ready_timeout
            while not self._poll_ready(deadline):
                if "address already in use" in self.log_text().lower() and self._launches < 3:
                    self.launch()
                    continue
                assert self.proc is not None
                raise RuntimeError(f"litellm exited with {self.proc.returncode} before it was ready; "
                                   f"log:\n{self.log_text()}")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - (self._t0 or time.monotonic())
        return self

    def _poll_ready(self, deadline: float) -> bool:
        """True when ready, False when the process died; RuntimeError past the deadline."""
        url = self.url + "/health/liveliness"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"litellm not ready on {self.url} after the deadline; log:\n{self.log_text()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
