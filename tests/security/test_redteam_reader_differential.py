"""Red team, the strict shell reader against real shells: for every script `sh_syntax.read`
accepts, each program that bash, dash and BusyBox ash actually start must be one of the commands
the reader returned, with exactly the words it returned.

Scripts are generated from plain words and quoted text holding everything that changes meaning
somewhere (`; | & < > # $ \\` backquotes, newlines, CR, tabs, braces, tildes, `!`, non-ASCII,
a zero-width space), joined by `;`, `&&`, `||`, `|` and newlines, with /dev/null redirections and
comments. The programs are stubs that log their argv (one write per call, so a pipeline's two ends
cannot interleave). Unquoted globs are left out: they expand by design (the reader marks them).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codex_lite.tools import sh_syntax

EXAMPLES = int(os.environ.get("READER_DIFFERENTIAL_EXAMPLES", "300"))
NAMES = ["aa", "bb", "cc"]
STUB = '#!/bin/sh\nr=""\nfor a in "$0" "$@"; do r="$r$a$(printf \'\\001\')"; done\nprintf "%s\\002" "$r" >> "$LOG"\n'
SHELLS = [["bash", "-c"], ["dash", "-c"], ["busybox", "ash", "-c"]]
pytestmark = pytest.mark.skipif(not all(shutil.which(s[0]) for s in SHELLS), reason="needs bash, dash, busybox")

_inner = st.text(alphabet=list("ab ;|&<>#$`\\\n\r\t!*?{}()~=%@:,.-+/\"'[]^") + ["\u00e9", "\u200b"], max_size=6)
_plain = st.text(alphabet=list("ab.:,%+=@-!/"), min_size=1, max_size=5)


def _quoted(q: str):
    return _inner.map(lambda t: q + t.replace(q, "") + q)


_word = st.lists(st.one_of(_plain, _quoted("'"), _quoted('"')), min_size=1, max_size=3).map("".join)
_redirect = st.sampled_from(["", " >/dev/null", " 2>/dev/null", " 2>&1", " </dev/null", " >&2", " 1>&2",
                             " >>/dev/null"])
_command = st.tuples(st.sampled_from(NAMES), st.lists(_word, max_size=3), _redirect,
                     st.sampled_from(["", " #c;d", " # x"])).map(lambda t: " ".join([t[0], *t[1]]) + t[2] + t[3])
_separator = st.sampled_from(["; ", " && ", " || ", " | ", "\n", ";\n", " &&\n", " |\n"])


@st.composite
def scripts(draw) -> str:
    commands = draw(st.lists(_command, min_size=1, max_size=3))
    out = commands[0]
    for command in commands[1:]:
        out += draw(_separator) + command
    return out


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stubs")
    for name in NAMES:
        (folder / name).write_text(STUB)
        (folder / name).chmod(0o755)
    return folder, tmp_path_factory.mktemp("empty"), tmp_path_factory.mktemp("logs")


def started(shell: list[str], script: str, stubs) -> list[list[str]]:
    folder, empty, logs = stubs
    log = logs / "log"
    log.write_bytes(b"")
    subprocess.run([*shell, script], cwd=empty, env={"PATH": f"{folder}:/usr/bin:/bin", "LOG": str(log)},
                   capture_output=True, timeout=20, check=False)
    runs = []
    for record in log.read_bytes().decode("utf-8", "surrogateescape").split("\x02"):
        if record:
            words = record.split("\x01")[:-1]
            runs.append([os.path.basename(words[0]), *words[1:]])
    return runs


def test_the_reader_sees_what_shells_run(stubs):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(scripts())
    def check(script):
        commands = sh_syntax.read(script)
        assume(commands is not None)
        predicted = [[w.text for w in command] for command in commands]
        for shell in SHELLS:
            for argv in started(shell, script, stubs):
                assert argv in predicted, f"{shell[0]} ran {argv} for {script!r}; the reader saw {predicted}"

    check()
