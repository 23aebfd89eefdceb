"""The tools offered to the model and the dispatch of its calls.

Every call ends in a string for the model, never an exception: a bad argument, an unknown tool or
a failing command is reported back so the model can correct itself. Side facts (exit codes, file
changes, plan updates) go out as events for the front ends.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any, Callable, Protocol

from codex_lite import events as ev
from codex_lite.policies import DEFAULT_SANDBOX_MODE
from codex_lite.records import dataclass
from codex_lite.tools import apply_patch as patching
from codex_lite.tools import calls, search_rails, shells
from codex_lite.tools.shell import ShellSettings, low_memory_note, run_command

TOOL_SPECS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "shell",
        "description": "Runs a command (argv list) and returns its output and exit code. Use "
                       "[\"bash\", \"-lc\", SCRIPT] for shell syntax.",
        "parameters": {"type": "object", "properties": {
            "command": {"type": "array", "items": {"type": "string"}, "description": "argv to run"},
            "workdir": {"type": "string", "description": "working directory (default: session cwd)"},
            "timeout_ms": {"type": "number", "description": "timeout in milliseconds"},
        }, "required": ["command"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "apply_patch",
        "description": "Edits files with a patch: '*** Begin Patch' then '*** Add File: p' (+ lines), "
                       "'*** Delete File: p' or '*** Update File: p' (optional '*** Move to: q') with "
                       "'@@' chunks of ' ', '-', '+' lines, then '*** End Patch'. All or nothing.",
        "parameters": {"type": "object", "properties": {
            "input": {"type": "string", "description": "the whole patch"},
        }, "required": ["input"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "update_plan",
        "description": "Shows the user your plan: a list of steps, each pending, in_progress or "
                       "completed (at most one in_progress).",
        "parameters": {"type": "object", "properties": {
            "explanation": {"type": "string"},
            "plan": {"type": "array", "items": {"type": "object", "properties": {
                "step": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
            }, "required": ["step", "status"]}},
        }, "required": ["plan"], "additionalProperties": False}}},
]


@dataclass
class ApprovalRequest:
    kind: str                 # "command", "patch" or "retry"
    command: list[str]
    cwd: str
    diff: str = ""            # the patch, for "patch"
    root: str = ""            # the workspace root (patches are confined to it); "" = cwd
    reason: str = ""          # why this is asked, when it is not obvious (shown in the dialog)
    env: dict[str, str] | None = None  # the environment the command runs with (None = ours)
    sandbox_mode: str = DEFAULT_SANDBOX_MODE  # the toolbox's, where patches may write
    exit_code: int | None = None  # for "retry": how the command failed


@dataclass
class ApprovalDecision:
    approved: bool
    feedback: str | None = None  # what the user wants instead, passed on to the model
    read_only: bool = False      # approved because it only reads: run it with read_only.hardened_env


class Approver(Protocol):
    """Who decides whether a command runs or a patch is applied (approvals.Approvals)."""

    def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        """Asked before a command runs or a patch is applied."""

    def retry_failed(self, request: ApprovalRequest, exit_code: int | None) -> ApprovalDecision | None:
        """Asked after a command ran with `exit_code`: approved runs it again, declined feedback
        is passed on to the model, None means done (approval_policy "on-failure" offers retries)."""


class ToolError(Exception):
    """A call that cannot be carried out; the message goes back to the model."""


@dataclass
class ToolBox:
    cwd: str
    emit: Callable[[ev.Event], None]
    shell: ShellSettings
    sandbox_mode: str = DEFAULT_SANDBOX_MODE  # one of policies.SANDBOX_MODES
    approver: Approver | None = None
    journal_dir: str | None = None  # patch crash-recovery journals, under $CODEX_HOME
    snapshots: Any = None           # undo.Snapshots: previous contents of patched files

    specs = TOOL_SPECS

    def has(self, name: str) -> bool:
        return name in calls.TOOL_NAMES

    def run(self, call_id: str, name: str, args: dict[str, Any]) -> str:
        """Carry out one call and return what the model is told."""
        handler = {"shell": self._shell, "apply_patch": self._apply_patch,
                   "update_plan": self._update_plan}.get(name)
        if handler is None:
            return self._fail(call_id, name, calls.unknown_tool(name))
        try:
            return handler(call_id, args)
        except ToolError as exc:
            return self._fail(call_id, name, str(exc))

    def _fail(self, call_id: str, name: str, message: str, **metadata: Any) -> str:
        self.emit(ev.ToolResult(call_id=call_id, name=name, output=message, ok=False, metadata=metadata))
        return message

    # -- shell --------------------------------------------------------------------------------

    def _shell(self, call_id: str, args: dict[str, Any]) -> str:
        argv = _argv(args.get("command"))
        workdir = self._workdir(args.get("workdir"))
        routed = patching.patch_from_argv(argv)
        if routed is not None:
            patch, subdir = routed
            return self._patch(call_id, patch, os.path.join(workdir, subdir) if subdir else workdir)
        if patching.looks_like_bare_patch(argv):
            raise ToolError(patching.BARE_PATCH_HINT)
        timeout_ms = _timeout_ms(args)
        request = ApprovalRequest("command", argv, workdir, root=self.cwd, env=self.shell.env,
                                  sandbox_mode=self.sandbox_mode)
        hardened = self._ask(request).read_only
        output, code = self._run_command(call_id, argv, workdir, timeout_ms, hardened)
        decision = self.approver.retry_failed(request, code) if self.approver else None
        while decision is not None and decision.approved:
            output, code = self._run_command(call_id, argv, workdir, timeout_ms)
            decision = self.approver.retry_failed(request, code)
        if decision is not None and decision.feedback:
            output = _with_feedback(output, decision.feedback)
        return output

    def _run_command(self, call_id: str, argv: list[str], workdir: str, timeout_ms: int | None,
                     hardened: bool = False) -> tuple[str, int | None]:
        """What the model is told, and the exit code (None when the command did not start)."""
        shown = shlex.join(argv)
        env_path = None if self.shell.env is None else self.shell.env.get("PATH", os.defpath)
        resolved = shells.resolve(search_rails.rewrite(argv, env_path))  # the child's PATH's grep
        notes = [n for n in (resolved.note, low_memory_note()) if n]
        env = None
        if hardened:  # ran without asking because it only reads: no config may start a program
            from codex_lite.security.read_only import hardened_env

            env = hardened_env(self.shell.env)
        self.emit(ev.CommandStarted(call_id=call_id, command=shown, cwd=workdir))
        try:
            result = run_command(resolved.argv, workdir, self.shell, timeout_ms, env=env)
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            return self._fail(call_id, "shell", _spawn_error(argv, exc), command=shown,
                              exit_code=127, aggregated_output=""), 127
        output = result.for_model()
        hint = shells.explain_failure(resolved, result.exit_code, output)
        if hint:
            output += "\n" + hint
        if notes:
            output = "\n".join(notes) + "\n" + output
        metadata = {"exit_code": result.exit_code, "duration_seconds": round(result.duration_seconds, 3)}
        self.emit(ev.ToolResult(call_id=call_id, name="shell", output=output, ok=result.exit_code == 0,
                                metadata={**metadata, "command": shown, "aggregated_output": output,
                                          "peak_rss_kb": result.peak_rss_kb,
                                          "timed_out": result.timed_out}))
        return json.dumps({"output": output, "metadata": metadata}, ensure_ascii=False), result.exit_code

    def _workdir(self, workdir: Any) -> str:
        if workdir is None or workdir == "":
            return self.cwd
        if not isinstance(workdir, str):
            raise ToolError("workdir must be a string path")
        path = os.path.normpath(os.path.join(self.cwd, os.path.expanduser(workdir)))
        if not os.path.isdir(path):
            raise ToolError(f"workdir does not exist or is not a directory: {workdir}")
        return path

    def _ask(self, request: ApprovalRequest) -> ApprovalDecision:
        if self.approver is None:
            return ApprovalDecision(True)
        decision = self.approver(request)
        if not decision.approved:
            why = f" The user said: {decision.feedback}" if decision.feedback else ""
            raise ToolError(f"the user declined this {request.kind}.{why}")
        return decision

    # -- apply_patch --------------------------------------------------------------------------

    def _apply_patch(self, call_id: str, args: dict[str, Any]) -> str:
        patch = patching.patch_from_arguments(args)
        if not patch or not patch.strip():
            raise ToolError('apply_patch needs {"input": "*** Begin Patch\\n...\\n*** End Patch"}')
        return self._patch(call_id, patch, self.cwd)

    def _patch(self, call_id: str, patch: str, workdir: str) -> str:
        """Apply a patch whose relative paths start at `workdir`, confined to the workspace."""
        if self.sandbox_mode == "read-only":
            raise ToolError("the sandbox is read-only: patches are not allowed in this session")
        full_access = self.sandbox_mode == "danger-full-access"
        self._ask(ApprovalRequest("patch", ["apply_patch"], workdir, diff=patch, root=self.cwd,
                                  sandbox_mode=self.sandbox_mode))
        try:
            result = patching.apply_patch(patch, self.cwd, cwd=workdir, allow_outside=full_access,
                                          journal_dir=self.journal_dir,
                                          before_commit=getattr(self.snapshots, "before_commit", None))
        except patching.PatchError as exc:
            self.emit(patching.failed_event(patch, call_id))
            raise ToolError(str(exc)) from None
        self.emit(result.to_event(call_id))
        summary = result.summary()
        self.emit(ev.ToolResult(call_id=call_id, name="apply_patch", output=summary))
        return summary

    # -- update_plan --------------------------------------------------------------------------

    def _update_plan(self, call_id: str, args: dict[str, Any]) -> str:
        plan = args.get("plan")
        if not isinstance(plan, list) or not all(_valid_step(s) for s in plan):
            raise ToolError('update_plan needs {"plan": [{"step": str, "status": "pending" | '
                            '"in_progress" | "completed"}], "explanation"?: str}')
        explanation = args.get("explanation")
        steps = [{"step": s["step"], "status": s["status"]} for s in plan]
        self.emit(ev.PlanUpdate(call_id=call_id, plan=steps,
                                explanation=explanation if isinstance(explanation, str) else None))
        self.emit(ev.ToolResult(call_id=call_id, name="update_plan", output="Plan updated"))
        return "Plan updated"


def _argv(command: Any) -> list[str]:
    if isinstance(command, str) and command.strip():
        command = ["bash", "-lc", command]
    if (isinstance(command, list) and command and all(isinstance(a, str) for a in command)
            and command[0]):
        if any("\0" in a for a in command):  # no program can be given one (execve ends the word there)
            raise ToolError("a command word cannot contain a NUL byte")
        return command
    raise ToolError('shell needs {"command": ["program", "arg", ...]}, a non-empty list of strings')


def _with_feedback(output: str, feedback: str) -> str:
    """The user's words after a failed command, kept inside the JSON result when it is one."""
    try:
        return json.dumps({**json.loads(output), "user_feedback": feedback}, ensure_ascii=False)
    except (ValueError, TypeError):
        return f"{output}\nThe user said: {feedback}"


def _timeout_ms(args: dict[str, Any]) -> int | None:
    value = args.get("timeout_ms")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ToolError("timeout_ms must be a positive number of milliseconds")
    return int(value)


def _valid_step(step: Any) -> bool:
    return (isinstance(step, dict) and isinstance(step.get("step"), str)
            and step.get("status") in ("pending", "in_progress", "completed"))


def _spawn_error(argv: list[str], exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"program not found: {argv[0]} (not on PATH). Check the name or install it."
    if isinstance(exc, PermissionError):
        return f"cannot run {argv[0]}: permission denied"
    return f"cannot run {argv[0]}: {exc}"
