"""Shared pieces of the trust-boundary tests (start-up, display, secrets, resume).

Every test here attacks the installed CLI from outside, as a hostile repository, a hostile model
answer or a hostile server would, and then looks at what an attacker wants to reach: a sentinel
file, files outside the workspace, the next request to the model, the session file, JSON output,
stderr and the telemetry folder.
"""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from scripted_server import ScriptedServer

# Everything a terminal acts on instead of drawing: C0 controls but newline and tab, DEL, C1
# controls, and the bidi overrides and isolates that reorder what is shown (Trojan Source).
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

EXEC = ("exec", "-m", "scripted", "-c", "retry.wait_seconds=0")
EXEC_JSON = ("exec", "--json", "-m", "scripted", "-c", "retry.wait_seconds=0")


def raw_controls(text: str) -> list[str]:
    """The control characters a terminal would act on, as repr strings (empty when clean)."""
    return [repr(m.group()) for m in RAW_CONTROLS.finditer(text)]


# --------------------------------------------------------------------------- where secrets may leak


def session_text(codex_home: Path) -> str:
    """Every session file under CODEX_HOME, concatenated."""
    return "".join(p.read_text(errors="replace") for p in sorted((codex_home / "sessions").rglob("*.jsonl")))


def telemetry_text(codex_home: Path) -> str:
    logs = codex_home / "logs"
    return "".join(p.read_text(errors="replace") for p in sorted(logs.rglob("*")) if p.is_file())


def requests_text(server: ScriptedServer) -> str:
    """Every request body the model server received, as JSON text (what left the device)."""
    return json.dumps([r.get("body") for r in server.requests()], ensure_ascii=False)


def tool_messages(server: ScriptedServer) -> list[str]:
    """The tool results the model was sent, in order (from the last request)."""
    chats = server.chat_requests()
    if not chats:
        return []
    return [m.get("content") or "" for m in chats[-1]["messages"] if m.get("role") == "tool"]


def leaks(secret: str, **places: str) -> dict[str, str]:
    """{place: excerpt} for each place whose text holds `secret`, or its first or last 10 characters
    (what a cut through it leaves: a key cut in half still leaks)."""
    found = {}
    pieces = {secret[:10], secret[-10:]}
    for name, text in places.items():
        for piece in pieces:
            at = text.find(piece)
            if at >= 0:
                found[name] = text[max(0, at - 60):at + 60]
                break
    return found


# --------------------------------------------------------------------------- files an attacker targets


def outside_tree(tmp_path: Path) -> dict[str, Path]:
    """A folder outside the workspace with files an attack would move, overwrite or delete."""
    out = tmp_path / "outside"
    out.mkdir()
    files = {
        "victim": out / "victim.txt",
        "delete_me": out / "delete_me.txt",
        "payload": out / "payload.txt",
    }
    files["victim"].write_text("precious data\n")
    files["delete_me"].write_text("keep me\n")
    files["payload"].write_text("attacker's content\n")
    files["dir"] = out
    return files


def snapshot(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under `folder` (links as their target text)."""
    result = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            result[str(p.relative_to(folder))] = b"->" + str(p.readlink()).encode()
        elif p.is_file():
            result[str(p.relative_to(folder))] = p.read_bytes()
    return result


def journal_bytes(records: list[list[str]], complete: bool = True) -> bytes:
    """A patch journal in codex-lite's format (fields end with NUL, records with NUL + newline)."""
    if complete:
        records = records + [["END"]]
    return b"".join(b"".join(f.encode() + b"\0" for f in r) + b"\n" for r in records)


# --------------------------------------------------------------------------- config and sessions


def write_config(codex_home: Path, text: str) -> None:
    (codex_home / "config.toml").write_text(text)


def hostile_provider(codex_home: Path, server: ScriptedServer, api_key: str,
                     headers: dict[str, str] | None = None, extra: str = "") -> None:
    """Point codex-lite straight at the scripted server (no proxy in between), as a user of any
    OpenAI-compatible server does: the server then sees our headers and can echo them back."""
    header_text = ", ".join(f'"{k}" = "{v}"' for k, v in (headers or {}).items())
    write_config(codex_home, (
        f'model = "scripted"\nmodel_provider = "hostile"\n{extra}\n'
        f'[model_providers.hostile]\nbase_url = "{server.base_url}"\napi_key = "{api_key}"\n'
        f"request_max_retries = 0\nhttp_headers = {{ {header_text} }}\n"))


def session_file(codex_home: Path, session_id: str, cwd: str, history: list[dict] | None = None,
                 day: str = "2025/01/02") -> Path:
    """A session file as codex-lite writes it: a header line and the history events."""
    folder = codex_home / "sessions" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day.replace('/', '-')}T10-00-00-{session_id}.jsonl"
    lines = [{"event": "session_meta", "session_id": session_id, "cwd": cwd, "model": "scripted",
              "created_at": "2025-01-02T10:00:00+0000", "version": "0.1.0"}]
    lines.append({"event": "turn_started", "prompt": "earlier question", "attempt": 1})
    for message in history or [{"role": "user", "content": "earlier question"},
                               {"role": "assistant", "content": "earlier answer"}]:
        lines.append({"event": "history_append", "message": message})
    lines.append({"event": "agent_message", "text": "earlier answer", "final": True})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


# --------------------------------------------------------------------------- the REPL in a terminal


@contextmanager
def repl(proxy, codex_home: Path, cwd: Path, config: str = "", argv: tuple[str, ...] = (),
         width: int = 100, height: int = 40):
    """codex-lite's REPL under a private tmux server, configured for the proxy and the scripted
    model (plus `config` lines), started in `cwd` with `argv`; killed with all it started at exit."""
    from support.cli import cli_env
    from support.cli import CODEX
    from support.tmux import Tmux

    write_config(codex_home, f'model = "scripted"\n{config}\n\n[model_providers.litellm]\n'
                             f'base_url = "{proxy.url}"\napi_key = "{proxy.master_key}"\n')
    term = Tmux(cli_env(proxy.url, proxy.master_key, codex_home, {"TERM": "xterm-256color"}), cwd)
    try:
        term.start([*CODEX, "-c", "retry.wait_seconds=0", *argv], width=width, height=height)
        yield term
    finally:
        term.close()
