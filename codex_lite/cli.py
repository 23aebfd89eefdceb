"""Command line: `codex-lite [REPL]`, `codex-lite exec`, `codex-lite resume`, `codex-lite stats`.

Kept thin: it parses flags and hands over. `--version` answers before anything is imported, and
`exec` never imports prompt_toolkit, so a router starts the agent quickly.
"""

from __future__ import annotations

import sys

from codex_lite import __version__

EXIT_OK, EXIT_FAIL = 0, 1


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


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="codex-lite",
        description="A small coding agent for routers, phones and thin SSH boxes, talking to a "
                    "LiteLLM proxy. Without a command it starts the interactive REPL.",
        epilog="Configuration: $CODEX_HOME/config.toml (default ~/.codex-lite). Zero-config: set "
               "LITELLM_BASE_URL and LITELLM_API_KEY.")
    parser.add_argument("--version", action="version", version=f"codex-lite {__version__}")
    _common(parser)
    parser.add_argument("prompt", nargs="?", help="optional first prompt for the REPL")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser("exec", help="run one task non-interactively and print the answer",
                        description="Run one task without asking questions. The final answer goes to "
                                    "stdout, progress to stderr. Exit code 0 on success, 1 on failure.")
    _common(ex, sub=True)
    ex.add_argument("--json", action="store_true",
                    help="print events as JSON lines (the schema of `codex exec --json`)")
    ex.add_argument("-o", "--output-last-message", metavar="FILE",
                    help="also write the final message to FILE")
    ex.add_argument("--skip-git-repo-check", action="store_true",
                    help="allow running outside a git repository")
    ex.add_argument("prompt", nargs="?", help="the task; `-` (or a pipe) reads it from stdin")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # fast path: no argparse, no config, no network
        print(f"codex-lite {__version__}")
        return EXIT_OK
    args = build_parser().parse_args(argv)
    from codex_lite.config import ConfigError

    try:
        if args.command == "exec":
            from codex_lite import exec as exec_mode

            return exec_mode.run(args)
        print("codex-lite: the interactive REPL is not available yet; use `codex-lite exec`",
              file=sys.stderr)
        return EXIT_FAIL
    except ConfigError as exc:
        print(f"codex-lite: config error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("codex-lite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
