"""Codex's flags `-a/--ask-for-approval`, `-s/--sandbox`, `--full-auto` and
`--dangerously-bypass-approvals-and-sandbox` (`--yolo`), above config.toml and `-c`.

The flags themselves are declared in cli.py; this module, imported only when one is given, says
what they mean. `exec` has no one to ask: it runs what the sandbox allows, unless `-a` is given explicitly; then
what that policy would ask about is declined and the model told so (`exec -a untrusted` runs only
read-only commands). `--full-auto` in `exec` therefore only chooses the workspace-write sandbox.
"""

from __future__ import annotations

from typing import Any

def choices(args: Any) -> tuple[str | None, str | None]:
    """(approval policy, sandbox mode) the flags ask for, None where they say nothing (cli.py has
    refused contradicting ones)."""
    if getattr(args, "yolo", False):
        return "never", "danger-full-access"
    if getattr(args, "full_auto", False):
        return "on-request", "workspace-write"
    return getattr(args, "approval_policy", None), getattr(args, "sandbox_mode", None)


def declining_approver(policy: str, reason: str | None = None) -> Any:
    """An approver that never asks: what `policy` would ask about is declined, and the model is
    told `reason` (by default: `exec -a POLICY` has no one to ask). /review uses it with
    "untrusted" so that only read-only commands run."""
    from codex_lite.approvals import Approvals, Choice

    reason = reason or (f"codex-lite exec runs with -a {policy} and has no one to ask, so this was "
                        "not done; do without it, or finish and say what the user should run")
    return Approvals(policy, lambda request, always: Choice("no", reason))


def apply(config: Any, args: Any, exec_mode: bool = False) -> str | None:
    """Set the config's policy and sandbox from the flags. Returns the approval policy that `exec`
    must enforce by declining (None: run everything the sandbox allows, as exec always did)."""
    policy, sandbox = choices(args)
    if sandbox:
        config.sandbox_mode = sandbox
    if exec_mode:
        explicit = getattr(args, "approval_policy", None)  # on-failure and never: nothing to decline
        return explicit if explicit in ("untrusted", "on-request") else None
    if policy:
        config.approval_policy = policy
    return None
