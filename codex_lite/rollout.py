"""Session files for resume. CONTRACT STUB (owned by the REPL issue).

    Recorder.create(codex_home, session_id, cwd, model) -> Recorder | None   (an event listener)
    find_session(codex_home, session_id=None) -> str | None   (None id = the newest session)
    load(path) -> SavedSession(session_id, cwd, model, history, events)
"""

from __future__ import annotations
