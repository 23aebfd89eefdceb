"""`/diff`: the workspace's changes as git sees them, untracked files included.

    git_diff(cwd, env=None) -> str | None     None outside a repository (or without git)
    DiffDeclined                              git's config would make the diff run a program

Why it looks like this: the repository's config is the model's to write (a patch can change
.git/config), so /diff runs git like a read-only command (read_only.hardened_env: no fsmonitor,
hooks, pager, gpg, ...), without external diff or textconv drivers, and not at all when the config
(the repository's or a submodule's) names a filter or driver git would run on a changed file.
"""

from __future__ import annotations

import os

GIT = ["git", "--no-pager"]
DIFF = [*GIT, "diff", "--no-color", "--no-ext-diff", "--no-textconv"]


class DiffDeclined(Exception):
    """/diff will not run git in this repository; the message says why."""


def git_diff(cwd: str, env: dict[str, str] | None = None) -> str | None:
    """`git diff` of tracked files plus untracked files as additions; None outside a repository.
    Read through the shell runner's bounded buffer, so a huge diff cannot fill a router's memory.
    `env`: the session's environment for commands (None = ours). Raises DiffDeclined when git's
    config would make the diff run a program (a clean filter runs on every changed file)."""
    from codex_lite.security.read_only import hardened_env
    from codex_lite.security.read_only_git import config_runs_programs
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
