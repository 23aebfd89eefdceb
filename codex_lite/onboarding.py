"""First run: where the LiteLLM proxy is, which key, which model and effort; and the picker that
/model shares with it.

Why it looks like this: on a router over SSH the usual failure is a proxy that is down or a wrong
key, so each step says what went wrong in words and offers retry / edit the URL / edit the key.
The choice is tested with one tiny request before it is saved, through config_file.write_config
(top-level `key = value` lines and the [model_providers.litellm] table only: the user's other keys
and comments survive, and the file gets mode 0600 because it may hold the API key).

`ui` is the REPL's line input (prompt_toolkit or plain): ui.prompt(message, default="",
completions=None, secret=False) -> str, raising EOFError / KeyboardInterrupt.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from codex_lite.config import REASONING_EFFORTS, Provider, normalize_litellm_url, url_problem
from codex_lite.config_file import ConfigWriteError, write_config  # noqa: F401 - the REPL catches it here
from codex_lite.records import dataclass

TABLE = "model_providers.litellm"
TEST_PROMPT = "Reply with the single word OK."
EFFORT_NOTES = {"none": "no reasoning (fastest)", "minimal": "barely any", "low": "quick",
                "medium": "balanced", "high": "thorough, slowest"}
MAX_LISTED = 30


@dataclass
class Selection:
    model: str
    reasoning_effort: str | None
    source: str
    base_url: str | None = None
    api_key: str | None = None
    env_key: str | None = None


def needed(config: Any, env: dict[str, str] | None = None) -> bool:
    """No config.toml and no LITELLM_BASE_URL: nothing tells us where the proxy is."""
    env = os.environ if env is None else env
    return not config.file_exists and not env.get("LITELLM_BASE_URL")


# -- the shared picker --------------------------------------------------------------------------


def choose(ui: Any, out: Any, title: str, options: list[tuple[str, str]], default: str | None = None) -> str:
    """A numbered list; the answer is a number or the option's name (completion offers names).
    Works the same with and without prompt_toolkit and fits 40 columns."""
    out.line(title, "bold")
    values = [value for value, _ in options]
    for i, (value, note) in enumerate(options[:MAX_LISTED], 1):
        mark = "*" if value == default else " "
        out.line(f"{mark}{i:>2}. {value}" + (f"  {note}" if note else ""), indent="")
    if len(options) > MAX_LISTED:
        out.line(f"    ... {len(options) - MAX_LISTED} more: type a name (Tab completes)", "dim")
    hint = f" [{default}]" if default in values else ""
    while True:
        answer = ui.prompt(f"choose{hint}> ", completions=values).strip()
        if not answer and default in values:
            return default
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return values[int(answer) - 1]
        if answer in values:
            return answer
        out.line(f"type a number from 1 to {len(options)} or a name from the list", "yellow")


def pick_effort(ui: Any, out: Any, current: str | None) -> str:
    options = [(e, EFFORT_NOTES[e]) for e in REASONING_EFFORTS]
    return choose(ui, out, "Reasoning effort:", options, current or "medium")


def pick_model(ui: Any, out: Any, names: list[str], current: str | None) -> str:
    if not names:
        out.line("The proxy lists no models; type the model name as the proxy knows it.", "yellow")
        while True:
            name = ui.prompt("model> ", default=current or "").strip()
            if name:
                return name
    return choose(ui, out, f"Model ({len(names)} on the proxy):", [(n, "") for n in names],
                  current if current in names else names[0])


def test_choice(client: Any, model: str, effort: str | None) -> tuple[bool, str]:
    """One tiny request with the chosen model and effort: (worked, what to tell the user)."""
    from codex_lite.answer import parse_answer
    from codex_lite.client import ModelError

    started = time.monotonic()
    try:
        raw = client.chat(model, [{"role": "user", "content": TEST_PROMPT}], None, effort)
    except ModelError as exc:
        return False, explain(exc, client.provider.base_url)
    took = time.monotonic() - started
    answer = parse_answer(raw, took)
    if not (answer.text.strip() or answer.reasoning.strip()):
        return False, f"{model} answered with nothing usable; try another model or effort"
    return True, f"{model} answered in {took:.1f}s"


def explain(exc: Exception, base_url: str) -> str:
    """A model-server error in words a user can act on."""
    status = getattr(exc, "status", None)
    text = str(exc)
    if status in (401, 403):
        return f"The proxy refused the API key ({status}). Check the key: a LiteLLM master or virtual key."
    if "connection refused" in text:
        return f"Nothing answers at {base_url}: is the proxy running, and is the address right?"
    if "cannot reach" in text:
        reason = text.split(": ", 1)[-1].split(" (gave up")[0]
        return f"Cannot reach {base_url} ({reason}): is the address right and the network up?"
    if status == 404:
        return f"{base_url} has no such endpoint or model (404): is this the proxy's address? ({text})"
    return text


# -- onboarding ---------------------------------------------------------------------------------


def run(ui: Any, out: Any, config: Any, env: dict[str, str] | None = None) -> Selection | None:
    """The first-run dialog; saves config.toml and returns the selection, or None when the user quits."""
    env = os.environ if env is None else env
    out.line("Welcome to codex-lite.", "bold")
    out.line("It talks to a LiteLLM proxy (or any OpenAI-compatible server). Let's set it up; "
             f"answers are saved in {config.path}.")
    url = env.get("LITELLM_BASE_URL") or config.provider.base_url
    key_kind, key_value = None, None
    key_asked = False
    step = "url"
    while True:
        if step == "url":
            url = ask_url(ui, out, url)
            step = "list" if key_asked else "key"
        if step == "key":
            key_asked = True
            key_kind, key_value = ask_key(ui, out, env)
            step = "list"
        client = make_client(url, key_kind, key_value, env)
        try:
            names = client.list_models()
        except Exception as exc:  # noqa: BLE001 - ModelError or an unexpected answer: explain, offer a way out
            out.line(explain(exc, client.provider.base_url), "red")
            step = recover(ui, out)
            if step == "quit":
                return None
            continue
        selection = pick_and_test(ui, out, client, names, None, None, "onboarding")
        if selection is None:
            step = recover(ui, out)
            if step == "quit":
                return None
            continue
        selection.base_url = client.provider.base_url
        if key_kind == "key":
            selection.api_key = key_value
        elif key_kind == "env":
            selection.env_key = key_value
        save_onboarding(config.path, selection, out)
        return selection


def ask_url(ui: Any, out: Any, default: str) -> str:
    while True:
        url = ui.prompt("LiteLLM base URL> ", default=default).strip()
        problem = url_problem(url)
        if problem is None:
            return url
        out.line(f"the URL {problem}; type one like http://192.168.1.10:4000", "yellow")


def ask_key(ui: Any, out: Any, env: dict[str, str]) -> tuple[str | None, str | None]:
    """("key", secret) | ("env", NAME) | (None, None) for a proxy without keys."""
    out.line("API key (hidden). Enter = no key; $NAME = read it from environment variable NAME "
             "instead of storing it.", "dim")
    answer = ui.prompt("API key> ", secret=True).strip()
    if not answer:
        return None, None
    if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", answer):
        name = answer[1:]
        if not env.get(name):
            out.line(f"{name} is not set in this shell; codex-lite will read it when it is.", "yellow")
        return "env", name
    return "key", answer


def recover(ui: Any, out: Any) -> str:
    """After a failure: which step to go back to."""
    choice = choose(ui, out, "What now?", [("retry", "try again"), ("url", "edit the URL"),
                                           ("key", "edit the API key"), ("quit", "leave")], "retry")
    return {"retry": "list"}.get(choice, choice)


def make_client(url: str, key_kind: str | None, key_value: str | None, env: dict[str, str]) -> Any:
    from codex_lite.client import Client

    api_key = key_value if key_kind == "key" else env.get(key_value or "") if key_kind == "env" else None
    provider = Provider(id="litellm", base_url=normalize_litellm_url(url), api_key=api_key,
                        env_key=key_value if key_kind == "env" else None, request_max_retries=0,
                        request_timeout_seconds=120.0, connect_timeout_seconds=5.0, is_litellm=True)
    return Client(provider)


def pick_and_test(ui: Any, out: Any, client: Any, names: list[str], model: str | None,
                  effort: str | None, source: str) -> Selection | None:
    """Pick a model and effort, test them; on failure pick again or give up (None)."""
    while True:
        model = pick_model(ui, out, names, model)
        effort = pick_effort(ui, out, effort)
        out.line(f"Testing {model} ({effort}) with one tiny request...", "dim")
        ok, message = test_choice(client, model, effort)
        out.line(("OK: " if ok else "") + message, "green" if ok else "red")
        if ok:
            return Selection(model, effort, source)
        again = choose(ui, out, "Pick another model or effort?", [("yes", ""), ("no", "")], "yes")
        if again == "no":
            return None


# -- config.toml editing ------------------------------------------------------------------------


def save_onboarding(path: str, sel: Selection, out: Any) -> None:
    provider: dict[str, str | None] = {"base_url": sel.base_url}
    if sel.env_key:
        provider.update(env_key=sel.env_key, api_key=None)
    elif sel.api_key:
        provider["api_key"] = sel.api_key
    write_config(path, {"model": sel.model, "model_reasoning_effort": sel.reasoning_effort},
                 {TABLE: provider})
    out.line(f"Saved to {path} (mode 0600).", "dim")
