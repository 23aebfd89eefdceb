"""The two user-facing policy settings and their allowed values, defined once.

    APPROVAL_POLICIES   when a command needs the user's yes (approvals.py, config `approval_policy`)
    SANDBOX_MODES       what commands and patches may touch (tools/toolbox.py, config `sandbox_mode`)
    DEFAULT_APPROVAL_POLICY, DEFAULT_SANDBOX_MODE

Why apart: config validates them, the approval layer and the toolbox act on them, and the REPL offers
them in /approvals; a leaf module with no imports lets all of them share one spelling.
"""

APPROVAL_POLICIES = ("untrusted", "on-request", "on-failure", "never")
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")
DEFAULT_APPROVAL_POLICY = "on-request"
DEFAULT_SANDBOX_MODE = "workspace-write"
