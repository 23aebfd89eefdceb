"""git as a read-only program: which subcommands and options, and how it runs so that no
configuration can start a program.

    git_folders(args) -> list[str] | None      the -C folders of a read-only git command, or None
    hardened_env(base) -> dict                 the environment every read-only command runs with
    config_runs_programs(git, folder) -> bool  does git's config there, or in a submodule, name a
                                               driver (then: ask)

git reads `.git/config`, which a patch or a hostile repository can write, and several settings
start programs (fsmonitor, hooks, pager, gpg, external diff, textconv and filter drivers, fetches
of a partial clone). Read-only git commands therefore run with `GIT_CONFIG_PARAMETERS` (the `-c`
of the command line, which beats the system, global and repository config files, included ones
too) switching off every such setting with a fixed name. Settings whose names the config itself
chooses (`diff.<driver>.textconv`, `filter.<driver>.clean`, ...) cannot be switched off by name
in advance; `config_runs_programs` reads the effective config (`git config --list` only reads
files) and any of them means "ask", in the repository and in each checked-out submodule (git runs
`git status` inside every one, with that submodule's own config). The alternative, trusting git when its config looks clean,
would depend on reading every config file exactly as git does; the overrides do not.
"""

from __future__ import annotations

import os
from typing import Callable

from codex_lite.security.program_options import Options, Parsed, options, parse_options
from codex_lite.tools.sh_syntax import Word


def _no_operands(p: Parsed) -> bool:
    return not p.operands


_DIFF = options(
    flags="pusRaWwbz", values="SGI", optional="MCBUX",
    long="patch no-patch raw patch-with-raw patch-with-stat compact-summary numstat shortstat summary "
         "name-only name-status check full-index binary no-color irreversible-delete text "
         "ignore-space-at-eol ignore-space-change ignore-all-space ignore-blank-lines ignore-cr-at-eol "
         "minimal patience histogram indent-heuristic no-indent-heuristic function-context exit-code "
         "quiet no-ext-diff no-textconv no-prefix default-prefix ita-invisible-in-index "
         "ita-visible-in-index no-relative cumulative no-color-moved rename-empty no-rename-empty "
         "pickaxe-all pickaxe-regex no-renames find-copies-harder",
    long_values="diff-algorithm src-prefix dst-prefix line-prefix unified inter-hunk-context "
                "diff-filter color-moved-ws ws-error-highlight anchored ignore-matching-lines "
                "stat-width stat-name-width stat-count stat-graph-width output-indicator-new "
                "output-indicator-old output-indicator-context",
    long_optional="stat color color-words word-diff find-renames find-copies break-rewrites abbrev "
                  "relative dirstat dirstat-by-file color-moved ignore-submodules word-diff-regex")
_LOG = options(
    flags="iEFPgmct", values="nL", numeric=True,
    long="oneline graph all decorate no-decorate source abbrev-commit no-abbrev-commit full-history "
         "simplify-by-decoration simplify-merges dense sparse first-parent merges no-merges "
         "no-min-parents no-max-parents reverse topo-order date-order author-date-order left-right "
         "left-only right-only cherry cherry-mark cherry-pick boundary follow do-walk parents children "
         "relative-date no-expand-tabs no-notes all-match invert-grep regexp-ignore-case basic-regexp "
         "extended-regexp fixed-strings perl-regexp remove-empty not mailmap no-mailmap use-mailmap "
         "no-use-mailmap log-size single-worktree reflog walk-reflogs cc combined-all-paths "
         "no-diff-merges full-diff no-walk",
    long_values="glob exclude decorate-refs decorate-refs-exclude min-parents max-parents date format "
                "encoding max-count skip since after until before since-as-filter author committer "
                "grep grep-reflog diff-merges",
    long_optional="branches tags remotes pretty expand-tabs notes ancestry-path show-linear-break")
_STATUS = options(flags="sbvz", optional="u",
                long="short branch show-stash long verbose no-column ahead-behind no-ahead-behind "
                     "renames no-renames null",
                long_optional="porcelain untracked-files ignored ignore-submodules column find-renames")
_LS_FILES = options(flags="cdmoiskuzvtf", values="xX",
                  long="cached deleted modified others ignored stage killed unmerged directory "
                       "no-empty-directory eol full-name error-unmatch exclude-standard sparse "
                       "deduplicate debug resolve-undo",
                  long_values="exclude exclude-from exclude-per-directory format with-tree",
                  long_optional="abbrev")
_LS_TREE = options(flags="rdtlz", long="long name-only name-status object-only full-name full-tree",
                 long_values="format", long_optional="abbrev")
_REV_PARSE = options(
    flags="q",
    long="show-toplevel show-prefix show-cdup git-dir absolute-git-dir git-common-dir is-inside-work-tree "
         "is-inside-git-dir is-bare-repository is-shallow-repository show-superproject-working-tree "
         "verify quiet symbolic symbolic-full-name all revs-only no-revs flags no-flags sq not "
         "local-env-vars show-ref-format end-of-options",
    long_values="default prefix git-path resolve-git-dir since until after before disambiguate glob "
                "exclude",
    long_optional="abbrev-ref short branches tags remotes show-object-format")
_BLAME = options(flags="blstfnepwc", values="LS", optional="MC",
               long="root show-stats score-debug show-name show-number show-email porcelain "
                    "line-porcelain incremental minimal color-lines color-by-age progress no-progress "
                    "first-parent reverse no-textconv",
               long_values="date since ignore-rev ignore-revs-file contents encoding",
               long_optional="abbrev")
_GREP = options(flags="aiIwvhHElLcoqzFGPnpWr", values="eAfBCm",
              long="cached untracked no-index no-exclude-standard exclude-standard text ignore-case "
                   "word-regexp invert-match full-name extended-regexp basic-regexp perl-regexp "
                   "fixed-strings line-number column files-with-matches name-only files-without-match "
                   "null count heading break show-function function-context only-matching quiet "
                   "all-match and or not no-textconv recursive no-recursive no-color",
              long_values="threads max-depth after-context before-context context max-count regexp",
              long_optional="color")
_BRANCH = options(flags="arvl",
                long="list all remotes verbose show-current no-color ignore-case omit-empty no-column "
                     "no-abbrev",
                long_values="sort format points-at",
                long_optional="color column abbrev contains no-contains merged no-merged")
_TAG = options(flags="l", optional="n",
             long="list no-column ignore-case omit-empty",
             long_values="sort format points-at",
             long_optional="color column contains no-contains merged no-merged")
_DESCRIBE = options(long="all tags contains long always first-parent exact-match debug",
                  long_values="candidates match exclude", long_optional="dirty broken abbrev")
_SHORTLOG = options(flags="nsec", optional="w",
                  long="numbered summary email committer all no-merges merges first-parent reverse",
                  long_values="group format since after until before author committer grep")
_MERGE_BASE = options(flags="a", long="all octopus independent is-ancestor fork-point")
_SHOW_REF = options(flags="sqd", long="head heads tags branches verify quiet dereference exists",
                  long_optional="hash abbrev")
_FOR_EACH_REF = options(long="shell perl python tcl ignore-case omit-empty include-root-refs",
                      long_values="format sort count points-at exclude",
                      long_optional="merged no-merged contains no-contains")
_CHECK_IGNORE = options(flags="qvnz", long="quiet verbose non-matching no-index stdin")
_COUNT_OBJECTS = options(flags="vH", long="verbose human-readable")
_CAT_FILE = options(flags="tspe")
_REMOTE = options(flags="v", long="verbose push all")


def _branch(p: Parsed) -> bool:
    """Operands are patterns only in list mode; otherwise they create a branch."""
    return not p.operands or p.has("l", "list", "contains", "no-contains", "merged", "no-merged",
                                   "points-at")


def _tag(p: Parsed) -> bool:
    return not p.operands or p.has("l", "list", "n", "contains", "no-contains", "merged", "no-merged",
                                   "points-at")


def _remote(p: Parsed) -> bool:
    """`git remote [-v]` lists; `git remote get-url NAME` prints (anything else may write or fetch)."""
    words = [w.text for w in p.operands]
    return not words or (words[0] == "get-url" and len(words) == 2)


def _cat_file(p: Parsed) -> bool:
    return len(p.operands) <= 2 and bool(p.options) != (len(p.operands) == 2)


GIT_SUBCOMMANDS: dict[str, tuple[Options, Callable[[Parsed], bool] | None]] = {
    "status": (_STATUS, None), "diff": (_DIFF | options(long="cached staged merge-base no-index"), None),
    "log": (_DIFF | _LOG, None), "show": (_DIFF | _LOG, None), "blame": (_BLAME, None),
    "grep": (_GREP, None), "ls-files": (_LS_FILES, None), "ls-tree": (_LS_TREE, None),
    "rev-parse": (_REV_PARSE, None), "branch": (_BRANCH, _branch), "tag": (_TAG, _tag),
    "remote": (_REMOTE, _remote), "cat-file": (_CAT_FILE, _cat_file), "describe": (_DESCRIBE, None),
    "shortlog": (_SHORTLOG, None), "merge-base": (_MERGE_BASE, None), "show-ref": (_SHOW_REF, None),
    "for-each-ref": (_FOR_EACH_REF, None), "check-ignore": (_CHECK_IGNORE, None),
    "count-objects": (_COUNT_OBJECTS, None), "version": (options(), _no_operands),
}

# Settings that run a program, switched off by name for read-only git commands; `-c` on the
# command line (GIT_CONFIG_PARAMETERS) beats the system, global and repository config.
GIT_OVERRIDES = (
    "core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat", "core.sshCommand=/dev/null",
    "safe.bareRepository=explicit", "log.showSignature=false", "gpg.program=/dev/null",
    "gpg.openpgp.program=/dev/null", "gpg.x509.program=/dev/null", "gpg.ssh.program=/dev/null",
    "diff.ignoreSubmodules=all", "status.submoduleSummary=false", "submodule.recurse=false",
    "protocol.allow=never", "protocol.ext.allow=never", "protocol.file.allow=never",
    "protocol.git.allow=never", "protocol.ssh.allow=never", "protocol.http.allow=never",
    "protocol.https.allow=never",
)


def hardened_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a command that runs without asking because it is read-only."""
    env = dict(os.environ if base is None else base)
    params = " ".join(f"'{setting}'" for setting in GIT_OVERRIDES)
    env["GIT_CONFIG_PARAMETERS"] = (env.get("GIT_CONFIG_PARAMETERS", "") + " " + params).strip()
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_PAGER="cat", GIT_NO_LAZY_FETCH="1", GIT_TERMINAL_PROMPT="0")
    env.pop("GIT_EXTERNAL_DIFF", None)
    return env


def git_folders(args: list[Word]) -> list[str] | None:
    """The `-C` folders of a read-only git command (in order), or None when it is not read-only."""
    folders: list[str] = []
    i = 0
    while i < len(args) and args[i].text.startswith("-"):
        t = args[i].text
        if t == "-C" and i + 1 < len(args) and not args[i + 1].glob:
            folders.append(args[i + 1].text)
            i += 2
        elif t in ("--no-pager", "-P", "--no-optional-locks", "--version"):
            i += 1
        else:
            return None  # -c, --config-env, --exec-path, --git-dir, --work-tree, -p ...
    if i == len(args):
        return folders if args and args[-1].text == "--version" else None
    sub = args[i]
    if sub.glob or sub.text not in GIT_SUBCOMMANDS:
        return None
    spec, check = GIT_SUBCOMMANDS[sub.text]
    parsed = parse_options(args[i + 1:], spec)
    if parsed is None or (check is not None and not check(parsed)):
        return None
    return folders


# Submodules whose config is read before we give up and ask (each costs two git runs).
MAX_SUBMODULES = 16


def config_runs_programs(git: str, folder: str, env: dict[str, str] | None = None,
                         diff_drivers: bool = True) -> bool:
    """Does git's effective config in `folder`, or in any populated submodule of its repository,
    name a driver or helper we cannot switch off by name (or can it not be read)? A command in
    the superproject runs `git status` inside each submodule, with that submodule's config.
    `git config --list` and `git ls-files` only read files. `env`: the environment the git
    command will have (its GIT_CONFIG_* variables count). `diff_drivers=False`: the command
    passes --no-ext-diff --no-textconv, so external diff and textconv drivers do not count."""
    if not os.path.isdir(folder):
        return False  # git cannot even start there
    todo, seen = [folder], 0
    while todo:
        where = todo.pop()
        seen += 1
        if seen > MAX_SUBMODULES + 1:
            return True
        entries = _git_output(git, where, env, "config", "--list", "-z")
        if entries is None:
            return True
        for entry in entries:
            key, _, value = entry.partition("\n")
            if _runs_program(key.lower(), value.strip().lower(), diff_drivers):
                return True
        subs = _populated_submodules(git, where, env)
        if subs is None:
            return True
        todo += subs
    return False


def _git_output(git: str, folder: str, env: dict[str, str] | None, *args: str) -> list[str] | None:
    """The NUL-separated output of `git ARGS` in `folder` (hardened), None when it failed."""
    import subprocess

    try:
        done = subprocess.run([git, *args], cwd=folder, env=hardened_env(env), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return [e for e in done.stdout.decode("utf-8", "surrogateescape").split("\0") if e]


def _populated_submodules(git: str, folder: str, env: dict[str, str] | None) -> list[str] | None:
    """The checked-out submodules of the repository `folder` is in (gitlinks with a `.git` in
    their folder), as absolute paths; [] outside a repository; None when git failed."""
    top = _git_output(git, folder, env, "rev-parse", "--show-toplevel")
    if top is None:
        return []  # not in a work tree (a bare repository or no repository): no submodules run
    root = top[0].rstrip("\n")
    listing = _git_output(git, root, env, "ls-files", "--stage", "-z")
    if listing is None:
        return None
    subs = []
    for entry in listing:
        meta, _, path = entry.partition("\t")
        if meta.startswith("160000 ") and os.path.lexists(os.path.join(root, path, ".git")):
            subs.append(os.path.join(root, path))
    return subs


def _runs_program(key: str, value: str, diff_drivers: bool = True) -> bool:
    section, _, rest = key.partition(".")
    name = rest.rpartition(".")[2]
    if key == "extensions.partialclone" or (diff_drivers and key == "diff.external"):
        return True
    if diff_drivers and section == "diff" and "." in rest and name in ("command", "textconv"):
        return True
    if section == "filter" and "." in rest and name in ("clean", "smudge", "process"):
        return True
    return section == "remote" and name == "promisor" and value not in ("false", "no", "off", "0")
