"""The REPL's screen: an event listener that draws a turn for a person on a small terminal.

Used for live turns and to re-draw a resumed session, with prompt_toolkit or without (it only
writes text with ANSI styles, so it works on a plain TTY and in tests). Lines are wrapped to the
terminal's width at the moment they are drawn (a phone turned sideways), command output is cut to a
short head and tail, and styles are dropped for NO_COLOR or when the output is not a terminal.
Envelope debris never gets here: the agent's events carry clean text only. Control characters in
any text (a command, a patch, model text, tool output) are made visible (security/visible.py) before the
text is wrapped, cut or styled, so what is drawn is what the text really says.

The small helpers are shared with `exec`'s human output (exec.HumanPrinter), so both front ends
say things the same way:
    use_color(out) -> bool                  a terminal, and NO_COLOR not set
    paint(text, style, color) -> str        `text` made visible, then one of STYLES around it
    first_lines(text, n, width=None) -> str the first n lines: on the screen (width) blank lines are
                                            dropped and long ones clipped; in a log all are kept
    change_letter(kind) -> str              A, D or M for a file change (? for anything else)
    plan_mark(status, unicode) -> str       [x] / [>] / [ ] (or their Unicode forms) for a plan step
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO

from codex_lite import events as ev
from codex_lite.security.visible import visible

STYLES = {"dim": "2", "italic": "2;3", "bold": "1", "red": "31", "green": "32", "cyan": "36",
          "yellow": "33", "magenta": "35", "boldcyan": "1;36"}
HEAD_LINES, TAIL_LINES = 3, 2
DIFF_LINES = 16
INLINE_CODE = re.compile(r"`([^`\n]+)`")
BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


CHANGE_LETTERS = {"add": "A", "delete": "D", "update": "M"}
PLAN_MARKS = {"completed": ("[x]", "✔"), "in_progress": ("[>]", "▸"), "pending": ("[ ]", "□")}


def use_color(out: IO[str]) -> bool:
    return bool(getattr(out, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def paint(text: str, style: str, color: bool) -> str:
    """The last step before drawing: `text` made visible, then our own style around it."""
    text = visible(text)
    return f"\033[{STYLES[style]}m{text}\033[0m" if color and style else text


def change_letter(kind: str | None) -> str:
    return CHANGE_LETTERS.get(kind, "?")


def plan_mark(status: str | None, unicode: bool = False) -> str:
    marks = PLAN_MARKS.get(status)
    return "-" if marks is None else marks[1 if unicode else 0]


class Renderer:
    """Draws events. `width` None = ask the terminal each time."""

    def __init__(self, out: IO[str] | None = None, color: bool | None = None, width: int | None = None):
        self.out = out or sys.stdout
        self.color = use_color(self.out) if color is None else color
        self.fixed_width = width
        enc = (getattr(self.out, "encoding", None) or "utf-8").lower()
        self.unicode = "utf" in enc
        self.replaying = False

    # -- output primitives ------------------------------------------------------------------------

    @property
    def width(self) -> int:
        if self.fixed_width:
            return self.fixed_width
        import shutil  # lazy: exec imports this module for its helpers; shutil loads bz2 and lzma

        return max(20, shutil.get_terminal_size((80, 24)).columns)

    def style(self, text: str, name: str) -> str:
        return paint(text, name, self.color)

    def line(self, text: str = "", style: str = "", indent: str = "") -> None:
        """Write text wrapped to the width; every wrapped line gets `indent`."""
        width = max(10, self.width - len(indent))
        for raw in visible(text).split("\n") or [""]:
            parts = _word_wrap(raw, width, replace_whitespace=False, drop_whitespace=True,
                                  break_on_hyphens=False) or [""]
            for part in parts:
                self.out.write(indent + self.style(part, style) + "\n")
        self.out.flush()

    def mark(self, ascii_: str, uni: str) -> str:
        return uni if self.unicode else ascii_

    # -- events -----------------------------------------------------------------------------------

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "on_" + event.kind, None)
        if handler is not None:
            handler(event)

    def on_turn_started(self, e: ev.TurnStarted) -> None:
        if self.replaying:
            self.line()
            self.line(self.mark("> ", "› ") + e.prompt, "bold")

    def on_reasoning(self, e: ev.Reasoning) -> None:
        text = first_lines(e.text, 3, self.width)
        if text:
            self.line(text, "italic")

    def on_agent_message(self, e: ev.AgentMessage) -> None:
        self.markdown(e.text)

    def on_tool_call(self, e: ev.ToolCall) -> None:
        if e.error:
            self.line(f"! unusable {e.name or 'tool'} call (the model was told): {e.error}", "yellow")

    def on_command_started(self, e: ev.CommandStarted) -> None:
        parts = _word_wrap(visible(e.command), max(10, self.width - 2), replace_whitespace=False,
                              break_on_hyphens=False) or [""]
        for i, part in enumerate(parts):
            self.out.write((self.style("$ ", "dim") if i == 0 else "  ") + self.style(part, "bold") + "\n")
        self.out.flush()

    def on_tool_result(self, e: ev.ToolResult) -> None:
        if e.name == "shell" and "exit_code" in e.metadata:
            self.command_result(e)
        elif not e.ok:
            self.line(self.mark("! ", "✗ ") + first_lines(e.output, 2, self.width), "red")

    def command_result(self, e: ev.ToolResult) -> None:
        output = visible(e.metadata.get("aggregated_output", e.output) or "")
        lines = output.rstrip("\n").split("\n")
        bar = self.mark("| ", "│ ")
        for text in _head_tail(lines, HEAD_LINES, TAIL_LINES):
            self.line(_clip(text, self.width - 2), "dim", indent=bar)
        code, took = e.metadata.get("exit_code"), e.metadata.get("duration_seconds")
        timing = f" {self.mark('-', '·')} {took:.1f}s" if isinstance(took, (int, float)) else ""
        if code == 0:
            self.line(self.mark("ok", "✓") + f" exit 0{timing}", "green")
        else:
            self.line(self.mark("x", "✗") + f" exit {code}{timing}", "red")

    def on_file_change(self, e: ev.FileChange) -> None:
        if e.status == "failed":
            self.line(self.mark("x", "✗") + " patch failed (the model was told why)", "red")
            return
        for change in e.changes:
            self.line(f"{change_letter(change.get('kind'))} {change.get('path')}", "green")
        self.diff(e.diff, DIFF_LINES)

    def on_plan_update(self, e: ev.PlanUpdate) -> None:
        if e.explanation:
            self.line(e.explanation, "italic")
        for step in e.plan:
            self.line(f"{plan_mark(step.get('status'), self.unicode)} {step.get('step')}", "italic", indent="  ")

    def on_context_compacted(self, e: ev.ContextCompacted) -> None:
        self.line(e.summary(), "dim")

    def on_envelope_repair(self, e: ev.EnvelopeRepair) -> None:
        for note in e.notes():
            self.line(note, "dim")

    def on_retry(self, e: ev.Retry) -> None:
        note = ", Ctrl-C stops" if e.wait_seconds else ""
        self.line(self.mark("~ ", "↻ ") + e.summary(self.width - 2, note), "yellow")

    def on_turn_failed(self, e: ev.TurnFailed) -> None:
        if e.message == "interrupted":
            self.line(self.mark("x ", "■ ") + "interrupted", "yellow")
        else:
            self.line("error: " + e.message, "red")

    def on_error(self, e: ev.Error) -> None:
        self.line("error: " + e.message, "red")

    # -- rich-ish text ----------------------------------------------------------------------------

    def markdown(self, text: str) -> None:
        """Light markdown: headings bold, list bullets, fenced code dim and unwrapped, `code` cyan."""
        in_code = False
        for raw in visible(text).strip("\n").split("\n"):
            if raw.lstrip().startswith("```"):
                in_code = not in_code
                continue
            if in_code:  # cut into pieces, not clipped: on a phone the end of a line matters too
                text, width = raw.replace("\t", "    "), max(10, self.width - 2)
                for start in range(0, max(len(text), 1), width):
                    self.out.write("  " + self.style(text[start:start + width], "cyan") + "\n")
                continue
            self._markdown_line(raw)
        self.out.flush()

    def _markdown_line(self, raw: str) -> None:
        heading = re.match(r"^(#{1,6})\s+(.*)$", raw)
        if heading:
            for part in _word_wrap(heading.group(2), self.width, break_on_hyphens=False) or [""]:
                self.out.write(self.style(INLINE_CODE.sub(r"\1", part), "bold") + "\n")
            return
        bullet = re.match(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$", raw)
        if bullet:
            lead = bullet.group(1) + (self.mark("- ", "• ") if bullet.group(2) in "-*+"
                                      else bullet.group(2) + " ")
            self._wrapped(bullet.group(3), lead, " " * len(lead))
            return
        self._wrapped(raw, "", "")

    def _wrapped(self, text: str, first: str, rest: str) -> None:
        parts = _word_wrap(text, max(10, self.width - len(first)), break_on_hyphens=False) or [""]
        for i, part in enumerate(parts):
            self.out.write((first if i == 0 else rest) + self._inline(part) + "\n")

    def _inline(self, text: str) -> str:
        if not self.color:
            return text
        text = INLINE_CODE.sub(lambda m: self.style(m.group(1), "cyan"), text)
        return BOLD.sub(lambda m: self.style(m.group(1), "bold"), text)

    def diff(self, text: str, max_lines: int | None = None, headers: bool = False, whole: bool = False) -> None:
        """A unified diff (or patch), coloured; file headers only with `headers` (then bold);
        cut after `max_lines`. Lines wider than the terminal are cut with `...`, or with `whole`
        (an approval dialog, where the hidden end of a line could be what matters) wrapped."""
        head = ("--- ", "+++ ", "diff --git", "index ", "new file mode", "deleted file mode")
        lines = [ln for ln in visible(fold_blank_lines(text) if whole else text).split("\n")
                 if headers or not ln.startswith(head)]
        if lines and not lines[-1]:
            lines.pop()
        shown = lines if max_lines is None else lines[:max_lines]
        for ln in shown:
            style = ("bold" if ln.startswith(head) else "green" if ln.startswith("+")
                     else "red" if ln.startswith("-") else "cyan" if ln.startswith("@@") else "dim")
            for part in _wrap(ln, self.width - 2) if whole else [_clip(ln, self.width - 2)]:
                self.out.write("  " + self.style(part, style) + "\n")
        if len(shown) < len(lines):
            self.line(f"... {len(lines) - len(shown)} more diff lines (/diff shows all)", "dim", indent="  ")
        self.out.flush()


def fold_blank_lines(text: str, most: int = 2) -> str:
    """`text` with every run of more than `most` blank lines (spaces and tabs count as blank) shown
    as one `[N blank lines]` line: in an approval dialog a hundred of them would push what comes
    before off the screen, leaving only the harmless end of a command in view."""
    out: list[str] = []
    run = 0
    for line in (text + "\n").split("\n"):
        if not line.strip():
            run += 1
            continue
        out += [f"[{run} blank lines]"] if run > most else [""] * run
        run = 0
        out.append(line)
    if run > most + 1:
        out.append(f"[{run - 1} blank lines]")
    else:
        out += [""] * (run - 1)
    return "\n".join(out)


def _word_wrap(text: str, width: int, **options: bool) -> list[str]:
    """textwrap.wrap, imported on first use: exec imports this module only for the helpers above."""
    import textwrap

    return textwrap.wrap(text, width, **options)


def _wrap(text: str, width: int) -> list[str]:
    """`text` in pieces of `width` characters (tabs as four spaces), nothing dropped."""
    text = text.replace("\t", "    ").replace("\r", "")
    width = max(10, width)
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def _clip(text: str, width: int) -> str:
    text = text.replace("\t", "    ").replace("\r", "")
    return text if len(text) <= width else text[: max(1, width - 3)] + "..."


def _head_tail(lines: list[str], head: int, tail: int) -> list[str]:
    if len(lines) <= head + tail + 1:
        return lines
    return lines[:head] + [f"... {len(lines) - head - tail} more lines"] + lines[-tail:]


def first_lines(text: str, n: int, width: int | None = None) -> str:
    """The first `n` lines of `text`, made visible (a lone CR is shown, not taken for a line end).
    With `width` (the screen): blank lines dropped, each line clipped to two widths, " ..." when
    more follow. Without (a log on stderr): every line kept, and how many more there were."""
    lines = visible(text).strip().split("\n")
    if width is None:
        return "\n".join(lines[:n]) + (f"\n... ({len(lines) - n} more lines)" if len(lines) > n else "")
    lines = [ln for ln in lines if ln.strip()]
    shown = [_clip(ln, width * 2) for ln in lines[:n]]
    return "\n".join(shown) + (" ..." if len(lines) > n else "")
