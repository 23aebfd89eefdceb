"""The interactive REPL. CONTRACT STUB (owned by the REPL issue).

    main(args) -> int     args from cli.build_parser(): command None (new session, optional
                          args.prompt) or "resume" (args.session_id, args.last, args.prompt)
"""

from __future__ import annotations

import sys


def main(args) -> int:
    print("codex-lite: the interactive REPL is not available yet; use `codex-lite exec`", file=sys.stderr)
    return 1
