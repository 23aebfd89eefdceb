"""What ends a run, and the exit code and line it becomes: the one place that maps them.

    UserError            base of every mistake a user can fix (config.ConfigError,
                         config_file.ConfigWriteError, rollout.SessionNotFound): one line, exit 1,
                         never a traceback; `label` (e.g. "config error") starts the line
    describe(exc) -> str the line for an error ("config error: ..." or the message as it is)
    exit_code(exc) -> int  0 ok, 1 a failed task or a UserError/ModelError, 2 a command-line mistake
                         (argparse), 130 Ctrl-C, 128 + N a signal (SIGTERM 143, SIGHUP 129)

Why it looks like this: `exec`, the REPL and cli.main each report failures in their own form
(a JSON event, a red line, a line on stderr), but which failures are the user's to fix and which
exit code each one means must not differ between them.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UserError(Exception):
    """A mistake the user can fix; the message is meant for them as it is."""

    label = ""


def describe(exc: BaseException) -> str:
    label = getattr(exc, "label", "")
    return f"{label}: {exc}" if label else str(exc)


def exit_code(exc: BaseException) -> int:
    from codex_lite.tools.children import Terminated

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        return exc.code
    return EXIT_FAIL
