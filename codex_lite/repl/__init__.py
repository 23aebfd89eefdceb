"""The interactive REPL: `codex-lite` and `codex-lite resume [--last | ID]`.

    main(args, ui=None, out=None) -> int     the entry point (cli.main calls it)
    PlainUI, PtkUI                           the input back-ends (tests drive them)

The package, one concern a module:
    loop.py       the loop, session lifecycle, one turn, main()
    commands.py   the slash commands: one table (COMMANDS), one decorated function each
    terminal.py   line input: prompt_toolkit or plain input, its history and completion; the lazy
                  wcwidth stand-in
    status.py     session counters (Stats) and the /status card
    dialogs.py    the approval dialog and the session picker
    git_diff.py   what /diff shows, run like a read-only command
    changes.py    /diff without git, /review and /undo: the session's changes (undo.py's snapshots)

prompt_toolkit is imported inside terminal.py's functions only, and nothing on the `exec` path
imports this package (a test checks both).
"""

from codex_lite.repl.loop import main
from codex_lite.repl.terminal import PlainUI, PtkUI, install_lazy_wcwidth

__all__ = ["main", "PlainUI", "PtkUI", "install_lazy_wcwidth"]
