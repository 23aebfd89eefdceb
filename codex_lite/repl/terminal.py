"""The REPL's line input: prompt_toolkit on a terminal, plain line input elsewhere.

    make_ui(renderer, toolbar=None) -> PtkUI | PlainUI
    ui.prompt(message, default="", completions=None, secret=False, main=False) -> str
        raises EOFError at the end of input; with prompt_toolkit, Ctrl-C on an empty main prompt
        raises KeyboardInterrupt (on a line with text it clears the line)
    install_lazy_wcwidth()   the wcwidth stand-in (see its docstring)
    prompt_history_of(codex_home), prompt_completer(prompts, paths)   for PtkUI.attach: history.jsonl
        for Up/Down and Ctrl-R; completion of commands, custom prompts and `@` paths

Why it looks like this: the REPL, its dialogs and onboarding only need "ask for a line", so both
back-ends offer that one method and nothing else knows which one runs. prompt_toolkit is imported
here, inside functions, and nowhere on the `exec` path (a test checks it).
"""

from __future__ import annotations

import sys
from typing import Any

from codex_lite.render import Renderer
from codex_lite.security.visible import visible

PLAIN_NOTICE = ("prompt_toolkit is not installed: plain line input (no completion, no history). "
                "Install prompt-toolkit for the full REPL.")


class PlainUI:
    """Line input without prompt_toolkit: a minimal router, a pipe, a test."""

    def __init__(self, inp: Any = None, out: Any = None):
        self.inp, self.out = inp or sys.stdin, out or sys.stdout

    def prompt(self, message: str, default: str = "", completions: Any = None, secret: bool = False,
               main: bool = False) -> str:
        shown = visible(f"{message.rstrip('> ')} [{default}]> " if default else message)
        if secret and getattr(self.inp, "isatty", lambda: False)():
            import getpass

            return getpass.getpass(shown)
        self.out.write(shown)
        self.out.flush()
        line = self.inp.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n") or default


class PtkUI:
    """prompt_toolkit input: completion and history (see attach), Ctrl-C clears a line or (on an
    empty line) raises KeyboardInterrupt, a one-line toolbar with the model."""

    def __init__(self, toolbar: Any = None):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        keys = KeyBindings()

        @keys.add("c-c")
        def _clear_or_interrupt(event: Any) -> None:
            buf = event.app.current_buffer
            if buf.text:
                buf.reset()
            else:
                event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        # One session for every question: each PromptSession builds a whole application with all
        # key bindings (about 1 MB); dialog answers go to a scratch history, not the prompt's.
        self.session = PromptSession(key_bindings=keys)
        self.slash, self.toolbar = None, toolbar  # attach() sets the completer
        self.scratch = InMemoryHistory()

    def attach(self, history: Any, completer: Any) -> None:
        """The main prompt's history (history.jsonl) and completer (commands, prompts, @ paths)."""
        self.session.history = self.session.default_buffer.history = history
        self.slash = completer

    def prompt(self, message: str, default: str = "", completions: Any = None, secret: bool = False,
               main: bool = False) -> str:
        if main:
            return self.session.prompt(message, default="", is_password=False, completer=self.slash,
                                       complete_while_typing=True, bottom_toolbar=self.toolbar)
        completer = None
        if completions:  # names from a server (models): shown visible, inserted as they are
            from prompt_toolkit.completion import WordCompleter

            words = list(completions)
            completer = WordCompleter(words, sentence=True, display_dict={w: visible(w) for w in words})
        buffer = self.session.default_buffer
        history, buffer.history = buffer.history, self.scratch
        try:
            return self.session.prompt(visible(message), default=default, is_password=secret,
                                       completer=completer,
                                       complete_while_typing=bool(completer), bottom_toolbar=None)
        finally:
            buffer.history = history


# The main prompt's memory and completion: prompts of earlier sessions for Up/Down and Ctrl-R
# (history.jsonl is appended by Repl.remember, redacted, for plain input too; this reads it once),
# `/` commands and custom prompts, `@` paths (inserted as plain text, quoted when they hold a
# space; nothing is attached).


def prompt_history_of(codex_home: str | None) -> Any:
    """history.jsonl's prompts, or only this session's when `codex_home` is None (persistence none)."""
    from prompt_toolkit.history import History, InMemoryHistory

    from codex_lite import prompt_history

    if codex_home is None:
        return InMemoryHistory()

    class JsonlHistory(History):
        def load_history_strings(self):
            return reversed(prompt_history.entries(codex_home))  # newest first

        def store_string(self, string: str) -> None:
            pass  # Repl.remember appends

    return JsonlHistory()


def prompt_completer(prompts: Any, paths: Any) -> Any:
    """`prompts()`: {name: custom_prompts.CustomPrompt}; `paths`: a path_scan.PathCache."""
    from prompt_toolkit.completion import Completer, Completion

    from codex_lite import custom_prompts, path_scan
    from codex_lite.repl.commands import COMMANDS

    class PromptCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any):
            text = document.text_before_cursor
            if text.startswith("/") and " " not in text:
                for name, command in COMMANDS.items():
                    if name.startswith(text):
                        yield Completion(name, start_position=-len(text), display_meta=command.help)
                for name, prompt in prompts().items():
                    shown = next((s for s in ("/" + name, f"/{custom_prompts.PREFIX}{name}")
                                  if s.startswith(text)), None)
                    if shown:
                        hint = f" {prompt.argument_hint}" if prompt.argument_hint else ""
                        yield Completion(shown, start_position=-len(text), display=visible(shown + hint),
                                         display_meta=visible(custom_prompts.excerpt(prompt)))
                return
            word = text.split(" ")[-1]
            if word.startswith("@"):
                for path in path_scan.fuzzy(word[1:], paths.get()):
                    yield Completion(f'"{path}"' if " " in path else path, start_position=-len(word),
                                     display=visible(path))

    return PromptCompleter()


def make_ui(renderer: Renderer, toolbar: Any = None) -> Any:
    """prompt_toolkit on a terminal when installed; plain input otherwise (saying once why)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return PlainUI()
    install_lazy_wcwidth()
    try:
        return PtkUI(toolbar)
    except ImportError:
        renderer.line(PLAIN_NOTICE, "dim")
        return PlainUI()


NARROW = frozenset("›•✓✗│·■↻▸□✔…─")


def install_lazy_wcwidth() -> None:
    """prompt_toolkit imports wcwidth at start-up only to measure characters, and wcwidth 0.9's
    tables cost ~6 MB of RSS (bench/repl_rss.py), a twentieth of a router's RAM. Printable ASCII
    (nearly everything typed over SSH) and our own symbols are one column wide, so a stand-in
    answers those and loads the real module on the first other character."""
    if "wcwidth" in sys.modules:
        return
    import types

    stub = types.ModuleType("wcwidth")
    stub.__dict__.update(
        __lazy_stub__=True,
        wcwidth=lambda char, *a: 1 if (" " <= char <= "~" or char in NARROW) and len(char) == 1
        else real_wcwidth().wcwidth(char, *a),
        wcswidth=lambda text, *a: real_wcwidth().wcswidth(text, *a),
        __getattr__=_stub_getattr,
    )
    sys.modules["wcwidth"] = stub


def _stub_getattr(name: str) -> Any:
    if name.startswith("__"):  # the import machinery probing (__path__, ...): not a reason to load
        raise AttributeError(name)
    return getattr(real_wcwidth(), name)


def real_wcwidth() -> Any:
    """The real wcwidth module, imported on first need (replacing the stand-in)."""
    mod = sys.modules.get("wcwidth")
    if mod is not None and not getattr(mod, "__lazy_stub__", False):
        return mod
    sys.modules.pop("wcwidth", None)
    import importlib

    return importlib.import_module("wcwidth")
