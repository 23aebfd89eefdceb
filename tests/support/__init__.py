"""Helpers shared by the tests (not fixtures: those are in tests/conftest.py).

Import them by module, from any test folder (tests/, tests/security/, tests/faults/; conftest.py
puts tests/ on sys.path):

    from support.cli import CODEX, REPO_ROOT, CliResult, cli_env, run_codex
    from support.git import make_git_repo
    from support.tmux import Tmux

    cli.py    the real CLI: the environment it runs in (cli_env), running it (run_codex -> CliResult)
    git.py    scratch git repositories
    tmux.py   a private tmux server with one pane, for the REPL in a real terminal

The fixtures built on them (`git_repo`, `codex_home`, `run_cli`, `cli_environment`, `term`, the
servers) stay in conftest.py and need no import. The harness servers keep their own modules in
tests/ (scripted_server.py, litellm_proxy.py, processes.py), since scripts/demo and bench/ use
them too.
"""
