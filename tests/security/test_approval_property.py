"""Property: what the approval policy lets run without asking does only read.

Shell strings are generated from a grammar that mixes allow-listed programs and their everyday
options with options that write or run programs, workspace programs named like safe ones, and the
shell constructs the strict reader must refuse (comments inside words, `$'..'`, expansions,
substitutions, brace expansion, here-strings, process substitution, redirections, assignments,
escapes, subshells). Whenever `read_only.classify` says read-only, the string runs the way the
shell tool runs it (search rails, shell resolution, `hardened_env`) in a scratch copy of a hostile
repository (its .git/config names an fsmonitor and a hooks folder that would create a sentinel),
under `strace -f -e trace=execve`. It may execute only allow-listed programs found on PATH (plus
what the system's login start-up files run, measured once), and every file in the copy and beside
it must be unchanged (git's index may only refresh its stat cache: its entries are compared).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from approval_support import commit_all, executable, git
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.git import make_git_repo

from codex_lite.security.read_only import CHECKS, classify, find_program, hardened_env
from codex_lite.shell_names import READ_SHELLS
from codex_lite.tools import search_rails, shells

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is installed by scripts/test")
EXAMPLES = int(os.environ.get("APPROVAL_PROPERTY_EXAMPLES", "250"))
S = "@S@"  # stands for the sentinel's absolute path

READS = [
    "ls", "ls -la", "ls *.py", "ls src/*", "cat README.md", "cat calc.py notes.txt", "head -n 2 notes.txt",
    "tail -1 notes.txt", "wc -l calc.py", "grep -rn add .", "grep -i first notes.txt", "egrep -c 'a|b' notes.txt",
    "find . -name '*.py'", "find . -maxdepth 1 -type f -print", "find src -newer calc.py", "sed -n 1p calc.py",
    "sed -n '1,2p;$p' notes.txt", "sed 's/first/1st/g' notes.txt", "sort notes.txt", "sort -r -u -k1,1 notes.txt",
    "uniq -c notes.txt", "git status", "git status --short", "git log --oneline -3", "git diff", "git diff --stat",
    "git show HEAD", "git grep -n add", "git branch", "git rev-parse HEAD", "git ls-files", "git -C src log -1",
    "git blame calc.py", "printf '%s\\n' x y", "echo hi there", "test -f calc.py", "[ -d src ]", "pwd", "true",
    "false", "date +%s", "file calc.py", "stat calc.py", "du -sh .", "tree", "tree -L 1", "cd src", "cd ..",
    "set -eu", "set -o pipefail", "which ls", "id -u", "uname -a", "cut -c1-3 notes.txt", "tr a b",
    "basename src/m.py", "realpath notes.txt", "seq 3", "md5sum calc.py", "diff calc.py notes.txt",
    "hostname", "df -h .", "nl notes.txt", "od -c notes.txt", "git -C vendor status",
    f"cat {S}.never",
]
WRITES_OR_RUNS = [
    f"touch {S}", "rm -f calc.py", "find . -delete", f"find . -exec touch {S} ';'", f"find . -fprint {S}",
    "sed -i s/add/sub/ calc.py", f"sed 's/a/b/w {S}' calc.py", f"sed -n '1e touch {S}' calc.py",
    f"sed -n 'w {S}' calc.py", f"sort -o {S} calc.py", f"sort -ro{S} calc.py", f"sort --out={S} calc.py",
    "sort -S 1k --compress-program=sh data.txt", f"uniq calc.py {S}", f"tree -o {S}", "file -C -m magic",
    f"git -c core.fsmonitor='touch {S}' status", f"git grep -O'touch {S}' add", f"git log --output={S}",
    "git branch evil", "git tag evil", "printf -v x y", "test -v x", f"printf -v 'a[$(touch {S})]' x",
    f"test -v 'a[$(touch {S})]'", "date -s 'not a date'", "hostname 'bad name!'",
    f"python3 -c 'open(\"{S}\", \"w\")'", "./ls", "scripts/test", f"cp calc.py {S}", f"tee {S}",
    f"env touch {S}", f"xargs touch {S}", f"awk 'BEGIN {{ system(\"touch {S}\") }}'", "set -k",
]
# What may follow a command: harmless words and redirections, and the constructs to refuse.
HARMLESS = [" 'a b'", ' "q"', " *", " src/*", " 2>/dev/null", " >/dev/null", " 2>&1", " </dev/null", " >&2",
            " # a comment"]
RISKY = [" x#", " $'\\x41'", " ${x}", " $x", f" $(touch {S})", f" `touch {S}`", " {a,b}", " ~", " \\;",
         " a=1", " -*", " <(true)", " <<< x", " x\\#", f" > {S}", f" >> {S}", " &>/dev/null", f" 2>{S}",
         f" >| {S}", f" 3>{S}", " =ls", " x^y", " **", " [ab]"]
PREFIXES = ["a=1 ", "! ", "time ", "( ", "{ ", "exec ", "command ", "\\"]
SEPARATORS = ["; ", " && ", " || ", " | ", "\n"]
BAD_SEPARATORS = [" & ", " ;; ", " |& ", " ; ; "]


@st.composite
def scripts(draw) -> str:
    """One to three commands; each is left alone, given a harmless suffix, or given one of the
    constructs and programs the reader and the allow-list must refuse."""
    parts = []
    for n in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 9))
        command = draw(st.sampled_from(WRITES_OR_RUNS if kind == 0 else READS))
        if kind in (1, 2):
            command += draw(st.sampled_from(HARMLESS))
        elif kind == 3:
            command += draw(st.sampled_from(RISKY))
        elif kind == 4:
            command = draw(st.sampled_from(PREFIXES)) + command
        if n:
            parts.append(draw(st.sampled_from(BAD_SEPARATORS if kind == 5 else SEPARATORS)))
        parts.append(command)
    return "".join(parts)


@st.composite
def commands(draw) -> list[str]:
    """Mostly `bash -lc` / `sh -c` scripts, sometimes a direct argv of one read."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(READS + WRITES_OR_RUNS)).replace("'", "").split()
    return [draw(st.sampled_from(["bash", "sh"])), draw(st.sampled_from(["-lc", "-c"])), draw(scripts())]


class Scene:
    """A hostile repository, its outside folder, and what the system's start-up files execute."""

    def __init__(self) -> None:
        self.top = Path(tempfile.mkdtemp(prefix="codex-lite-property-"))
        self.home = self.top / "home"
        self.home.mkdir()
        self.outside = self.top / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("precious\n")
        self.sentinel = self.outside / "pwned"
        self.template = self._repository()
        self.env = hardened_env({
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.home),
            "LANG": "C.UTF-8", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        })
        self.allowed = {os.path.realpath(p) for p in self._allowed_programs()}
        self.allowed |= set(self._traced(["bash", "-lc", "true"], self.top)[0])
        self.allowed |= set(self._traced(["sh", "-lc", "true"], self.top)[0])

    def _repository(self) -> Path:
        repo = make_git_repo(self.top / "template")
        touch = f"touch {self.sentinel}"
        (repo / "src").mkdir()
        (repo / "src" / "m.py").write_text("x = 1\n")
        (repo / "data.txt").write_text(f"{touch}\n" * 3000)
        (repo / "magic").write_text("0\tstring\tHELLO\thello file\n")
        executable(repo / "ls", f"#!/bin/sh\n{touch}\n")
        executable(repo / "scripts" / "test", f"#!/bin/sh\n{touch}\n")
        executable(repo / "hooks" / "post-index-change", f"#!/bin/sh\n{touch}\n")
        commit_all(repo)
        git(repo, "config", "core.fsmonitor", touch)
        git(repo, "config", "core.hooksPath", "hooks")
        git(repo, "config", "core.pager", touch)
        bare = repo / "vendor"
        git(repo, "init", "-q", "--bare", str(bare))
        git(bare, "config", "core.bare", "false")
        git(bare, "config", "core.worktree", str(repo))
        git(bare, "config", "core.fsmonitor", touch)
        return repo

    def _allowed_programs(self):
        for name in list(CHECKS) + ["git", *READ_SHELLS]:
            path = find_program(name, str(self.top), self.env["PATH"])
            if path:
                yield path

    def run(self, argv: list[str]) -> tuple[list[str], str]:
        work = Path(tempfile.mkdtemp(prefix="run-", dir=self.top))
        repo = work / "repo"
        shutil.copytree(self.template, repo, symlinks=True)
        try:
            before = snapshot(repo, self.outside)
            resolved = shells.resolve(search_rails.rewrite(argv, self.env["PATH"]), self.env["PATH"]).argv
            execs, output = self._traced(resolved, repo)
            after = snapshot(repo, self.outside)
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            return [p for p in execs if p not in self.allowed] + [f"changed: {c}" for c in changed], output
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if self.sentinel.exists():
                self.sentinel.unlink()

    def _traced(self, argv: list[str], cwd: Path) -> tuple[list[str], str]:
        trace = cwd.parent / "trace.txt" if cwd != self.top else self.top / "trace.txt"
        done = subprocess.run([STRACE, "-f", "-qq", "-e", "trace=execve", "-o", str(trace), *argv], cwd=cwd,
                              env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60, check=False)
        execs = executed(trace.read_text())
        trace.unlink()
        return [os.path.realpath(cwd / p) for p in execs], done.stdout + done.stderr


def executed(trace: str) -> list[str]:
    """Programs that strace saw executed successfully (unfinished calls matched by pid)."""
    pending: dict[str, str] = {}
    out = []
    for line in trace.splitlines():
        pid = line.split(" ", 1)[0]
        call = re.search(r'execve\("([^"]*)"', line)
        if call and "<unfinished" in line:
            pending[pid] = call.group(1)
        elif call and line.rstrip().endswith("= 0"):
            out.append(call.group(1))
        elif "execve resumed>" in line and line.rstrip().endswith("= 0") and pid in pending:
            out.append(pending.pop(pid))
    return out


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file and folder with its mode and contents; git's index by its entries only."""
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            key = str(path)
            info = path.lstat()
            if path.is_symlink():
                state[key] = "link " + os.readlink(path)
            elif path.is_dir():
                state[key] = f"dir {info.st_mode:o}"
            elif path.name == "index" and path.parent.name == ".git":
                state[key] = git(path.parent.parent, "-c", "core.fsmonitor=false", "ls-files", "-s")
            else:
                state[key] = f"{info.st_mode:o} " + hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.fixture(scope="module")
def scene():
    made = Scene()
    yield made
    shutil.rmtree(made.top, ignore_errors=True)


def test_what_runs_without_asking_only_reads(scene):
    ran: list[list[str]] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(argv=commands())
    def check(argv):
        argv = [a.replace(S, str(scene.sentinel)) for a in argv]
        repo = scene.template
        if not classify(argv, str(repo), str(repo), env=scene.env).read_only:
            return
        ran.append(argv)
        problems, output = scene.run(argv)
        assert not problems, f"{argv!r} counted as read-only but:\n" + "\n".join(problems) + "\n" + output

    check()
    assert len(ran) >= EXAMPLES // 5, f"only {len(ran)} of {EXAMPLES} examples were read-only and ran"


def test_the_grammar_reaches_both_sides(scene):
    """Guard against a property that passes by rejecting everything: most reads pass, no write does."""
    repo = str(scene.template)
    passed = [r for r in READS if classify(["bash", "-lc", r], repo, repo, env=scene.env).read_only]
    assert len(passed) >= len(READS) - 2, sorted(set(READS) - set(passed))
    leaked = [w for w in WRITES_OR_RUNS
              if classify(["bash", "-lc", w.replace(S, str(scene.sentinel))], repo, repo,
                          env=scene.env).read_only]
    assert leaked == []
