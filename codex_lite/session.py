"""Putting an agent together from the configuration: shared by `exec` and the REPL."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, fields

from codex_lite import events as ev
from codex_lite.agent import Agent, RetryPolicy
from codex_lite.client import Client, ModelError
from codex_lite.config import Config
from codex_lite.context import build_instructions, find_agents_files
from codex_lite.tools.shell import ShellSettings
from codex_lite.tools.toolbox import Approver, ToolBox


@dataclass
class Session:
    id: str
    cwd: str
    config: Config
    client: Client
    agent: Agent
    bus: ev.Bus
    agents_files: list[str]


def shell_settings(config: Config) -> ShellSettings:
    known = {f.name for f in fields(ShellSettings)}
    return ShellSettings(**{k: v for k, v in config.shell.items() if k in known})


def choose_model(config: Config, client: Client) -> tuple[str, str | None]:
    """The configured model, or the proxy's first one with a note saying so (zero-config path)."""
    if config.model:
        return config.model, None
    try:
        names = client.list_models()
    except ModelError as exc:
        raise ModelError(f"no model configured and the model list failed: {exc}") from None
    if not names:
        raise ModelError(f"no model configured and {config.provider.base_url} lists none; "
                         "set `model` in config.toml or pass -m")
    return names[0], (f"no model configured; using {names[0]} from the proxy "
                      "(set `model` in config.toml or pass -m)")


def open_session(config: Config, cwd: str, bus: ev.Bus, *, approver: Approver | None = None,
                 session_id: str | None = None, model: str | None = None) -> tuple[Session, str | None]:
    """A ready agent; the second value is a notice for the user (or None)."""
    client = Client(config.provider)
    note = None
    if model is None:
        model, note = choose_model(config, client)
    tools = ToolBox(cwd=cwd, emit=bus, shell=shell_settings(config), sandbox_mode=config.sandbox_mode,
                    approver=approver)
    agents_files = find_agents_files(cwd, config.codex_home)
    instructions = build_instructions(cwd, config.codex_home, config.project_doc_max_bytes, agents_files)
    agent = Agent(client, tools, model, bus, instructions=instructions,
                  reasoning_effort=config.reasoning_effort,
                  retry=RetryPolicy(config.retry_max_attempts, config.retry_wait_seconds),
                  max_tool_rounds=config.max_tool_rounds)
    return Session(session_id or str(uuid.uuid4()), os.path.abspath(cwd), config, client, agent, bus,
                   agents_files), note
