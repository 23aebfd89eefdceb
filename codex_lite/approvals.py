"""When to ask the user before a command runs or a patch is applied, and how to remember answers.

Policies keep Codex's names. Codex pairs them with an OS sandbox; codex-lite has none for commands
(only its patch engine confines writes to the workspace), so each policy is mapped onto what we can
actually enforce:

- `untrusted`: ask for everything except read-only commands (security/read_only.py: a strict reading of the
  shell syntax, an allow-list of programs with their options, found on PATH outside the workspace),
  patches included.
- `on-request` (default): in Codex the model runs freely inside the sandbox and asks to leave it.
  Here patches *are* sandboxed (sandbox_mode decides where they may write), so they run without
  asking, except a patch that touches what can make a program run later: anything under `.git`
  or in a folder git takes for a repository whatever its name (config, hooks), an existing
  executable file, Python start-up files (`*.pth`, `sitecustomize.py`), the shell and git
  start-up files and `.ssh` of the home folder, or $CODEX_HOME (codex-lite's own config). A
  command other than a read-only one cannot be confined, so it counts as leaving the sandbox and
  is asked about, unless sandbox_mode is danger-full-access (nothing to leave).
- `on-failure`: everything runs without asking; when a command fails the user is asked whether to
  run it again (e.g. after fixing something by hand) or to tell the model what to do instead.
- `never`: never ask. `codex-lite exec` always behaves like this (it has no one to ask).

"Yes, always" is remembered for the session on the program's absolute path (as PATH finds it), its
subcommand, the exact options that matter (words starting with `-` or holding `=`) and the folder
(anywhere in the workspace, or that one folder outside it), with any other arguments:
`/usr/bin/git push` does not cover `/usr/bin/git push --force`. Shells and other programs that run code given to them (`bash -lc SCRIPT`, `python3 -c`, `env`, `xargs`, ...) or
take a program in an option's value (`tar cIf PROG`, `rsync -e CMD`), subcommands whose words run
or configure (`git config`, `git rebase -x CMD`, `npm exec`), git with options before its
subcommand (`git -c ...`), and programs that are not a bare name found outside the workspace
(`./build.sh`) are only ever remembered exactly, together with the contents of the workspace files
they name, so an edited script is asked about again.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable

from codex_lite.records import dataclass, field
from codex_lite.security import read_only
from codex_lite.shell_names import ALL_SHELLS
from codex_lite.tools.toolbox import ApprovalDecision, ApprovalRequest

# Programs whose arguments are code or another command: remembered only exactly.
RUNS_CODE = ALL_SHELLS | {
    "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "deno", "bun", "php", "lua",
    "luajit", "tclsh", "awk", "gawk", "mawk", "nawk", "busybox", "env", "xargs", "sudo", "doas", "su",
    "nice", "nohup", "timeout", "time", "strace", "ltrace", "gdb", "watch", "setsid", "chroot", "flock",
    "stdbuf", "unshare", "nsenter", "ionice", "taskset", "chrt", "ssh", "eval", "exec", "command",
    "find", "sed", "git-shell",
    # a program or command in an option's value or an old-style option word (`tar cIf PROG`,
    # `rsync -e CMD`, `scp -S PROG`, `zip -TT CMD`, `vim -c '!CMD'`, `less` with `!`)
    "tar", "rsync", "scp", "sftp", "zip", "cpio", "less", "more", "man", "vi", "vim", "nvim", "view",
    "ex", "emacs",
}
# Subcommands whose other words are a command to run or a setting that decides what runs later.
RUNS_CODE_SUBCOMMANDS = {
    "git": {"config", "rebase", "bisect", "submodule", "filter-branch", "difftool", "mergetool"},
    "npm": {"exec", "x"}, "pnpm": {"exec", "dlx"}, "yarn": {"exec", "dlx"},
}
SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_-]*$")
WITH_SUBCOMMANDS = {"git", "npm", "pnpm", "yarn", "pip", "pip3", "cargo", "go", "make", "apt", "apt-get",
                    "opkg", "apk", "pkg", "docker", "podman", "systemctl", "service", "uci", "kubectl",
                    "brew", "dnf", "yum", "gh", "poetry", "uv", "npx", "cmake", "ninja", "just"}
# Files in the home folder that make programs run (shell start-up files, git's global config) or
# let someone in (ssh); they matter when the workspace holds the home folder (/root on a router).
HOME_FILES = (".profile", ".bash_profile", ".bash_login", ".bashrc", ".bash_logout", ".zshenv",
              ".zprofile", ".zshrc", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".shrc", ".gitconfig",
              ".config/git/config", ".config/git/attributes", ".ssh")
# Names that make Python run code at start-up wherever a site folder holds them (codex-lite too).
PYTHON_START_UP = ("sitecustomize.py", "usercustomize.py")
_FINGERPRINT_BYTES = 1 << 20


# -- patches --------------------------------------------------------------------------------------


def sensitive_paths(patch: str, root: str, cwd: str | None = None, real: bool = False) -> list[str]:
    """The paths (as written, or with `real` the files they lead to) a patch would touch that can
    make a program run later: anything in a
    `.git` folder or named `.git` or in a git folder by another name, an existing executable file,
    Python's `.pth` and `sitecustomize.py`/`usercustomize.py`, in the home folder the start-up files
    of shells, git's global config and `.ssh`, and $CODEX_HOME. Paths the engine refuses anyway
    (outside the workspace) are left out."""
    from codex_lite.tools import patch_fs
    from codex_lite.tools.patch_parse import PatchSyntaxError, parse_patch

    try:
        ops = parse_patch(patch)
    except PatchSyntaxError:
        return []  # the engine refuses it with the reason
    home = _home_files()
    out: list[str] = []
    for op in ops:
        for path in (op.path, op.move_to):
            if not path:
                continue
            try:
                full = patch_fs.resolve(root, path, False, cwd)
            except patch_fs.FsError:
                continue
            shown = os.path.realpath(full) if real else path
            if _sensitive(full, home) and shown not in out:
                out.append(shown)
    return out


def _sensitive(full: str, home: set[str]) -> bool:
    real = os.path.realpath(full)
    for candidate in (full, real):
        if any(part.lower() == ".git" for part in candidate.split(os.sep)):
            return True
        name = os.path.basename(candidate)
        if name.endswith(".pth") or name in PYTHON_START_UP:
            return True
    try:
        if os.path.isfile(real) and os.stat(real).st_mode & 0o111:
            return True
    except OSError:
        pass
    return any(real == h or real.startswith(h + os.sep) for h in home) or _in_git_dir(real)


def _in_git_dir(real: str) -> bool:
    """Is `real` inside a folder that git takes for a repository, whatever its name? A `.git` file
    (`gitdir: meta`), `git init --separate-git-dir` or a bare `repo.git` put the config and hooks
    of a repository in a folder that is not called `.git`. git recognises one by its HEAD file
    with objects/ and refs/ folders beside it (or a commondir file, for a worktree's)."""
    folder = real
    while True:
        if os.path.isfile(os.path.join(folder, "HEAD")) and (
                os.path.isfile(os.path.join(folder, "commondir"))
                or (os.path.isdir(os.path.join(folder, "objects")) and os.path.isdir(os.path.join(folder, "refs")))):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _home_files() -> set[str]:
    """The start-up files of the home folder, and $CODEX_HOME: codex-lite's own config.toml
    (approval policy, the server the API key goes to), patch journal and sessions."""
    from codex_lite.config import codex_home

    home = os.path.expanduser("~")
    names = {os.path.join(home, n) for n in HOME_FILES} | {codex_home()}
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        names |= {os.path.join(xdg, "git", "config"), os.path.join(xdg, "git", "attributes")}
    return {os.path.realpath(n) for n in names}


# -- remembering "yes, always" ----------------------------------------------------------------------


def remember_key(request: ApprovalRequest) -> tuple:
    """What "yes, always" covers (see the module docstring)."""
    root = request.root or request.cwd
    if request.kind == "patch":
        # the files themselves: `.git/config` written from another folder is another file
        return ("apply_patch", *sensitive_paths(request.diff, root, request.cwd, real=True))
    argv = request.command
    name = argv[0]
    program = _program_path(name, request.cwd, root, read_only.search_path(request.env))
    base = os.path.basename(name)
    exact = (program is None or "/" in name or base in RUNS_CODE
             or (base in WITH_SUBCOMMANDS and len(argv) > 1 and not SUBCOMMAND.match(argv[1]))
             or (len(argv) > 1 and argv[1] in RUNS_CODE_SUBCOMMANDS.get(base, ())))
    where = _where(request.cwd, root)
    if exact:
        return ("exact", program or name, *argv[1:], *_fingerprints(argv, request.cwd, root), where)
    sub = argv[1] if base in WITH_SUBCOMMANDS and len(argv) > 1 else ""
    rest = argv[2:] if sub else argv[1:]
    options = tuple(sorted({a for a in rest if (a.startswith("-") and a != "-") or "=" in a}))
    return ("program", program, sub, options, where)


def _where(cwd: str, root: str) -> str:
    """The folder part of a key: "" anywhere in the workspace, else the folder itself (the model
    chooses `workdir`: `rm -f x` allowed in the workspace must not cover `rm -f passwd` in /etc)."""
    real, real_root = os.path.realpath(cwd), os.path.realpath(root)
    return "" if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep) else real


def _program_path(name: str, cwd: str, root: str, path: str) -> str | None:
    """The file that runs: PATH's find for a bare name (None when it is in the workspace or not
    found), else the path itself, made absolute."""
    if "/" not in name:
        return read_only.find_program(name, root, path)
    return os.path.realpath(os.path.join(cwd, name))


def _fingerprints(argv: list[str], cwd: str, root: str) -> tuple[str, ...]:
    """sha256 of every workspace file the command names, the words of a readable script included,
    so that approving `./build.sh` or `bash -lc ./build.sh` once does not approve an edited one."""
    import hashlib

    words = list(argv)
    script = read_only.shell_script(argv)
    if script is not None:
        commands = read_only.sh_syntax.read(script[1]) or []
        words += [w.text for command in commands for w in command]
    real_root = os.path.realpath(root)
    out = []
    for word in dict.fromkeys(words):
        full = os.path.realpath(os.path.join(cwd, word)) if word else ""
        if not full.startswith(real_root.rstrip(os.sep) + os.sep) or not os.path.isfile(full):
            continue
        try:
            with open(full, "rb") as fh:
                digest = hashlib.sha256(fh.read(_FINGERPRINT_BYTES)).hexdigest()
            out.append(f"{word}@{digest}@{os.path.getsize(full)}")
        except OSError:
            continue
    return tuple(out)


def describe_key(key: tuple) -> str:
    """How the dialog names what "yes, always" covers."""
    if key[0] == "apply_patch":
        return "patches" if len(key) == 1 else "patches to " + ", ".join(key[1:])
    where = f" in {key[-1]}" if key[-1] else ""
    if key[0] == "exact":
        return "this exact command" + where
    _, program, sub, options, _ = key
    words = " ".join([program] + ([sub] if sub else []) + list(options))
    return f"`{words}` with any other arguments{where}"


@dataclass
class Choice:
    """The user's answer: "yes", "always" or "no" (with what the model should do instead)."""

    answer: str
    feedback: str | None = None


Ask = Callable[[ApprovalRequest, str], Choice]


@dataclass
class Approvals:
    """The Approver (tools.toolbox.Approver) handed to open_session. `ask(request, always_label)`
    is the front end's dialog; it may raise KeyboardInterrupt, which cancels the turn like Codex's
    "cancel". Where patches may write (sandbox_mode) is the toolbox's, read from each request."""

    policy: str
    ask: Ask
    remembered: set = field(default_factory=set)

    def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        if self.policy in ("never", "on-failure"):
            return ApprovalDecision(True)
        if request.kind == "patch":
            return self._patch(request)
        verdict = read_only.classify(request.command, request.cwd, request.root or request.cwd,
                                     env=request.env)
        if verdict.read_only:
            return ApprovalDecision(True, read_only=True)
        if self.policy == "on-request" and request.sandbox_mode == "danger-full-access":
            return ApprovalDecision(True)
        return self._decide(request, remember_key(request))

    def _patch(self, request: ApprovalRequest) -> ApprovalDecision:
        key = remember_key(request) if request.sandbox_mode != "danger-full-access" else ("apply_patch",)
        if len(key) == 1 and self.policy != "untrusted":
            return ApprovalDecision(True)
        if len(key) > 1:
            written = sensitive_paths(request.diff, request.root or request.cwd, request.cwd)
            request.reason = ("This patch changes " + ", ".join(written) + ": files that can make a "
                              "program run later (git config or hooks, an executable, a start-up file, "
                              "codex-lite's own config).")
        return self._decide(request, key)

    def _decide(self, request: ApprovalRequest, key: tuple) -> ApprovalDecision:
        if key in self.remembered:
            return ApprovalDecision(True)
        choice = self.ask(request, describe_key(key))
        if choice.answer == "always":
            self.remembered.add(key)
        if choice.answer in ("yes", "always"):
            return ApprovalDecision(True)
        return ApprovalDecision(False, choice.feedback or None)

    def retry_failed(self, request: ApprovalRequest, exit_code: int | None) -> ApprovalDecision | None:
        """Asked by the toolbox after a command ran: under on-failure, a failed command is offered
        again. Approved = run it again; declined with feedback = tell the model; None = done."""
        if self.policy != "on-failure" or exit_code in (0, None):
            return None
        retry = ApprovalRequest("retry", request.command, request.cwd, exit_code=exit_code)
        choice = self.ask(retry, "")
        if choice.answer in ("yes", "always"):
            return ApprovalDecision(True)
        return ApprovalDecision(False, choice.feedback or None)


def command_text(argv: list[str]) -> str:
    """How a command is shown in a prompt: the script itself for `bash -lc SCRIPT` (a shell found
    on PATH, options that only make it read a script from -c), otherwise every word. `bash -e ls`
    runs the file `ls` and `./bash -c ls` the workspace's own bash: both are shown whole."""
    if len(argv) == 3 and read_only.shell_script(argv) is not None:
        return argv[2]
    return shlex.join(argv)
