"""`notify = ["program", "arg", ...]`: run a program when a turn completes, with Codex's JSON
(`{"type": "agent-turn-complete", "thread-id", "turn-id", "cwd", "input-messages",
"last-assistant-message"}`) as its last argument. Not waited for (a slow notifier never holds up
the agent); its own process group, stdio on /dev/null.

What it may learn: the payload comes from events the bus already redacted, and it runs with the
environment of the model's commands ([shell_environment_policy]: never the API key), not ours.
"""

from __future__ import annotations

import json
import os
from typing import Any

from codex_lite import events as ev

# Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN): two texts of 8 KiB stay below it
# even when JSON escapes every byte (6 bytes each).
TEXT_BYTES = 8 * 1024


class Notifier:
    """Bus listener: collects the turn's prompt and answer, runs the program on TurnCompleted."""

    def __init__(self, argv: list[str], session_id: str, cwd: str, env: dict[str, str] | None):
        self.argv, self.session_id, self.cwd, self.env = list(argv), session_id, cwd, env
        self.turns = 0
        self.prompt = ""
        self.answer = ""
        self.children: list[Any] = []

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.TurnStarted):
            self.turns += 1
            self.prompt, self.answer = event.prompt, ""
        elif isinstance(event, ev.AgentMessage) and event.final:
            self.answer = event.text
        elif isinstance(event, ev.TurnCompleted):
            self.run(self.payload())

    def payload(self) -> str:
        return json.dumps({
            "type": "agent-turn-complete", "thread-id": self.session_id,
            "turn-id": f"{self.session_id}-{self.turns}", "cwd": self.cwd,
            "input-messages": [_cut(self.prompt)], "last-assistant-message": _cut(self.answer),
        }, ensure_ascii=False)

    def run(self, payload: str) -> None:
        """Start the program; a missing one is one warning (the bus drops this listener)."""
        import subprocess

        self.children = [c for c in self.children if c.poll() is None]  # reap the finished ones
        try:
            child = subprocess.Popen([*self.argv, payload], cwd=self.cwd, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        except OSError as exc:
            raise RuntimeError(f"notify program {self.argv[0]!r} could not start: "
                               f"{exc.strerror or exc}") from None
        self.children.append(child)


def _cut(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= TEXT_BYTES:
        return text
    return data[:TEXT_BYTES].decode("utf-8", "ignore") + " [...]"


def listener(config: Any, session_id: str, cwd: str, env: dict[str, str] | None) -> Notifier | None:
    """The Notifier of `notify` in config.toml, or None when it is not set."""
    argv = [a for a in config.notify if isinstance(a, str)]
    if not argv or not argv[0]:
        return None
    return Notifier(argv, session_id, os.path.abspath(cwd), env)
