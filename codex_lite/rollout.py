"""Session files for resume. CONTRACT STUB (owned by the REPL issue).

    Recorder.create(codex_home, session_id, cwd, model) -> Recorder | None   (an event listener)
    find_session(codex_home, session_id=None) -> str | None   (None id = the newest session)
    load(path) -> SavedSession(session_id, cwd, model, history, events)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SavedSession:
    session_id: str
    cwd: str
    model: str
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)


class Recorder:
    @classmethod
    def create(cls, codex_home: str, session_id: str, cwd: str, model: str,
               path: str | None = None) -> "Recorder | None":
        return None

    def __call__(self, event: Any) -> None:
        pass

    def close(self) -> None:
        pass


def find_session(codex_home: str, session_id: str | None = None) -> str | None:
    return None


def load(path: str) -> SavedSession:
    raise FileNotFoundError(path)
