"""`codex-lite exec`: one task, no questions asked, human or JSONL output, exit code 0 or 1 (130,
143 or 129 when interrupted, terminated or hung up).

Both printers are listeners on the agent's event stream (which redacts secrets before they see an
event). The JSONL schema is the one of `codex exec --json` (see README.md): scripts rely on it, so
keep it stable. The human printer draws text only through `visible()`, so control characters in a
command, its output or the model's text cannot act on the terminal; JSON lines stay exact JSON with
those characters escaped (`visible.json_text`).
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from codex_lite import events as ev
from codex_lite.context import find_repo_root
from codex_lite.render import change_letter, first_lines, paint, plan_mark, use_color
from codex_lite.tools import children
from codex_lite.security.visible import json_text, visible


class JsonlPrinter:
    """Codex's `exec --json` events, one object per line, flushed as they happen."""

    def __init__(self, out: IO[str]):
        self.out = out
        self.next_id = 0
        self.open_items: dict[str, dict[str, Any]] = {}  # call_id -> item still in progress
        self.todo: dict[str, Any] | None = None

    def write(self, obj: dict[str, Any]) -> None:
        self.out.write(json_text(json.dumps(obj, ensure_ascii=False)) + "\n")
        self.out.flush()

    def item(self, kind: str, started: bool = False, **fields: Any) -> dict[str, Any]:
        item = {"id": f"item_{self.next_id}", "type": kind, **fields}
        self.next_id += 1
        self.write({"type": "item.started" if started else "item.completed", "item": item})
        return item

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "on_" + event.kind, None)
        if handler:
            handler(event)

    def on_turn_started(self, e: ev.TurnStarted) -> None:
        self.write({"type": "turn.started"})

    def on_reasoning(self, e: ev.Reasoning) -> None:
        self.item("reasoning", text=e.text)

    def on_agent_message(self, e: ev.AgentMessage) -> None:
        self.item("agent_message", text=e.text)

    def on_tool_call(self, e: ev.ToolCall) -> None:
        if e.error:
            self.item("error", message=f"the model sent an unusable {e.name or 'tool'} call: {e.error}")

    def on_command_started(self, e: ev.CommandStarted) -> None:
        self.open_items[e.call_id] = self.item("command_execution", started=True, command=e.command,
                                               aggregated_output="", exit_code=None, status="in_progress")

    def on_tool_result(self, e: ev.ToolResult) -> None:
        if e.name != "shell" or "command" not in e.metadata:
            return
        item = self.open_items.pop(e.call_id, None)
        fields = {"command": e.metadata["command"], "aggregated_output": e.metadata.get("aggregated_output",
                                                                                         e.output),
                  "exit_code": e.metadata.get("exit_code"), "status": "completed" if e.ok else "failed"}
        if item is None:
            self.item("command_execution", **fields)
        else:
            item.update(fields)
            self.write({"type": "item.completed", "item": item})

    def on_file_change(self, e: ev.FileChange) -> None:
        self.item("file_change", changes=e.changes, status=e.status)

    def on_plan_update(self, e: ev.PlanUpdate) -> None:
        items = [{"text": s["step"], "completed": s["status"] == "completed"} for s in e.plan]
        if self.todo is None:
            self.todo = self.item("todo_list", started=True, items=items)
        else:
            self.todo["items"] = items
            self.write({"type": "item.updated", "item": self.todo})

    def on_retry(self, e: ev.Retry) -> None:
        self.item("error", message=e.summary(width=400))

    def on_context_compacted(self, e: ev.ContextCompacted) -> None:
        self.item("context_compaction", text=e.summary(), reason=e.reason, tokens_before=e.tokens_before,
                  tokens_after=e.tokens_after, messages=e.messages)

    def _close_todo(self) -> None:
        if self.todo is not None:
            self.write({"type": "item.completed", "item": self.todo})
            self.todo = None

    def on_turn_completed(self, e: ev.TurnCompleted) -> None:
        self._close_todo()
        self.write({"type": "turn.completed", "usage": {"input_tokens": e.input_tokens,
                                                        "cached_input_tokens": e.cached_input_tokens,
                                                        "output_tokens": e.output_tokens}})

    def on_turn_failed(self, e: ev.TurnFailed) -> None:
        self._close_todo()
        self.item("error", message=e.message)
        self.write({"type": "turn.failed", "error": {"message": e.message}})


class HumanPrinter:
    """Progress on stderr (dim when it is a terminal), the final answer alone on stdout. A log, not
    a screen: no wrapping and no Unicode marks, but the REPL's words (render's helpers)."""

    def __init__(self, err: IO[str], color: str = "auto"):
        self.err = err
        self.color = color == "always" or (color == "auto" and use_color(err))

    def say(self, text: str, style: str = "") -> None:
        self.err.write(paint(text, style, self.color) + "\n")
        self.err.flush()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Reasoning):
            self.say("thinking: " + first_lines(event.text, 3), "italic")
        elif isinstance(event, ev.AgentMessage) and not event.final:  # the answer goes to stdout
            self.say(event.text)
        elif isinstance(event, ev.CommandStarted):
            self.say(f"$ {event.command}", "bold")
        elif isinstance(event, ev.ToolResult) and event.name == "shell":
            code = event.metadata.get("exit_code")
            took = event.metadata.get("duration_seconds")
            status = f"exit {code}" + (f" in {took:.2f}s" if isinstance(took, float) else "")
            self.say(_indent(first_lines(event.output, 6)) if event.output.strip() else "", "dim")
            self.say("  " + status, "green" if event.ok else "red")
        elif isinstance(event, ev.FileChange):
            for change in event.changes:
                self.say(f"patch: {change_letter(change.get('kind'))} {change['path']}", "green")
            if event.status == "failed":
                self.say("patch failed (the model was told why)", "red")
        elif isinstance(event, ev.PlanUpdate):
            self.say("\n".join(f"{plan_mark(s.get('status'))} {s['step']}" for s in event.plan), "italic")
        elif isinstance(event, (ev.Retry, ev.ContextCompacted)):
            self.say(event.summary(), "dim")
        elif isinstance(event, ev.EnvelopeRepair):
            for note in event.notes():
                self.say(note, "dim")
        elif isinstance(event, ev.TurnFailed):
            self.say(f"error: {event.message}", "red")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def read_prompt(arg: str | None, stdin: IO[str]) -> str | None:
    """The prompt from the argument, or from stdin when it is `-` or when stdin is piped."""
    if arg == "-" or (arg is None and not stdin.isatty()):
        return stdin.read().strip() or None
    return arg.strip() if arg else None


def run(args: Any) -> int:
    """The body of `codex-lite exec`; returns the exit code."""
    try:
        return _run(args)
    finally:
        _settle_streams()


def _run(args: Any) -> int:
    from codex_lite import config as cfg_mod
    from codex_lite.cli import policy_flags_given
    from codex_lite.client import ModelError
    from codex_lite.errors import UserError
    from codex_lite.session import new_session_id

    prompt = read_prompt(args.prompt, sys.stdin)
    if not prompt:
        print("codex-lite exec: no prompt given (pass it as an argument, or `-` to read stdin)",
              file=sys.stderr)
        return 1
    cwd = os.path.abspath(args.cd or os.getcwd())
    if not os.path.isdir(cwd):
        print(f"codex-lite exec: no such directory: {visible(cwd)}", file=sys.stderr)
        return 1
    printer = JsonlPrinter(sys.stdout) if args.json else HumanPrinter(sys.stderr, args.color)
    bus = ev.Bus(printer)
    session_id = new_session_id()
    try:
        config = cfg_mod.load(args.config_overrides, args.profile, args.model)
        approver = _policy(config, args) if policy_flags_given(args) else None
        schema = _schema(args.output_schema)
    except UserError as exc:  # config.toml, -c, the --output-schema file
        return _failed_before_session(args, printer, bus, session_id, exc)
    if not args.skip_git_repo_check and config.exec_require_git and find_repo_root(cwd) is None:
        print("codex-lite exec: " + _no_repository(cwd), file=sys.stderr)
        return 1
    try:
        children.install_exit_handlers()  # before telemetry's hooks, which chain to it
        session, note = _open(config, args, cwd, bus, session_id, approver)
    except (UserError, ModelError, OSError) as exc:
        return _failed_before_session(args, printer, bus, session_id, exc)
    if schema is not None:
        session.client.response_format = schema.response_format
    if args.json:
        printer.write({"type": "thread.started", "thread_id": session.id})
    elif note:
        printer.say(note, "dim")
    try:
        result = session.agent.run(prompt)
    except KeyboardInterrupt:  # the turn_failed event said "interrupted"
        return 130
    finally:
        session.close()
        _undo_hint(session, args)
    answer = session.client.redactor.text(result.text)
    ok = result.ok
    if ok and schema is not None:
        problem = schema.problem(answer)
        if problem:
            print(f"codex-lite exec: {visible(problem)}", file=sys.stderr)
            ok = False
    if args.output_last_message:
        _write_last_message(args.output_last_message, answer if ok else "")
    if ok and not args.json:
        try:
            print(visible(answer), flush=True)
        except BrokenPipeError:  # `| head -1` read what it wanted and left: not an error
            pass
    return 0 if ok else 1


def _policy(config: Any, args: Any) -> Any:
    """Apply -a/-s/--full-auto/--yolo; the approver that declines for `-a POLICY`, or None."""
    from codex_lite import policy_flags

    decline = policy_flags.apply(config, args, exec_mode=True)
    return policy_flags.declining_approver(decline) if decline else None


def _schema(path: str | None) -> Any:
    """The --output-schema, loaded (output_schema is imported only when one is given); a file that
    cannot be used is a UserError, before any request."""
    if not path:
        return None
    from codex_lite import output_schema

    return output_schema.OutputSchema(output_schema.load(path))


def _no_repository(cwd: str) -> str:
    """Why exec will not start here, and how to proceed: a device without git is told so."""
    how = ("pass --skip-git-repo-check, or set `[exec] require_git = false` in config.toml "
           "(patches can still be undone: `codex-lite undo`)")
    if not _on_path("git"):
        return f"git is not installed on this device (and {visible(cwd)} holds no repository); {how}"
    return f"{visible(cwd)} is not inside a git repository; run it in one, or {how}"


def _on_path(program: str) -> bool:
    """Whether PATH finds `program` (shutil.which would import shutil, bz2 and lzma)."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return True
    return False


def _undo_hint(session: Any, args: Any) -> None:
    """After patches, one line on stderr saying how to take them back."""
    snapshots = session.snapshots
    if snapshots is None or not (snapshots.recorded or snapshots.problem or snapshots.incomplete):
        return
    if snapshots.recorded and not snapshots.incomplete:
        from shlex import quote  # only here: exec's start-up does not pay for shlex

        where = f" -C {quote(visible(session.cwd))}" if args.cd else ""
        count = f"{snapshots.recorded} file{'s' if snapshots.recorded != 1 else ''}"
        line = f"to undo this run's patches ({count}): codex-lite undo{where} --session {session.id}"
    else:
        line = snapshots.problem or "this run's patches were too big for [undo] max_bytes: they cannot be undone"
    try:
        print("codex-lite exec: " + line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _settle_streams() -> None:
    """A reader that went away (`| head`) is no error: a stream still holding bytes for it is
    pointed at /dev/null, so Python's last flush at exit is quiet (no traceback, no status 120)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, stream.fileno())
                os.close(null)
            except (OSError, ValueError):
                pass


def _open(config: Any, args: Any, cwd: str, bus: ev.Bus, session_id: str, approver: Any = None):
    """The session for this run: a new one, or the one `exec resume` names."""
    from codex_lite import rollout
    from codex_lite.session import open_session

    resume, resume_path = _saved_session(config, args)
    if resume is not None:  # the workspace stays where exec was started (or -C); say so
        said = rollout.workspace_note(resume, cwd) + (f"; {resume.note}" if resume.note else "")
        print("codex-lite exec: " + visible(said), file=sys.stderr)
    return open_session(config, cwd, bus, approver=approver, resume=resume, resume_path=resume_path,
                        telemetry_enabled=getattr(args, "telemetry", None), session_id=session_id)


def _failed_before_session(args: Any, printer: Any, bus: ev.Bus, session_id: str, exc: Exception) -> int:
    """A failure before the session exists: a user's mistake is a line on stderr, a server's a
    failed turn; --json first gets thread.started and turn.started either way."""
    from codex_lite import errors
    from codex_lite.client import ModelError
    from codex_lite.config import ConfigError

    message = errors.describe(exc)
    if args.json:
        printer.write({"type": "thread.started", "thread_id": session_id})
        printer.write({"type": "turn.started"})
        bus(ev.TurnFailed(message=message))
    elif isinstance(exc, ModelError):
        bus(ev.TurnFailed(message=message))
    if not isinstance(exc, ModelError):
        prefix = "codex-lite" if isinstance(exc, ConfigError) else "codex-lite exec"
        print(f"{prefix}: {visible(message)}", file=sys.stderr)
    return errors.exit_code(exc)


def _saved_session(config: Any, args: Any):
    """(SavedSession, path) for `exec resume`, (None, None) otherwise; SessionNotFound when missing."""
    from codex_lite import rollout

    if not (getattr(args, "resume_id", None) or getattr(args, "resume_last", False)):
        return None, None
    path = rollout.find_session(config.codex_home, args.resume_id)
    if path is None:
        raise rollout.SessionNotFound(config.codex_home, args.resume_id)
    return rollout.load(path), path


def _write_last_message(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        print(f"codex-lite exec: cannot write {visible(path)}: {visible(str(exc))}", file=sys.stderr)
