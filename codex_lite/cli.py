"""Command line: `codex-lite [REPL]`, `codex-lite exec`, `codex-lite resume`, `codex-lite stats`.

Kept thin: it parses flags and hands over. `--version` answers before anything is imported, and
`exec` never imports prompt_toolkit, so a router starts the agent quickly.
"""

from __future__ import annotations

import sys

from codex_lite import __version__

EXIT_OK = 0


def _common(parser, sub: bool = False) -> None:
    """Options accepted before and after the command; a subcommand keeps what was given before it."""
    import argparse

    keep = {"default": argparse.SUPPRESS} if sub else {}
    parser.add_argument("-m", "--model", help="model name as the proxy knows it", **keep)
    parser.add_argument("-c", "--config", dest="config_overrides", action="append",
                        **(keep or {"default": []}),
                        metavar="KEY=VALUE",
                        help="override a config.toml key for this run (TOML value), e.g. "
                             "-c retry.wait_seconds=5 (repeatable)")
    parser.add_argument("-p", "--profile", help="use [profiles.NAME] from config.toml", **keep)
    parser.add_argument("-C", "--cd", metavar="DIR", help="work in DIR instead of the current folder",
                        **keep)
    parser.add_argument("--telemetry", dest="telemetry", action="store_true",
                        default=argparse.SUPPRESS if sub else None,
                        help="write telemetry for this run (overrides config and CODEX_LITE_TELEMETRY)")
    parser.add_argument("--no-telemetry", dest="telemetry", action="store_false",
                        default=argparse.SUPPRESS if sub else None, help="no telemetry for this run")
    _policy_options(parser, keep)


YOLO = "--dangerously-bypass-approvals-and-sandbox"
POLICY_DESTS = ("approval_policy", "sandbox_mode", "full_auto", "yolo")


def _policy_options(parser, keep: dict) -> None:
    """Codex's approval and sandbox flags (their meaning: policy_flags.py)."""
    from codex_lite.policies import APPROVAL_POLICIES, SANDBOX_MODES

    default = keep or {"default": None}
    parser.add_argument("-a", "--ask-for-approval", dest="approval_policy", choices=APPROVAL_POLICIES,
                        metavar="POLICY", **default,
                        help="when to ask before running a command or applying a patch: "
                             + ", ".join(APPROVAL_POLICIES) + " (exec: what it would ask about is declined)")
    parser.add_argument("-s", "--sandbox", dest="sandbox_mode", choices=SANDBOX_MODES, metavar="MODE",
                        **default, help="where patches may write: " + ", ".join(SANDBOX_MODES))
    parser.add_argument("--full-auto", action="store_true", **(keep or {"default": False}),
                        help="low-friction automatic work: -a on-request -s workspace-write")
    parser.add_argument(YOLO, "--yolo", dest="yolo", action="store_true", **(keep or {"default": False}),
                        help="never ask and write anywhere (-a never -s danger-full-access); "
                             "EXTREMELY DANGEROUS, for throw-away devices and containers")


def policy_flags_given(args) -> bool:
    return any(getattr(args, name, None) for name in POLICY_DESTS)


def _policy_conflict(args) -> str | None:
    """Why the approval and sandbox flags contradict each other (None when they do not)."""
    policy, sandbox = getattr(args, "approval_policy", None), getattr(args, "sandbox_mode", None)
    full_auto = getattr(args, "full_auto", False)
    if getattr(args, "yolo", False) and (full_auto or policy or sandbox):
        return f"{YOLO} (--yolo) cannot be combined with --full-auto, -a or -s"
    if full_auto and (policy or sandbox):
        return "--full-auto cannot be combined with -a or -s (it means -a on-request -s workspace-write)"
    return None


def build_parser(command: str | None = None):
    """The whole command line, or with `command` ("exec", "resume", "stats") only that command's
    options: the other commands keep their name and help, and main() parses faster (each option
    costs argparse a help formatter; ~30 ms per run on a router's CPU)."""
    import argparse

    formatter = _formatter_class(argparse)
    parser = argparse.ArgumentParser(
        prog="codex-lite", formatter_class=formatter,
        description="A small coding agent for routers, phones and thin SSH boxes, talking to a "
                    "LiteLLM proxy. Without a command it starts the interactive REPL.",
        epilog="Configuration: $CODEX_HOME/config.toml (default ~/.codex-lite). Zero-config: set "
               "LITELLM_BASE_URL and LITELLM_API_KEY.")
    parser.add_argument("--version", action="version", version=f"codex-lite {__version__}")
    parser.set_defaults(prompt=None)  # the REPL's first prompt (main() fills it in)
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                help=", ".join(COMMANDS) + "; anything else is a first prompt for the REPL")
    for name, help_, description, add_options in _COMMANDS:
        command_parser = sub.add_parser(name, help=help_, description=description, formatter_class=formatter)
        if command in (None, name):
            _common(command_parser, sub=True)
            add_options(command_parser)
    return parser


def _formatter_class(argparse):
    """argparse's help formatter, given the terminal width up front: its own default imports
    shutil for shutil.get_terminal_size (and shutil imports bz2 and lzma: ~20 ms on a router's
    CPU, for every option argparse checks). Same width rule: $COLUMNS, else the terminal, else 80."""

    class Formatter(argparse.HelpFormatter):
        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None, **kwargs):
            if width is None:
                width = _columns() - 2
            super().__init__(prog, indent_increment, max_help_position, width, **kwargs)

    return Formatter


def _columns() -> int:
    import os

    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _exec_options(ex) -> None:
    ex.add_argument("--json", action="store_true",
                    help="print events as JSON lines (the schema of `codex exec --json`)")
    ex.add_argument("-o", "--output-last-message", metavar="FILE",
                    help="also write the final message to FILE")
    ex.add_argument("--skip-git-repo-check", action="store_true",
                    help="allow running outside a git repository (or set [exec] require_git = false)")
    ex.add_argument("--color", choices=("always", "never", "auto"), default="auto",
                    help="colour the progress on stderr: always, never or auto (a terminal without "
                         "NO_COLOR)")
    ex.add_argument("--output-schema", metavar="FILE",
                    help="a JSON Schema the final answer must follow (sent as response_format; an "
                         "answer that does not match fails with exit 1)")
    ex.add_argument("prompt", nargs="?", help="the task; `-` (or a pipe) reads it from stdin")
    _resume_args(ex)


def _resume_options(rs) -> None:
    rs.add_argument("session_id", nargs="?", help="the session to continue (see $CODEX_HOME/sessions)")
    rs.add_argument("--last", action="store_true", help="continue the newest session")
    rs.add_argument("prompt", nargs="?", help="optional prompt to send right away")


def _stats_options(st) -> None:
    st.add_argument("--json", action="store_true", help="print the numbers as one JSON object")


def _undo_options(un) -> None:
    un.add_argument("--session", metavar="ID", help="undo in this session (default: the newest one "
                                                     "with patches in this folder)")
    un.add_argument("-y", "--yes", action="store_true", help="restore without asking")


def _completion_options(co) -> None:
    co.add_argument("shell", choices=("bash", "zsh", "fish"), help="bash, zsh or fish")


_COMMANDS = (
    ("exec", "run one task non-interactively and print the answer",
     "Run one task without asking questions. The final answer goes to stdout, progress to stderr. "
     "Exit code 0 on success, 1 on failure, 2 on a command-line mistake, 130 on Ctrl-C, 143 on "
     "SIGTERM, 129 on SIGHUP. Continue an earlier session with `codex-lite exec resume --last "
     "PROMPT` (the newest) or `codex-lite exec resume ID PROMPT`. A long task compacts the "
     "conversation before it outgrows the model's context window (set -c model_context_window=N "
     "when the proxy does not know it).", _exec_options),
    ("resume", "continue an earlier session in the REPL", "Continue an earlier session with its history.",
     _resume_options),
    ("stats", "show token usage and retry statistics from telemetry",
     "Usage and retry statistics recorded by telemetry.", _stats_options),
    ("undo", "restore the files that the last turn's patches changed",
     "Restore the files that the patches of a session's last turn changed, after showing the "
     "difference (each run steps one turn further back). Changes made by shell commands are not "
     "covered. Snapshots live in $CODEX_HOME/undo, bounded by [undo] max_bytes.", _undo_options),
    ("completion", "print a shell completion script (bash, zsh or fish)",
     "Print a completion script for bash, zsh or fish, e.g. `codex-lite completion bash > "
     "$PREFIX/share/bash-completion/completions/codex-lite` on Termux, or "
     "`eval \"$(codex-lite completion bash)\"` in ~/.bashrc. OpenWrt's ash has no programmable "
     "completion.", _completion_options),
)


def _resume_args(parser) -> None:
    """`exec resume [--last | ID]`: hidden options filled in by main() when it sees `exec resume`."""
    import argparse

    parser.add_argument("--resume-id", help=argparse.SUPPRESS)
    parser.add_argument("--resume-last", action="store_true", help=argparse.SUPPRESS)


COMMANDS = tuple(name for name, *_ in _COMMANDS)
OPTIONS_WITH_VALUE = ("-m", "--model", "-c", "--config", "-p", "--profile", "-C", "--cd",
                      "-a", "--ask-for-approval", "-s", "--sandbox")


def _command_of(argv: list[str]) -> str | None:
    """The command that argv asks for, None for the REPL (options and their values skipped)."""
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] in OPTIONS_WITH_VALUE:
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return argv[i] if argv[i] in COMMANDS else None
    return None


def _split_repl_prompt(argv: list[str]) -> tuple[list[str], str | None]:
    """`codex-lite "fix the bug"`: a first positional that is not a command is the REPL's prompt
    (argparse cannot mix an optional positional with subcommands)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i], " ".join(argv[i + 1:]) or None
        if arg in OPTIONS_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if arg in COMMANDS:
            return argv, None
        return argv[:i] + argv[i + 1:], arg
    return argv, None


def _rewrite_exec_resume(argv: list[str]) -> list[str]:
    """`exec resume --last PROMPT` / `exec resume ID PROMPT` -> exec --resume-last / --resume-id ID."""
    if "exec" not in argv:
        return argv
    i = argv.index("exec")
    if argv[i + 1:i + 2] != ["resume"]:
        return argv
    rest = argv[i + 2:]
    if "--last" in rest:
        rest.remove("--last")
        return argv[:i + 1] + ["--resume-last"] + rest
    positional = [j for j, a in enumerate(rest) if not a.startswith("-")]
    if positional:
        j = positional[0]
        return argv[:i + 1] + ["--resume-id", rest[j]] + rest[:j] + rest[j + 1:]
    return argv[:i + 1] + ["--resume-last"] + rest


def _parse(argv: list[str]):
    """The parsed arguments; the parser itself is not kept (it holds ~30 KB for the whole run)."""
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    conflict = _policy_conflict(args)
    if conflict:
        parser.error(conflict)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # fast path: no argparse, no config, no network
        print(f"codex-lite {__version__}")
        return EXIT_OK
    argv, repl_prompt = _split_repl_prompt(_rewrite_exec_resume(list(argv)))
    args = _parse(argv)
    if args.command is None:
        args.prompt = repl_prompt
    from codex_lite import errors
    from codex_lite.tools.children import Terminated

    try:
        if args.command == "exec":
            from codex_lite import exec as exec_mode

            return exec_mode.run(args)
        if args.command == "stats":
            from codex_lite import stats

            return stats.main(args)
        if args.command == "undo":
            from codex_lite import undo

            return undo.main(args)
        if args.command == "completion":
            from codex_lite import completion

            print(completion.script(args.shell, build_parser()), end="")
            return EXIT_OK
        from codex_lite import repl  # the only place prompt_toolkit may be imported from

        return repl.main(args)
    except errors.UserError as exc:  # a mistake the user can fix: one line, no traceback
        _say(f"codex-lite: {errors.describe(exc)}")
        return errors.exit_code(exc)
    except KeyboardInterrupt as exc:
        _say("codex-lite: interrupted")
        return errors.exit_code(exc)
    except Terminated as exc:  # SIGTERM / SIGHUP: the running command was killed first
        if not exc.reported:
            _say(f"codex-lite: {exc}")
        return errors.exit_code(exc)


def _say(line: str) -> None:
    """One last line on stderr, which may be gone (a closed pipe, a terminal that hung up)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
