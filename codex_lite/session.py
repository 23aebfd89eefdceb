"""Putting an agent together from the configuration: shared by `exec` and the REPL.

This is also where the trust boundary is wired in: the event bus redacts the configured secrets
before any listener sees an event, commands get the [shell_environment_policy] environment and have
their output redacted, patch journals live under $CODEX_HOME, and a resumed session keeps working in
the folder it is opened in (the model is told when that differs from the folder it remembers).
"""

from __future__ import annotations

import os

from codex_lite import events as ev
from codex_lite import rollout, telemetry
from codex_lite.agent import Agent
from codex_lite.client import Client, ModelError
from codex_lite.config import Config
from codex_lite.context import build_instructions, find_agents_files
from codex_lite.context_window import find_window
from codex_lite.records import dataclass, fields
from codex_lite.retry import TurnPolicy
from codex_lite.snapshots import Snapshots
from codex_lite.tools import patch_fs, shells
from codex_lite.tools.child_env import child_environment
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
    recorder: rollout.Recorder | None = None
    telemetry: telemetry.Telemetry | None = None
    snapshots: Snapshots | None = None

    @property
    def model(self) -> str:
        return self.agent.model

    def close(self) -> None:
        for listener in (self.recorder, self.telemetry):
            if listener is not None:
                listener.close()


def new_session_id() -> str:
    """A random (version 4) UUID string, without importing uuid (one OpenWrt package less)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def shell_settings(config: Config, client: Client) -> ShellSettings:
    """The [shell] table, the children's environment ([shell_environment_policy]) and the redactor
    of their output (the client's: the same secrets)."""
    known = {f.name for f in fields(ShellSettings)} - {"env", "redactor"}
    settings = ShellSettings(**{k: v for k, v in config.shell.items() if k in known})
    settings.redactor = client.redactor
    settings.env = child_environment(config.shell_environment_policy, os.environ, client.redactor.raw)
    return settings


def journal_dir(config: Config) -> str:
    """Where apply_patch keeps its crash-recovery journals: never in a workspace."""
    return os.path.join(config.codex_home, patch_fs.JOURNAL_DIR)


def choose_model(config: Config, client: Client, bus: ev.Bus | None = None) -> tuple[str, str | None]:
    """The configured model, or the proxy's first one with a note saying so (zero-config path)."""
    if config.model:
        return config.model, None
    try:
        names = client.list_models(client.retry_notices(bus) if bus is not None else None)
    except ModelError as exc:
        if exc.unreachable:
            raise
        raise ModelError(f"no model configured and the model list failed: {exc}", exc.status) from None
    if not names:
        raise ModelError(f"no model configured and {config.provider.base_url} lists none; "
                         "set `model` in config.toml or pass -m")
    return names[0], (f"no model configured; using {names[0]} from the proxy "
                      "(set `model` in config.toml or pass -m)")


def open_session(config: Config, cwd: str, bus: ev.Bus, *, approver: Approver | None = None,
                 resume: rollout.SavedSession | None = None, resume_path: str | None = None,
                 telemetry_enabled: bool | None = None, model: str | None = None,
                 session_id: str | None = None) -> tuple[Session, str | None]:
    """A ready agent with its session file and telemetry listening; the second value is a notice
    for the user (or None). With `resume`, the saved history is restored and the same session file
    is appended to."""
    client = Client(config.provider)
    if client.redactor:
        bus.scrub = client.redactor.event
    note = None
    if model is None and resume is not None and not config.model:
        model = resume.model
    if model is None:
        model, note = choose_model(config, client, bus)
    session_id = resume.session_id if resume else session_id or new_session_id()
    tele = telemetry.start(config, session_id, telemetry_enabled)
    if tele is not None:
        tele.model = model
        bus.add(tele)
    if config.sandbox_mode != "read-only":  # finish a patch that a killed run left half renamed
        patch_fs.recover(cwd, journal_dir(config))
    if resume is None:  # before the agent exists, so the file holds the history from its first message
        recorder = _record(bus, config, session_id, cwd, model, None)
    shells.remember_features_in(os.path.join(config.codex_home, "shell-features.json"))
    snapshots = Snapshots(config.codex_home, session_id, cwd, config.undo_max_bytes)
    bus.add(snapshots)
    settings = shell_settings(config, client)
    if config.notify:
        from codex_lite import notify

        notifier = notify.listener(config, session_id, cwd, settings.env)
        if notifier is not None:
            bus.add(notifier)
    tools = ToolBox(cwd=cwd, emit=bus, shell=settings, sandbox_mode=config.sandbox_mode,
                    approver=approver, journal_dir=journal_dir(config), snapshots=snapshots)
    agents_files = find_agents_files(cwd, config.codex_home)
    instructions = build_instructions(cwd, config.codex_home, config.project_doc_max_bytes, agents_files)
    agent = Agent(client, tools, model, bus, instructions=instructions,
                  reasoning_effort=config.reasoning_effort,
                  retry=TurnPolicy.from_config(config),
                  max_tool_rounds=config.max_tool_rounds,
                  window_of=lambda name, lookup: find_window(config, client, name, lookup),
                  auto_compact_limit=config.model_auto_compact_token_limit)
    if resume is not None:
        agent.restore(resume.history)
        recorder = _record(bus, config, session_id, cwd, model, resume_path)
        moved = _moved_note(resume.cwd, cwd)
        if moved:
            agent.append({"role": "user", "content": moved})
    return Session(session_id, os.path.abspath(cwd), config, client, agent, bus, agents_files,
                   recorder, tele, snapshots), note


def _moved_note(saved_cwd: str, cwd: str) -> str | None:
    """What the model is told when a session continues in another folder than the one its history
    (and its instructions) speak of."""
    here = os.path.abspath(cwd)
    if saved_cwd and os.path.isdir(saved_cwd) and os.path.realpath(saved_cwd) == os.path.realpath(here):
        return None
    return (f"Note from codex-lite: this session now continues in {here} (earlier messages may speak "
            f"of {saved_cwd or 'another folder'}). Work in {here}; relative paths start there.")


def _record(bus: ev.Bus, config: Config, session_id: str, cwd: str, model: str,
            path: str | None) -> rollout.Recorder | None:
    recorder = rollout.Recorder.create(config.codex_home, session_id, os.path.abspath(cwd), model, path=path)
    if recorder is not None:
        bus.add(recorder)
    return recorder
