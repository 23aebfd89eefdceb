"""The REPL's questions: the approval dialog and the session picker.

    ApprovalDialog(ui, renderer)(request, always_label) -> approvals.Choice
        Ctrl-C or Ctrl-D inside it raises KeyboardInterrupt, which cancels the turn
    non_ascii_note(text) -> str          names the non-ASCII characters of a command ("" if none)
    pick_session(config, args, ui, renderer) -> str | None    `resume ID`, `--last` or a short list

Why it looks like this: an approval is a security boundary when the agent runs as root, so the
dialog shows exactly what will run (the script of `bash -lc`, the whole patch, the folder, any
character that only looks like ASCII) and only a clear y/a/n answer leaves it.
"""

from __future__ import annotations

import os
from typing import Any

from codex_lite import events as ev
from codex_lite import onboarding, rollout
from codex_lite.approvals import Choice, command_text
from codex_lite.render import Renderer, fold_blank_lines
from codex_lite.repl.status import short_path
from codex_lite.tools.toolbox import ApprovalRequest
from codex_lite.security.visible import visible


class ApprovalDialog:
    """The `ask` of approvals.Approvals for a person at a terminal."""

    def __init__(self, ui: Any, renderer: Renderer):
        self.ui, self.r = ui, renderer

    def __call__(self, request: ApprovalRequest, always_label: str) -> Choice:
        try:
            return self._ask(request, always_label)
        except EOFError:
            raise KeyboardInterrupt from None

    def _ask(self, request: ApprovalRequest, always_label: str) -> Choice:
        self._show(request)
        options = {"y": "yes", "n": "no, tell it what to do instead"}
        if always_label:
            options = {"y": "yes", "a": f"yes, and don't ask again for {always_label} this session",
                       "n": options["n"]}
        for key, text in options.items():
            self.r.line(f"{key}  {text}", indent="  ")
        while True:
            answer = self.ui.prompt(f"[{'/'.join(options)}]> ").strip().lower()[:1]
            if answer in options:
                break
        if answer == "n":
            feedback = self.ui.prompt("what should it do instead? (Enter: just decline)> ").strip()
            return Choice("no", feedback or None)
        return Choice("always" if answer == "a" else "yes")

    def _show(self, request: ApprovalRequest) -> None:
        r = self.r
        if request.kind == "patch":
            r.line("Apply this patch?", "bold")
            r.diff(request.diff, whole=True)
            if request.reason:
                r.line(request.reason, "yellow")
        elif request.kind == "retry":
            r.line(f"The command failed (exit code {request.exit_code}). Run it again?", "bold")
            r.line("$ " + fold_blank_lines(command_text(request.command)), "bold")
        else:
            r.line("Allow this command?", "bold")
            r.line("$ " + fold_blank_lines(command_text(request.command)), "bold")
            r.line(f"in {short_path(request.cwd)}", "dim")
            note = non_ascii_note(" ".join(request.command))
            if note:
                r.line(note, "yellow")


def non_ascii_note(text: str, most: int = 6) -> str:
    """Names the non-ASCII characters of a command: `scripts/lѕ` (a Cyrillic dze) is drawn like
    `scripts/ls`, and an approval must not hinge on a glyph."""
    found = list(dict.fromkeys(c for c in text if ord(c) > 0x7f))
    if not found:
        return ""
    named = ", ".join(f"U+{ord(c):04X} {visible(c)!r}" for c in found[:most])
    more = f" and {len(found) - most} more" if len(found) > most else ""
    return f"note: the command holds non-ASCII characters: {named}{more}"


def pick_session(config: Any, args: Any, ui: Any, renderer: Renderer) -> str | None:
    """`resume ID`, `resume --last`, or a short list to choose from."""
    if args.session_id or args.last:
        return rollout.find_session(config.codex_home, args.session_id)
    paths = rollout.list_sessions(config.codex_home)[:10]
    if not paths:
        return None
    options = [(str(i), _session_label(p)) for i, p in enumerate(paths, 1)]
    choice = onboarding.choose(ui, renderer, "Resume which session?", options, "1")
    return paths[int(choice) - 1]


def _session_label(path: str) -> str:
    name = os.path.basename(path)
    first = ""
    try:
        saved = rollout.load(path)
        first = next((e.prompt for e in saved.events if isinstance(e, ev.TurnStarted)), "")
    except OSError:
        pass
    return f"{name[:16].replace('T', ' ')}  {first[:40]}"
