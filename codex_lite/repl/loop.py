"""The REPL's loop and session lifecycle: `codex-lite` and `codex-lite resume [--last | ID]`.

    main(args, ui=None, out=None) -> int    args from cli.build_parser(): command None (new session,
                                            optional args.prompt) or "resume" (args.session_id,
                                            args.last, args.prompt); ui/out for tests
    Repl(config, cwd, ui, renderer, telemetry=None)
        .open(saved=None, path=None, selection=None) / .close()   a session (and its bus)
        .loop(first_prompt=None) -> int                           read lines until the user leaves
        .turn(prompt)                                             one agent turn, never raising

Why it looks like this: the agent, the screen (render.Renderer), the session file and telemetry
are listeners on one event stream, so the loop only reads lines, hands slash commands to
commands.py and lets the agent run turns. Ctrl-C stops the running request or command (the agent
closes dangling calls, the shell runner kills the process group) and comes back to the prompt;
Ctrl-C twice on an empty prompt, Ctrl-D, /quit or /exit leave. A hang-up (dropped SSH) or SIGTERM
exits the same careful way.
"""

from __future__ import annotations

import os
from typing import Any

from codex_lite import events as ev
from codex_lite import custom_prompts, onboarding, prompt_history, rollout
from codex_lite.approvals import Approvals
from codex_lite.render import Renderer
from codex_lite.repl import commands
from codex_lite.repl.dialogs import ApprovalDialog, pick_session
from codex_lite.repl.status import Stats, short_path
from codex_lite.repl.terminal import PtkUI, make_ui, prompt_completer, prompt_history_of
from codex_lite.tools import children
from codex_lite.security.visible import visible


class Repl:
    def __init__(self, config: Any, cwd: str, ui: Any, renderer: Renderer, telemetry: bool | None = None):
        self.config, self.cwd, self.ui, self.r = config, cwd, ui, renderer
        self.telemetry_flag = telemetry
        self.approvals = Approvals(config.approval_policy, ApprovalDialog(ui, renderer))
        self.session: Any = None
        self.stats = Stats()
        self.prompts = custom_prompts.discover(config.codex_home, reserved={c[1:] for c in commands.COMMANDS})
        self.save_history, self.history_bytes = prompt_history.settings(config)
        if isinstance(ui, PtkUI):
            from codex_lite import path_scan

            ui.attach(prompt_history_of(config.codex_home if self.save_history else None),
                      prompt_completer(lambda: self.prompts, path_scan.PathCache(cwd)))

    # -- session lifecycle ------------------------------------------------------------------------

    def open(self, saved: rollout.SavedSession | None = None, path: str | None = None,
             selection: onboarding.Selection | None = None) -> None:
        """A session with a fresh event bus (old listeners, closed with the old session, stay out)."""
        from codex_lite.session import open_session

        self.stats = Stats(saved.usage if saved else None)
        bus = ev.Bus(self.r, self.stats)
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
        self.r.line(f"in {short_path(self.session.cwd)}", "dim")
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
        self.session.bus(ev.ModelSelection(action="selected", model=model, reasoning_effort=effort,
                                           source=source))

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
            self.remember(text)
            if text.startswith("/") and not text.startswith("//"):
                if commands.dispatch(self, text) == commands.QUIT:
                    return 0
            else:
                self.turn(text)

    def remember(self, text: str) -> None:
        """Add a line to $CODEX_HOME/history.jsonl ([history]), secrets redacted; a failure is
        said once and history is off for the rest of the session."""
        if not self.save_history:
            return
        try:
            prompt_history.append(self.config.codex_home, self.session.id, text, self.history_bytes,
                                  self.session.client.redactor.text)
        except OSError as exc:
            self.save_history = False
            self.r.line(f"prompt history not saved: {exc.strerror or exc}", "yellow")

    def turn(self, prompt: str) -> None:
        try:
            self.session.agent.run(prompt)
        except KeyboardInterrupt:
            if not self.stats.turn_ended:  # e.g. Ctrl-C during the wait before a fallback retry
                self.session.bus(ev.TurnFailed(message="interrupted"))
        except Exception as exc:  # noqa: BLE001 - a bug in one turn must not end the session
            self.r.line(f"error: {type(exc).__name__}: {exc}", "red")
            # calls left unanswered would make every later request invalid
            self.session.agent.close_dangling_calls(f"failed: {type(exc).__name__}")


def main(args: Any, ui: Any = None, out: Any = None) -> int:
    """The REPL's entry point; `ui` and `out` are for tests (pipe input, a StringIO). Errors a user
    can fix (errors.UserError) propagate to cli.main, which says them and exits 1."""
    from codex_lite import config as cfg
    from codex_lite import errors
    from codex_lite.client import ModelError

    renderer = Renderer(out)
    holder: dict[str, Repl] = {}
    ui = ui or make_ui(renderer, lambda: holder["repl"].toolbar() if "repl" in holder else "")
    if out is None:  # SIGHUP (the SSH connection dropped) or SIGTERM: kill the running command,
        children.install_exit_handlers()  # unwind (the session file is closed), exit 129 / 143
    config = cfg.load(args.config_overrides, args.profile, args.model)
    from codex_lite import policy_flags

    policy_flags.apply(config, args)
    cwd = os.path.abspath(args.cd or os.getcwd())
    first_prompt = args.prompt
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
            config = cfg.load(args.config_overrides, args.profile, args.model)
            policy_flags.apply(config, args)
        repl = holder["repl"] = Repl(config, cwd, ui, renderer, args.telemetry)
        repl.open(saved, path, selection)
    except (EOFError, KeyboardInterrupt):  # a question left unanswered: nothing started, exit 1
        renderer.line("bye", "dim")
        return errors.EXIT_FAIL
    except (ModelError, onboarding.ConfigWriteError, OSError) as exc:
        renderer.line(f"codex-lite: {errors.describe(exc)}", "red")
        return errors.exit_code(exc)
    try:
        return repl.loop(first_prompt)
    finally:
        repl.close()
