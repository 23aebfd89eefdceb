"""Unit tests for the search rails: parsing and rewriting, with the installed tools faked.

The real GNU/BusyBox/rg runs are in test_search_rails_tools.py.
"""

from __future__ import annotations

import functools
import operator
import shlex

import pytest

from codex_lite.tools import search_rails as sr
from codex_lite.tools.search_rails import HEAVY_DIRS


@pytest.fixture
def gnu(monkeypatch):
    """Pretend GNU grep and GNU find are installed (no probing)."""
    monkeypatch.setattr(sr, "grep_excludes_dirs", lambda prog, path=None: True)
    monkeypatch.setattr(sr, "find_caps", lambda prog="find", path=None: (True, True))


@pytest.fixture
def busybox(monkeypatch):
    monkeypatch.setattr(sr, "grep_excludes_dirs", lambda prog, path=None: False)
    monkeypatch.setattr(sr, "find_caps", lambda prog="find", path=None: (True, True))


EXCL = ["--exclude-dir=" + d for d in HEAVY_DIRS]


def test_heavy_dirs_are_the_design_list():
    assert set(HEAVY_DIRS) == {".git", ".rustup", ".cargo", ".codex", ".npm", ".cache", ".local", ".venv",
                               "node_modules"}


@pytest.mark.parametrize("text,hit", [
    ("node_modules", True), ("./node_modules/x", True), ("*/.git/*", True), ("\\.git", True),
    (".gitignore", False), ("my.cache.py", False), ("src", False), (".venv/bin", True),
    ("node_modules_old", False), ("a/.cache", True), (".git-blame-ignore", False),
])
def test_mentions_heavy(text, hit):
    assert sr._mentions_heavy(text) is hit


def test_parse_grep_clusters_and_values():
    g = sr.parse_grep(["-rnI", "-m5", "-e", "a b", "--include=*.py", "-A", "2", "src", "-i", "docs"])
    assert g.recursive and not g.deref
    assert g.pattern is None and g.operands == ["src", "docs"]
    assert g.filters == [("include", "*.py")]
    assert "-nI" in g.options and "-e" in g.options and "a b" in g.options and "-i" in g.options
    assert not any(o.startswith("-r") for o in g.options)


def test_parse_grep_positional_pattern_and_double_dash():
    g = sr.parse_grep(["-R", "--", "-x-", "dir"])
    assert g.deref and g.pattern == "-x-" and g.operands == ["dir"]
    g = sr.parse_grep(["--recursive", "--directories=recurse", "pat"])
    assert g.recursive and g.operands == []
    g = sr.parse_grep(["-d", "recurse", "--recur", "pat", "x"])
    assert g.recursive and g.operands == ["x"]


@pytest.mark.parametrize("args", [["-r"], ["--frobnicate", "-r", "x"], ["-rK", "x"], ["-r", "-e"]])
def test_parse_grep_gives_up_on_the_unfamiliar(args):
    assert sr.parse_grep(args) is None


def test_gnu_grep_gets_exclude_dir(gnu):
    assert sr.rewrite(["grep", "-rn", "TODO", "."]) == ["grep"] + EXCL + ["-rn", "TODO", "."]
    assert sr.rewrite(["egrep", "-R", "a|b"])[1:10] == EXCL


@pytest.mark.parametrize("argv", [
    ["grep", "-n", "TODO", "file.py"],  # not recursive
    ["grep", "-rn", "TODO", "node_modules/react"],  # explicitly asked for a heavy folder
    ["grep", "-rn", "TODO", "src", ".git"],
    ["grep", "-r", "--bogus", "x", "."],
    ["git", "grep", "-n", "TODO"],
    ["ls", "-R"],
])
def test_grep_left_alone(gnu, argv):
    assert sr.rewrite(argv) == argv


def test_busybox_grep_goes_through_the_helper(busybox):
    out = sr.rewrite(["grep", "-rn", "TODO", "."])
    assert out[1:4] == ["-I", "-S", sr.__file__.replace(".pyc", ".py")] or out[3].endswith("search_rails.py")
    assert out[4:] == ["--rail-grep", "grep", "-rn", "TODO", "."]


def test_find_prune_and_print(gnu):
    prune = ["("] + functools.reduce(operator.iadd, (["-name", d, "-o"] for d in HEAVY_DIRS), [])[:-1] + [")", "-prune", "-o"]
    assert sr.rewrite(["find", ".", "-type", "f"]) == ["find", "."] + prune + ["-type", "f", "-print"]
    assert sr.rewrite(["find"]) == ["find"] + prune + ["-print"]
    assert sr.rewrite(["find", "-L", "src", "-maxdepth", "2", "-name", "*.py", "-o", "-name", "*.js"]) == (
        ["find", "-L", "src", "-maxdepth", "2"] + prune + ["(", "-name", "*.py", "-o", "-name", "*.js", ")",
                                                            "-print"])
    # an action already there: no -print added
    assert sr.rewrite(["find", ".", "-name", "*.py", "-exec", "wc", "-l", "{}", "+"])[-1] == "+"


def test_find_without_parentheses_uses_a_prune_chain(monkeypatch):
    monkeypatch.setattr(sr, "find_caps", lambda prog="find", path=None: (True, False))
    out = sr.rewrite(["find", ".", "-type", "f"])
    assert out[2:6] == ["-name", ".git", "-prune", "-o"] and out[-3:] == ["-type", "f", "-print"]
    # an -o expression needs grouping, which this find lacks: unchanged
    argv = ["find", ".", "-name", "a", "-o", "-name", "b"]
    assert sr.rewrite(argv) == argv


@pytest.mark.parametrize("argv", [
    ["find", ".", "-name", "node_modules", "-type", "d"],
    ["find", ".git", "-type", "f"],
    ["find", ".", "-depth", "-name", "x"],
    ["find", ".", "-name", "*.o", "-delete"],
    ["find", "-D", "tree", "."],
    ["find", "--version"],
])
def test_find_left_alone(gnu, argv):
    assert sr.rewrite(argv) == argv


@pytest.mark.parametrize("argv", [
    ["find", ".", "-type", "f", "-not", "-path", "*/node_modules/*"],
    ["find", ".", "!", "-path", "./.git/*", "-name", "*.py"],
    ["find", ".", "-path", "./node_modules", "-prune", "-o", "-type", "f", "-print"],
])
def test_find_that_already_excludes_heavy_folders_still_gets_all(gnu, argv):
    out = sr.rewrite(argv)
    assert out[2:4] == ["(", "-name"] and out.count("-prune") >= 1 and ".cache" in out


def test_no_prune_support_means_unchanged(monkeypatch):
    monkeypatch.setattr(sr, "find_caps", lambda prog="find", path=None: (False, False))
    assert sr.rewrite(["find", "."]) == ["find", "."]


def test_rg_gets_globs(monkeypatch):
    monkeypatch.setattr(sr, "_which", lambda name, path: "/x/rg")
    out = sr.rewrite(["rg", "-n", "TODO"])
    assert out == ["rg"] + ["--glob=!" + d for d in HEAVY_DIRS] + ["-n", "TODO"]
    assert sr.rewrite(["rg", "--version"]) == ["rg", "--version"]
    assert sr.rewrite(["rg", "x", "node_modules"]) == ["rg", "x", "node_modules"]
    assert len(sr.rewrite(["rg", "-g", "!node_modules", "x"])) == 4 + len(HEAVY_DIRS)
    assert len(sr.rewrite(["rg", "--glob=!.git/", "x"])) == 3 + len(HEAVY_DIRS)


def _script(argv):
    return argv[2]


def test_script_every_occurrence(gnu):
    script = "cd src && grep -rn 'a b' . | head -5; grep -rl x 2>/dev/null\nfind . -type f"
    out = _script(sr.rewrite(["bash", "-lc", script]))
    assert out.count("--exclude-dir=node_modules") == 2
    assert out.count("-prune") == 1
    words = shlex.split(out.split("|")[0].split("&&")[1])
    assert words == ["grep"] + EXCL + ["-rn", "a b", "."]
    assert "2>/dev/null" in out and out.endswith("-type f -print")


def test_script_quotes_and_spaces_survive(gnu):
    script = """grep -rn "it's a \\"TODO\\"" 'dir with space' && echo ok"""
    out = _script(sr.rewrite(["sh", "-c", script]))
    head = out.split("&&")[0]
    assert shlex.split(head) == ["grep"] + EXCL + ["-rn", 'it\'s a "TODO"', "dir with space"]


def test_script_heredoc_body_is_not_rewritten(gnu):
    script = "cat > f.sh <<'EOF'\ngrep -r x .\nEOF\ngrep -r y ."
    out = _script(sr.rewrite(["bash", "-lc", script]))
    assert "cat > f.sh <<'EOF'\ngrep -r x .\nEOF\n" in out
    assert out.count("--exclude-dir=.git") == 1


def test_script_command_substitution(gnu):
    script = 'for f in $(find . -name "*.py"); do wc -l "$f"; done; n="$(grep -rc x src)"'
    out = _script(sr.rewrite(["bash", "-lc", script]))
    assert out.count("-prune") == 1 and out.count("--exclude-dir=.venv") == 1
    assert out.startswith("for f in $(find . '(' -name .git")


def test_script_nested_shell(gnu):
    out = _script(sr.rewrite(["bash", "-lc", "sh -c 'grep -rn TODO .' && true"]))
    inner = shlex.split(out)[2]
    assert shlex.split(inner)[:10] == ["grep"] + EXCL


def test_script_reserved_words_and_assignments(gnu):
    out = _script(sr.rewrite(["bash", "-lc", "if LC_ALL=C grep -rq x .; then echo y; fi"]))
    assert out.startswith(("if LC_ALL=C grep '--exclude-dir=.git'", "if LC_ALL=C grep --exclude-dir=.git"))


@pytest.mark.parametrize("script", [
    "grep -rn 'unbalanced .",
    "case $x in a) grep -r x . ;; esac",
    "diff <(grep -r a .) <(grep -r b .)",
    "grep -r $PAT .",  # an expansion: we cannot know what the words are
    "echo `grep -r x .",
])
def test_script_left_alone_when_in_doubt(gnu, script):
    assert sr.rewrite(["bash", "-lc", script]) == ["bash", "-lc", script]


def test_script_options_and_args_around_c(gnu):
    out = sr.rewrite(["bash", "-e", "-o", "pipefail", "-c", "grep -r x .", "arg0", "a1"])
    assert out[:5] == ["bash", "-e", "-o", "pipefail", "-c"] and out[6:] == ["arg0", "a1"]
    assert "--exclude-dir=.git" in out[5]


def test_script_linear_on_large_input(gnu):
    script = ("echo 'x' | tr a b; " * 20000) + "grep -rn TODO ."
    out = _script(sr.rewrite(["bash", "-lc", script]))
    assert out.endswith("-rn TODO .") and "--exclude-dir=.git" in out[-400:]


def test_include_braces_are_expanded_for_shells_without_them():
    assert sr._wanted("a.ts", [("include", "*.{js,ts}")])
    assert not sr._wanted("a.py", [("include", "*.{js,ts}")])
    assert sr._braces("x") == ["x"] and sr._braces("{a}") == ["{a}"]


def test_include_exclude_last_match_wins():
    assert sr._wanted("a.py", [("include", "*.py")])
    assert not sr._wanted("a.js", [("include", "*.py")])
    assert not sr._wanted("a.py", [("include", "*.py"), ("exclude", "a*")])
    assert sr._wanted("b.txt", [("exclude", "*.py")])
    assert sr._wanted("x", [])


def test_script_literal_dollar_is_not_an_expansion(gnu):
    out = _script(sr.rewrite(["bash", "-lc", 'grep -rn "foo$" . && grep -rn \'bar$\' src']))
    assert out.count("--exclude-dir=.git") == 2
    assert shlex.split(out.split("&&")[0])[-2:] == ["foo$", "."]



def test_script_quoted_expansion_as_the_pattern_is_fine(gnu):
    out = _script(sr.rewrite(["bash", "-lc", 'pat=TODO; grep -rn "$pat" . ; grep -rn -e "${x}y" src']))
    assert out.count("--exclude-dir=.git") == 2 and '"$pat" .' in out and '-e "${x}y" src' in out


@pytest.mark.parametrize("script", ['grep -rn x "$DIR"', "grep -rn $pat .", 'grep -rn "$a" "$b"',
                                    'find "$DIR" -type f', 'grep $FLAGS "x" .'])
def test_script_expansions_elsewhere_leave_it_alone(gnu, script):
    assert sr.rewrite(["bash", "-lc", script]) == ["bash", "-lc", script]


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:
    _PIECES = st.sampled_from(["grep", "-rn", "find", ".", "rg", "'", '"', "$", "$(", ")", "(", "`", "\\", "\n",
                               ";", "&&", "|", "<<", "EOF", "<<<", "2>&1", ">", "#", " ", "{", "}", "${x}",
                               "node_modules", "-name", "-o", "*.py", "case", ";;", "-e", "--", "x=1", "\t"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_PIECES, max_size=30), st.booleans())
    def test_rewrite_never_raises(pieces, spaced):
        saved = sr.grep_excludes_dirs, sr.find_caps
        sr.grep_excludes_dirs = lambda prog, path=None: True  # no probing inside a property
        sr.find_caps = lambda prog="find", path=None: (True, True)
        try:
            script = (" " if spaced else "").join(pieces)
            out = sr.rewrite(["bash", "-lc", script])
            assert isinstance(out, list) and len(out) == 3 and isinstance(out[2], str)
            assert isinstance(sr.rewrite(pieces), list)
        finally:
            sr.grep_excludes_dirs, sr.find_caps = saved
