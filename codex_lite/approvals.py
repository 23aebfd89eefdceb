"""When to ask the user before a command runs or a patch is applied, and how to remember answers.

Policies keep Codex's names. Codex pairs them with an OS sandbox; codex-lite has none for commands
(only its patch engine confines writes to the workspace), so each policy is mapped onto what we can
actually enforce:

- `untrusted`: ask for everything except known read-only commands (ls, cat, rg, grep, find without
  -exec/-delete, git status/log/diff/show, sed -n Np, ...), patches included.
- `on-request` (default): in Codex the model runs freely inside the sandbox and asks to leave it.
  Here patches *are* sandboxed (sandbox_mode decides where they may write), so they run without
  asking; a command other than a known read-only one cannot be confined, so it counts as leaving
  the sandbox and is asked about, unless sandbox_mode is danger-full-access (nothing to leave).
- `on-failure`: everything runs without asking; when a command fails the user is asked whether to
  run it again (e.g. after fixing something by hand) or to tell the model what to do instead.
- `never`: never ask. `codex-lite exec` always behaves like this (it has no one to ask).

"Yes, always" is remembered for the session on argv[0] plus its subcommand (`git push`,
`make test`, `rm`), or the exact script for `bash -lc SCRIPT`; the prompt says which.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from codex_lite import events as ev
from codex_lite.tools.toolbox import ApprovalDecision, ApprovalRequest

POLICIES = ("untrusted", "on-request", "on-failure", "never")

SAFE_PROGRAMS = {
    "ls", "cat", "head", "tail", "wc", "pwd", "echo", "printf", "true", "false", "which", "whoami",
    "id", "uname", "date", "stat", "file", "du", "df", "tree", "nl", "rev", "seq", "uniq", "cut",
    "tr", "diff", "cmp", "basename", "dirname", "realpath", "readlink", "grep", "egrep", "fgrep",
    "free", "uptime", "cd", "test", "[", "md5sum", "sha256sum", "sha1sum", "column", "hostname",
}
GIT_SAFE = {"status", "log", "diff", "show", "rev-parse", "ls-files", "blame", "shortlog",
            "describe", "grep", "ls-tree", "cat-file"}
FIND_UNSAFE = {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls", "-fprint", "-fprint0",
               "-fprintf"}
RG_UNSAFE = {"--pre", "--hostname-bin", "--search-zip", "-z"}
SHELLS = {"bash", "sh", "ash", "dash", "zsh"}
SCRIPT_SEPARATORS = {"&&", "||", ";", "|"}
SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_-]*$")
WITH_SUBCOMMANDS = {"git", "npm", "pnpm", "yarn", "pip", "pip3", "cargo", "go", "make", "apt", "apt-get",
                    "opkg", "apk", "pkg", "docker", "podman", "systemctl", "service", "uci", "kubectl",
                    "brew", "dnf", "yum", "gh", "poetry", "uv", "npx", "cmake", "ninja", "just"}


def is_read_only(argv: list[str]) -> bool:
    """True for commands known to only read: they run without asking under `untrusted`. A shell
    script counts when every command in it does and it only chains them (&&, ||, ;, |): no
    redirections, substitutions or subshells."""
    if not argv:
        return False
    prog = os.path.basename(argv[0])
    if prog in SHELLS and len(argv) == 3 and argv[1] in ("-c", "-lc", "-l-c"):
        return _script_is_read_only(argv[2])
    if prog in SAFE_PROGRAMS:
        return True
    if prog == "find":
        return not any(a in FIND_UNSAFE for a in argv[1:])
    if prog == "rg":
        return not any(a.split("=")[0] in RG_UNSAFE for a in argv[1:])
    if prog == "git":
        return _git_read_only(argv[1:])
    if prog == "sed":
        return _sed_prints_only(argv[1:])
    if prog == "sort":
        return not any(a == "-o" or a.startswith(("-o", "--output")) for a in argv[1:])
    return False


def _git_read_only(args: list[str]) -> bool:
    while args and (args[0] in ("-C", "-c", "--no-pager") or args[0].startswith("--git-dir")):
        args = args[2:] if args[0] in ("-C", "-c") else args[1:]
    if not args:
        return False
    if args[0] == "branch":  # listing only
        return all(a in ("-a", "-r", "-v", "-vv", "--list", "--show-current", "--all") for a in args[1:])
    return args[0] in GIT_SAFE and not any(a.startswith("--output") for a in args[1:])


def _sed_prints_only(args: list[str]) -> bool:
    """`sed -n 1,80p FILE`: the one sed form models use to read files."""
    return (len(args) >= 2 and args[0] == "-n"
            and re.fullmatch(r"\d+(,\d+)?p", args[1]) is not None
            and all(not a.startswith("-") for a in args[2:]))


def _script_is_read_only(script: str) -> bool:
    if "`" in script or "$(" in script or "\n" in script.strip():
        return False
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return False
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in SCRIPT_SEPARATORS:
            commands.append([])
        elif token and all(c in "();<>|&" for c in token):
            return False  # redirection, background job or subshell
        else:
            commands[-1].append(token)
    return all(cmd and is_read_only(cmd) for cmd in commands)


def remember_key(request: ApprovalRequest) -> tuple[str, ...]:
    """What "yes, always" covers: patches as a whole, `bash -lc` scripts exactly, otherwise the
    program plus its subcommand when it has one (`git push`, `make test`), else the program."""
    if request.kind == "patch":
        return ("apply_patch",)
    argv = request.command
    prog = os.path.basename(argv[0])
    if prog in SHELLS and len(argv) >= 3 and argv[1].startswith("-") and "c" in argv[1]:
        return (prog, argv[1], argv[2])
    if prog in WITH_SUBCOMMANDS and len(argv) > 1 and SUBCOMMAND.match(argv[1]):
        return (prog, argv[1])
    return (prog,)


def describe_key(key: tuple[str, ...]) -> str:
    if key == ("apply_patch",):
        return "patches"
    if len(key) == 3:
        return "this exact script"
    return "`" + " ".join(key) + "` commands"


@dataclass
class Choice:
    """The user's answer: "yes", "always" or "no" (with what the model should do instead)."""

    answer: str
    feedback: str | None = None


Ask = Callable[[ApprovalRequest, str], Choice]


@dataclass
class Approvals:
    """The Approver handed to open_session. `ask(request, always_label)` is the front end's dialog;
    it may raise KeyboardInterrupt, which cancels the turn like Codex's "cancel"."""

    policy: str
    sandbox_mode: str
    ask: Ask
    remembered: set = field(default_factory=set)
    failed: dict = field(default_factory=dict)  # call_id -> exit code of its last failed run

    def needs_approval(self, request: ApprovalRequest) -> bool:
        if self.policy in ("never", "on-failure") or remember_key(request) in self.remembered:
            return False
        if request.kind == "patch":
            return self.policy == "untrusted"
        if is_read_only(request.command):
            return False
        return not (self.policy == "on-request" and self.sandbox_mode == "danger-full-access")

    def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        if not self.needs_approval(request):
            return ApprovalDecision(True)
        return self._decide(request)

    def _decide(self, request: ApprovalRequest) -> ApprovalDecision:
        key = remember_key(request)
        choice = self.ask(request, describe_key(key))
        if choice.answer == "always":
            self.remembered.add(key)
        if choice.answer in ("yes", "always"):
            return ApprovalDecision(True)
        return ApprovalDecision(False, choice.feedback or None)

    # -- on-failure ---------------------------------------------------------------------------

    def listen(self, event: ev.Event) -> None:
        """Bus listener: remembers which calls failed, for `retry_failed`."""
        if isinstance(event, ev.ToolResult) and event.name == "shell":
            code = event.metadata.get("exit_code")
            if code not in (0, None):
                self.failed[event.call_id] = code
            else:
                self.failed.pop(event.call_id, None)

    def retry_failed(self, call_id: str, request: ApprovalRequest) -> ApprovalDecision | None:
        """Asked by the toolbox after a command ran: under on-failure, a failed command is offered
        again. Approved = run it again; declined with feedback = tell the model; None = done."""
        code = self.failed.pop(call_id, None)
        if self.policy != "on-failure" or code is None:
            return None
        retry = ApprovalRequest("retry", request.command, request.cwd, diff=f"exit code {code}")
        choice = self.ask(retry, "")
        if choice.answer in ("yes", "always"):
            return ApprovalDecision(True)
        return ApprovalDecision(False, choice.feedback or None)


def command_text(argv: list[str]) -> str:
    """How a command is shown in a prompt: the script itself for `bash -lc SCRIPT`."""
    if len(argv) == 3 and os.path.basename(argv[0]) in SHELLS and argv[1].startswith("-"):
        return argv[2]
    return shlex.join(argv)
