"""The strict shell reader: what it understands it reads exactly as the shells do (checked against
bash, dash and BusyBox ash printing their arguments), everything else is "cannot tell"."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from codex_lite.tools import sh_scanner
from codex_lite.tools.sh_syntax import Unreadable, Word, parse, read, split


def texts(script: str) -> list[list[str]]:
    return [[w.text for w in command] for command in parse(script)]


@pytest.mark.parametrize("script,commands", [
    ("ls -la && cat README.md | head -5", [["ls", "-la"], ["cat", "README.md"], ["head", "-5"]]),
    ("git status; pwd", [["git", "status"], ["pwd"]]),
    ("ls # a comment\ncat x", [["ls"], ["cat", "x"]]),
    ("ls;# a comment after an operator", [["ls"]]),
    ("cat 'a b' \"c d\" e'f'\"g\"", [["cat", "a b", "c d", "efg"]]),
    ("grep -rn 'a$b' \"x!y\" 2>/dev/null", [["grep", "-rn", "a$b", "x!y"]]),
    ("ls >/dev/null 2>&1 </dev/null", [["ls"]]),
    ("ls 2>/dev/null | head -n 3 >&2", [["ls"], ["head", "-n", "3"]]),
    ("ls\n\n  cat f\n", [["ls"], ["cat", "f"]]),
    ("ls &&\n cat f ||\n pwd", [["ls"], ["cat", "f"], ["pwd"]]),
    ("[ -f x ] && test -d y", [["[", "-f", "x", "]"], ["test", "-d", "y"]]),
    ("ls 2 >/dev/null", [["ls", "2"]]),
    ("echo a,b:c%d+e@f.g/h-i_j=k", [["echo", "a,b:c%d+e@f.g/h-i_j=k"]]),
    ("ls ''", [["ls", ""]]),
])
def test_reads_what_it_models(script, commands):
    assert texts(script) == commands


@pytest.mark.parametrize("script", [
    "ls x#; touch p",                    # a comment inside a word
    "echo $'\\x41'",                     # ANSI-C quoting
    "echo ${x@P}", "echo ${x}", "echo $x", "echo \"$x\"", "echo $((1+1))", "echo $(id)",
    "echo `id`", "echo \"`id`\"", "echo a\\ b", "echo \"a\\\"b\"",
    "a=(1 2)", "A=1 ls", "echo {a,b}", "echo {1..3}", "{ ls; }", "(ls)", "cat <(ls)", "ls >(cat)",
    "cat <<< word", "cat <<EOF\nx\nEOF", "ls > out", "ls >> out", "ls 2> err", "ls &> /dev/null",
    "ls >| /dev/null", "ls 3>/dev/null", "ls >&3", "ls <&0", "ls <> f", "ls &", "ls |& cat", "ls ;; ls",
    "; ls", "ls &&", "ls | ", "ls ~", "ls ~/x", "ls =ls", "ls x^y", "ls **/x", "ls [ab]", "ls a[b",
    "if true; then ls; fi", "! ls", "time ls", "function f { ls; }", "f() { ls; }", ">/dev/null",
    "ls 'unterminated", "ls \"unterminated", "ls é", "ls\r", "echo \x1b[2K", "coproc ls",
])
def test_cannot_tell(script):
    assert read(script) is None
    with pytest.raises(Unreadable):
        parse(script)


def test_globs_are_marked_with_where_they_start():
    [[_, star, nested, quoted, dot]] = parse("ls *.py src/*.py '*.py' ./*")
    assert star == Word("*.py", True, True)
    assert nested == Word("src/*.py", True, False)
    assert quoted == Word("*.py")
    assert dot == Word("./*", True, False)


def test_split_understands_backslashes_for_apply_patch():
    assert split("apply_patch 'it'\\''s'") == ["apply_patch", "it's"]
    assert split('echo "a\\"b\\$" c\\ d') == ["echo", 'a"b$', "c d"]
    assert split("echo $x") is None and split("ls; ls") is None and split("ls *") is None


SHELLS = [s for s in ("bash", "dash", "busybox") if shutil.which(s)]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("script", [
    "printf '<%s>' a 'b c' \"d  e\" f'g'\"h\" 2>/dev/null",
    "printf '<%s>' x! a=b -- '#' # trailing comment",
    "printf '<%s>' '' \"\" x'' 2>&1",
])
def test_agrees_with_real_shells(shell, script):
    """What `read` says the words are is what the shells pass to the program."""
    [words] = [c for c in parse(script)]
    argv = [shell, "sh", "-c", script] if shell == "busybox" else [shell, "-c", script]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout
    assert out == "".join(f"<{w.text}>" for w in words[2:])


def test_scanner_still_serves_the_search_rails():
    sc = sh_scanner.Scanner("grep -rn \"$pat\" . | head; find . -name x")
    sc.scan(0, False)
    assert [[w.value for w in cmd] for cmd in sc.commands] == [
        ["grep", "-rn", None, "."], ["head"], ["find", ".", "-name", "x"]]
