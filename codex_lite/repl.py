"""The interactive REPL: `codex-lite` and `codex-lite resume [--last | ID]`.

    main(args) -> int     args from cli.build_parser(): command None (new session, optional
                          args.prompt) or "resume" (args.session_id, args.last, args.prompt)

Why it looks like this: the agent, the screen (render.Renderer), the session file and telemetry
are listeners on one event stream, so this module only reads lines, dispatches slash commands and
answers approval questions. Input comes from prompt_toolkit when it is installed and stdin is a
terminal, else from plain line input (a minimal router), with the same commands and dialogs.
prompt_toolkit is imported here, inside functions, and nowhere on the `exec` path.
Ctrl-C stops the running request or command (the agent closes dangling calls, the shell runner
kills the process group) and comes back to the prompt; Ctrl-C twice on an empty prompt, Ctrl-D,
/quit or /exit leave. A hang-up (dropped SSH) or SIGTERM exits the same careful way.
"""

from __future__ import annotations

import difflib
import os
import sys
from typing import Any

from codex_lite import events as ev
from codex_lite import onboarding, rollout
from codex_lite.approvals import Approvals, Choice, command_text
from codex_lite.render import Renderer, fold_blank_lines
from codex_lite.tools import children
from codex_lite.visible import visible

COMMANDS = {
    "/model": "choose the model and reasoning effort",
    "/status": "model, tokens, retries, memory",
    "/approvals": "when to ask before commands and patches",
    "/new": "start a new session",
    "/diff": "git diff, untracked files included",
    "/compact": "summarise the conversation to free context",
    "/init": "write an AGENTS.md for this project",
    "/help": "list the commands",
    "/quit": "leave",
    "/exit": "leave",
}
COMPACT_PROMPT = (
    "Summarise our conversation so far for yourself, to continue the work with a small context: the "
    "task, decisions taken, files changed and why, commands that matter and their results, and what "
    "is left to do. Be concise and concrete; no preamble.")
INIT_PROMPT = (
    "Generate a file named AGENTS.md that serves as a contributor guide for this repository. Look at "
    "the project first (layout, build and test commands, code style, commit conventions), then write "
    "a concise, well-structured guide titled 'Repository Guidelines' (200-400 words) with sections "
    "such as Project Structure, Build and Test Commands, Coding Style, Testing, Commit and Pull "
    "Request Guidelines. Create it with apply_patch.")
PLAIN_NOTICE = ("prompt_toolkit is not installed: plain line input (no completion, no history). "
                "Install prompt-toolkit for the full REPL.")


# -- line input -----------------------------------------------------------------------------------


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
    """prompt_toolkit input: slash-command completion, history, Ctrl-C clears a line or (on an
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
        self.slash, self.toolbar = _slash_completer(), toolbar
        self.scratch = InMemoryHistory()

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


def _slash_completer() -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class SlashCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any):
            text = document.text_before_cursor
            if not text.startswith("/") or " " in text:
                return
            for name, meta in COMMANDS.items():
                if name.startswith(text):
                    yield Completion(name, start_position=-len(text), display_meta=meta)

    return SlashCompleter()


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


# -- the REPL -------------------------------------------------------------------------------------


class Stats:
    """Session counters for /status, fed by the event stream."""

    def __init__(self, usage: dict[str, int] | None = None):
        self.tokens = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                       "reasoning_tokens": 0, **(usage or {})}
        self.last_context = 0
        self.retries = 0
        self.retried_turns = 0
        self.recovered = 0
        self.turn_ended = True

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Usage):
            for name in self.tokens:
                self.tokens[name] += getattr(event, name)
            self.last_context = event.input_tokens + event.output_tokens
        elif isinstance(event, ev.Retry):
            self.retries += 1
        elif isinstance(event, ev.RetryOutcome):
            self.retried_turns += 1
            self.recovered += int(event.recovered)
        elif isinstance(event, ev.TurnStarted):
            self.turn_ended = False
        elif isinstance(event, (ev.TurnFailed, ev.TurnCompleted)):
            self.turn_ended = True


class Repl:
    def __init__(self, config: Any, cwd: str, ui: Any, renderer: Renderer, telemetry: bool | None = None):
        self.config, self.cwd, self.ui, self.r = config, cwd, ui, renderer
        self.telemetry_flag = telemetry
        self.approvals = Approvals(config.approval_policy, config.sandbox_mode, self.ask_approval)
        self.session: Any = None
        self.stats = Stats()

    # -- session lifecycle ------------------------------------------------------------------------

    def open(self, saved: rollout.SavedSession | None = None, path: str | None = None,
             selection: onboarding.Selection | None = None) -> None:
        """A session with a fresh event bus (old listeners, closed with the old session, stay out)."""
        from codex_lite.session import open_session

        self.stats = Stats(saved.usage if saved else None)
        bus = ev.Bus(self.r, self.stats, self.approvals.listen)
        self.session, note = open_session(self.config, self.cwd, bus, approver=self.approvals,
                                          resume=saved, resume_path=path,
                                          telemetry_enabled=self.telemetry_flag)
        self.banner(note)
        if saved is not None:
            self.replay(saved)
        if selection is not None:
            self.model_selected(selection.model, selection.reasoning_effort, selection.source)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def banner(self, note: str | None) -> None:
        from codex_lite import __version__

        agent = self.session.agent
        effort = f" ({agent.reasoning_effort})" if agent.reasoning_effort else ""
        self.r.line(f"codex-lite {__version__}", "bold")
        self.r.line(f"model {agent.model}{effort}", "dim")
        self.r.line(f"in {_short_path(self.session.cwd)}", "dim")
        self.r.line("/help for commands, Ctrl-C stops, Ctrl-D quits", "dim")
        if note:
            self.r.line(note, "yellow")

    def replay(self, saved: rollout.SavedSession) -> None:
        self.r.line(f"resumed session {saved.session_id}", "dim")
        self.r.line(rollout.workspace_note(saved, self.session.cwd), "yellow")
        self.r.replaying = True
        try:
            for event in saved.events:
                self.r(event)
        finally:
            self.r.replaying = False
        self.r.line("-" * min(self.r.width, 40), "dim")

    def model_selected(self, model: str, effort: str | None, source: str) -> None:
        cls = getattr(ev, "ModelSelection", None)
        if cls is not None:
            self.session.bus(cls(action="selected", model=model, reasoning_effort=effort, source=source))

    # -- the loop ---------------------------------------------------------------------------------

    def toolbar(self) -> str:
        agent = self.session.agent if self.session else None
        if agent is None:
            return ""
        effort = f" ({agent.reasoning_effort})" if agent.reasoning_effort else ""
        return visible(f" {agent.model}{effort} | {self.approvals.policy} | /help")

    def loop(self, first_prompt: str | None = None) -> int:
        if first_prompt:
            self.turn(first_prompt)
        interrupts = 0
        while True:
            try:
                text = self.ui.prompt(self.r.mark("> ", "› "), main=True)
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts >= 2:
                    return 0
                self.r.line("(Ctrl-C again or Ctrl-D to quit)", "dim")
                continue
            except EOFError:
                return 0
            interrupts = 0
            text = text.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith("//"):
                if self.command(text) == "quit":
                    return 0
            else:
                self.turn(text)

    def turn(self, prompt: str) -> None:
        try:
            self.session.agent.run(prompt)
            self.context_warning()
        except KeyboardInterrupt:
            if not self.stats.turn_ended:  # e.g. Ctrl-C during the wait before a fallback retry
                self.session.bus(ev.TurnFailed(message="interrupted"))
        except Exception as exc:  # noqa: BLE001 - a bug in one turn must not end the session
            self.r.line(f"error: {type(exc).__name__}: {exc}", "red")
            # calls left unanswered would make every later request invalid
            self.session.agent._close_dangling_calls(f"failed: {type(exc).__name__}")

    def context_warning(self) -> None:
        """Small models have small windows: say so before the next request overflows."""
        window = self.config.model_context_window
        if window and self.stats.last_context > 0.85 * window:
            left = max(0, window - self.stats.last_context)
            self.r.line(f"context nearly full ({left} of {window} tokens left): /compact summarises "
                        "the conversation", "yellow")

    def command(self, text: str) -> str | None:
        name, _, rest = text.partition(" ")
        if name not in COMMANDS:
            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]}?" if close else ""
            self.r.line(f"Unknown command {name}.{hint} /help lists the commands.", "yellow")
            return None
        if name in ("/quit", "/exit"):
            return "quit"
        handler = getattr(self, "cmd_" + name[1:])
        try:
            handler(rest.strip())
        except KeyboardInterrupt:
            self.r.line("cancelled", "dim")
        except EOFError:
            return "quit"
        return None

    # -- slash commands ---------------------------------------------------------------------------

    def cmd_help(self, _: str) -> None:
        for name, meta in COMMANDS.items():
            self.r.line(f"{name:<10} {meta}", indent="")

    def cmd_status(self, _: str) -> None:
        for label, value in self.status_rows():
            self._row(label, value)

    def _row(self, label: str, value: str) -> None:
        import textwrap

        width = max(20, self.r.width)
        lead = f"{label:<10} "
        lines = textwrap.wrap(visible(value), width - len(lead), break_on_hyphens=False,
                              break_long_words=True) or [""]
        self.r.out.write(self.r.style(lead, "dim") + lines[0] + "\n")
        for more in lines[1:]:
            self.r.out.write(" " * len(lead) + more + "\n")
        self.r.out.flush()

    def status_rows(self) -> list[tuple[str, str]]:
        s, agent, t = self.session, self.session.agent, self.stats.tokens
        return [
            ("model", agent.model),
            ("provider", s.client.provider.base_url),
            ("reasoning", agent.reasoning_effort or "default"),
            ("approvals", self.approvals.policy),
            ("sandbox", self.approvals.sandbox_mode),
            ("workdir", s.cwd),
            ("AGENTS.md", ", ".join(s.agents_files) or "none"),
            ("session", s.id),
            ("tokens", (f"in {t['input_tokens']} (cached {t['cached_input_tokens']}), out "
                       f"{t['output_tokens']} (reasoning {t['reasoning_tokens']})")),
            ("context", self.context_text()),
            ("retries", (f"{self.stats.retries}; turns retried {self.stats.retried_turns}, "
                        f"recovered {self.stats.recovered}")),
            ("telemetry", telemetry_text(s)),
            ("memory", f"agent {_mb(own_rss_bytes())} RSS, device {_mb(_mem_available())} free"),
        ]

    def context_text(self) -> str:
        window = self.config.model_context_window
        if not window:
            return f"last request {self.stats.last_context} tokens (window unknown: set model_context_window)"
        left = max(0, window - self.stats.last_context)
        return f"{left} of {window} tokens left ({100 * left // window}%)"

    def cmd_model(self, _: str) -> None:
        from codex_lite.client import ModelError

        agent = self.session.agent
        try:
            names = self.session.client.list_models()
        except ModelError as exc:
            self.r.line(onboarding.explain(exc, self.session.client.provider.base_url), "red")
            names = []
        sel = onboarding.pick_and_test(self.ui, self.r, self.session.client, names, agent.model,
                                       agent.reasoning_effort, "/model")
        if sel is None:
            self.r.line(f"kept {agent.model}", "dim")
            return
        agent.model, agent.reasoning_effort = sel.model, sel.reasoning_effort
        self.model_selected(sel.model, sel.reasoning_effort, "/model")
        try:
            onboarding.write_config(self.config.path, {"model": sel.model,
                                                       "model_reasoning_effort": sel.reasoning_effort})
            self.r.line(f"using {sel.model} ({sel.reasoning_effort}); saved to {self.config.path}", "green")
        except (OSError, onboarding.ConfigWriteError) as exc:
            self.r.line(f"using {sel.model} for this session; not saved: {exc}", "yellow")

    def cmd_approvals(self, _: str) -> None:
        from codex_lite.approvals import POLICIES
        from codex_lite.config import SANDBOX_MODES

        notes = {"untrusted": "ask unless read-only", "on-request": "ask for commands that may write",
                 "on-failure": "ask to retry failed commands", "never": "never ask"}
        policy = onboarding.choose(self.ui, self.r, "Approval policy:", [(p, notes[p]) for p in POLICIES],
                                   self.approvals.policy)
        sandbox = onboarding.choose(self.ui, self.r, "Where may patches write?",
                                    [(m, "") for m in SANDBOX_MODES], self.approvals.sandbox_mode)
        self.approvals.policy, self.approvals.sandbox_mode = policy, sandbox
        self.session.agent.tools.sandbox_mode = sandbox
        self.r.line(f"approvals {policy}, sandbox {sandbox} (this session; config.toml sets the default)",
                    "green")

    def cmd_new(self, _: str) -> None:
        self.close()
        self.approvals.remembered.clear()
        self.open()

    def cmd_diff(self, _: str) -> None:
        try:
            text = git_diff(self.session.cwd, self.session.agent.tools.shell.env)
        except DiffDeclined as exc:
            self.r.line(str(exc), "yellow")
            return
        if text is None:
            self.r.line("not a git repository (or git is not installed)", "yellow")
        elif not text.strip():
            self.r.line("no changes", "dim")
        else:
            self.r.diff(text, headers=True)

    def cmd_compact(self, _: str) -> None:
        from codex_lite.answer import parse_answer
        from codex_lite.client import ModelError

        agent = self.session.agent
        self.r.line("compacting the conversation...", "dim")
        try:
            request = agent.history + [{"role": "user", "content": COMPACT_PROMPT}]
            raw = agent.client.chat(agent.model, request, None, agent.reasoning_effort)
        except ModelError as exc:
            self.r.line(f"compact failed: {exc}", "red")
            return
        answer = parse_answer(raw)
        agent.emit(answer.usage)
        summary = answer.text.strip()
        if not summary:
            self.r.line("compact failed: the model gave no summary; nothing changed", "red")
            return
        keep = 1 if agent.history and agent.history[0].get("role") == "system" else 0
        before = len(agent.history)
        agent.rewind(keep)
        agent.append({"role": "user", "content": "Summary of the conversation so far (earlier messages "
                                                 "were compacted):\n\n" + summary})
        self.r.markdown(summary)
        self.r.line(f"compacted {before} messages into a summary", "green")

    def cmd_init(self, _: str) -> None:
        if os.path.exists(os.path.join(self.session.cwd, "AGENTS.md")):
            self.r.line("AGENTS.md already exists here; edit it, or delete it and run /init again", "yellow")
            return
        self.turn(INIT_PROMPT)

    # -- approvals --------------------------------------------------------------------------------

    def ask_approval(self, request: Any, always_label: str) -> Choice:
        """The approval dialog. Ctrl-C (or Ctrl-D) here cancels the whole turn."""
        try:
            return self._approval_dialog(request, always_label)
        except EOFError:
            raise KeyboardInterrupt from None

    def _approval_dialog(self, request: Any, always_label: str) -> Choice:
        r = self.r
        if request.kind == "patch":
            r.line("Apply this patch?", "bold")
            r.diff(request.diff, whole=True)
            if request.reason:
                r.line(request.reason, "yellow")
        elif request.kind == "retry":
            r.line(f"The command failed ({request.diff}). Run it again?", "bold")
            r.line("$ " + fold_blank_lines(command_text(request.command)), "bold")
        else:
            r.line("Allow this command?", "bold")
            r.line("$ " + fold_blank_lines(command_text(request.command)), "bold")
            r.line(f"in {_short_path(request.cwd)}", "dim")
            note = non_ascii_note(" ".join(request.command))
            if note:
                r.line(note, "yellow")
        options = {"y": "yes", "n": "no, tell it what to do instead"}
        if always_label:
            options = {"y": "yes", "a": f"yes, and don't ask again for {always_label} this session",
                       "n": options["n"]}
        for key, text in options.items():
            r.line(f"{key}  {text}", indent="  ")
        while True:
            answer = self.ui.prompt(f"[{'/'.join(options)}]> ").strip().lower()[:1]
            if answer in options:
                break
        if answer == "n":
            feedback = self.ui.prompt("what should it do instead? (Enter: just decline)> ").strip()
            return Choice("no", feedback or None)
        return Choice("always" if answer == "a" else "yes")


# -- helpers --------------------------------------------------------------------------------------


def non_ascii_note(text: str, most: int = 6) -> str:
    """Names the non-ASCII characters of a command: `scripts/lѕ` (a Cyrillic dze) is drawn like
    `scripts/ls`, and an approval must not hinge on a glyph."""
    found = list(dict.fromkeys(c for c in text if ord(c) > 0x7f))
    if not found:
        return ""
    named = ", ".join(f"U+{ord(c):04X} {visible(c)!r}" for c in found[:most])
    more = f" and {len(found) - most} more" if len(found) > most else ""
    return f"note: the command holds non-ASCII characters: {named}{more}"


# The repository's config is the model's to write (a patch can change .git/config), so /diff runs
# git like a read-only command (read_only.hardened_env: no fsmonitor, hooks, pager, gpg, ...),
# without external diff or textconv drivers, and not at all when the config (the repository's or
# a submodule's) names a filter or driver git would run on a changed file.
GIT = ["git", "--no-pager"]
DIFF = [*GIT, "diff", "--no-color", "--no-ext-diff", "--no-textconv"]


class DiffDeclined(Exception):
    """/diff will not run git in this repository; the message says why."""


def git_diff(cwd: str, env: dict[str, str] | None = None) -> str | None:
    """`git diff` of tracked files plus untracked files as additions; None outside a repository.
    Read through the shell runner's bounded buffer, so a huge diff cannot fill a router's memory.
    `env`: the session's environment for commands (None = ours). Raises DiffDeclined when git's
    config would make the diff run a program (a clean filter runs on every changed file)."""
    from codex_lite.read_only import hardened_env
    from codex_lite.read_only_git import config_runs_programs
    from codex_lite.tools.shell import ShellSettings, run_command

    settings = ShellSettings(timeout_ms=30_000, max_output_bytes=512 * 1024, nice=0, env=hardened_env(env))
    try:
        probe = run_command([*GIT, "rev-parse", "--is-inside-work-tree"], cwd, settings)
    except OSError:
        return None
    if probe.exit_code != 0:
        return None
    if config_runs_programs("git", cwd, env, diff_drivers=False):
        raise DiffDeclined("not shown: this repository's git config (or a submodule's) names a program git "
                           "would run to compare files (a filter, such as git-lfs's); run git diff "
                           "yourself if you trust it")
    parts = [run_command([*DIFF, "HEAD"], cwd, settings).output]
    if parts[0].startswith("fatal:"):  # no commit yet
        parts = [run_command(DIFF, cwd, settings).output]
    untracked = run_command([*GIT, "ls-files", "--others", "--exclude-standard"], cwd, settings).output
    for path in [p for p in untracked.splitlines() if p.strip()][:100]:
        parts.append(run_command([*DIFF, "--no-index", "--", os.devnull, path], cwd, settings).output)
    return "".join(p if p.endswith("\n") or not p else p + "\n" for p in parts)


def telemetry_text(session: Any) -> str:
    """Telemetry on/off, where, and its all-time retry record; defensive (getattr, broad except)
    because the telemetry module grows on its own schedule and /status must never fail."""
    tele = session.telemetry
    if tele is None:
        return "off"
    try:
        info = tele.status() if callable(getattr(tele, "status", None)) else {}
    except Exception:  # noqa: BLE001
        info = {}
    if isinstance(info, dict) and info.get("enabled") is False:
        return "off (stopped after an error; see the warning above)"
    where = info.get("dir") if isinstance(info, dict) else None
    return "on" + (f", {where}" if where else "") + _all_time_retries(session.config)


def _all_time_retries(config: Any) -> str:
    from codex_lite import telemetry

    summary = getattr(telemetry, "summary", None)
    try:
        data = summary(config) if callable(summary) else None
    except Exception:  # noqa: BLE001
        return ""
    if not isinstance(data, dict) or not data.get("retry_attempts"):
        return ""
    rate = data.get("recovery_rate")
    rate_text = f", recovery {rate:.0%}" if isinstance(rate, (int, float)) else ""
    return f"; all time {data['retry_attempts']} retries{rate_text}"


def own_rss_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001, S110 - not installed, or not allowed on Android: use /proc
        pass
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _mem_available() -> int | None:
    from codex_lite.platform_info import mem_available_bytes

    return mem_available_bytes()


def _mb(value: int | None) -> str:
    return "?" if value is None else f"{value / (1024 * 1024):.0f} MB"


def _short_path(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home) else path


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


def main(args: Any, ui: Any = None, out: Any = None) -> int:
    """The REPL's entry point; `ui` and `out` are for tests (pipe input, a StringIO)."""
    from codex_lite import config as cfg
    from codex_lite.client import ModelError

    renderer = Renderer(out)
    holder: dict[str, Repl] = {}
    ui = ui or make_ui(renderer, lambda: holder["repl"].toolbar() if "repl" in holder else "")
    if out is None:  # SIGHUP (the SSH connection dropped) or SIGTERM: kill the running command,
        children.install_exit_handlers()  # unwind (the session file is closed), exit 129 / 143
    config = cfg.load(getattr(args, "config_overrides", None) or [], args.profile, args.model)
    cwd = os.path.abspath(args.cd or os.getcwd())
    first_prompt = getattr(args, "prompt", None)
    saved, path, selection = None, None, None
    try:
        if args.command == "resume":
            if args.last and args.session_id and not first_prompt:  # `resume --last "prompt"`
                first_prompt, args.session_id = args.session_id, None
            path = pick_session(config, args, ui, renderer)
            if path is None:
                renderer.line(str(rollout.SessionNotFound(config.codex_home, args.session_id)), "red")
                return 1
            saved = rollout.load(path)  # its cwd is only shown: the workspace stays `cwd`
            if saved.note:
                renderer.line("note: " + saved.note, "yellow")
        elif onboarding.needed(config):
            try:
                selection = onboarding.run(ui, renderer, config)
            except EOFError:  # stdin closed or piped: the questions cannot be answered
                renderer.line()  # the cursor is still after the unanswered question
                renderer.line("end of input: nothing was saved (answer in a terminal, or set "
                              "LITELLM_BASE_URL)", "yellow")
                return 1
            if selection is None:
                return 1
            config = cfg.load(getattr(args, "config_overrides", None) or [], args.profile, args.model)
        repl = holder["repl"] = Repl(config, cwd, ui, renderer, getattr(args, "telemetry", None))
        repl.open(saved, path, selection)
    except (EOFError, KeyboardInterrupt):
        renderer.line("bye", "dim")
        return 1
    except (ModelError, onboarding.ConfigWriteError, OSError) as exc:
        renderer.line(f"codex-lite: {exc}", "red")
        return 1
    try:
        return repl.loop(first_prompt)
    finally:
        repl.close()
