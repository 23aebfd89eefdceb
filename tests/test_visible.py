"""visible(): every character a terminal acts on is drawn as an escape; json_text() keeps JSON exact.
The end-to-end attacks (the REPL under tmux, exec) are in tests/security/test_display_controls.py."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from codex_lite.visible import json_text, visible

ACTING = [chr(c) for c in range(0x20) if c not in (9, 10)] + [chr(c) for c in range(0x7f, 0xa0)] + \
    [chr(c) for c in range(0x202a, 0x202f)] + [chr(c) for c in range(0x2066, 0x206a)]


def test_each_acting_character_is_shown_as_an_escape():
    for char in ACTING:
        shown = visible(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b"), repr(char)
    assert visible("\x1b[2K") == "\\x1b[2K"
    assert visible("\x9b2J") == "\\x9b2J"
    assert visible("exe.\u202egnp") == "exe.\\u202egnp"


def test_text_people_write_is_left_alone():
    text = "déjà vu\tcol\nnext line — “quoted” 日本語 ✓ \\x1b written by hand"
    assert visible(text) is text
    assert visible("windows\r\nline ends\r\n") == "windows\nline ends\n"
    assert visible("progress 10%\rprogress 20%") == "progress 10%\\x0dprogress 20%"


@given(st.text())
def test_visible_is_idempotent_and_leaves_nothing_acting(text):
    shown = visible(text)
    assert visible(shown) == shown
    assert not any(c in shown for c in ACTING)


@given(st.text())
def test_json_text_is_the_same_json_and_terminal_safe(text):
    line = json.dumps({"text": text}, ensure_ascii=False)
    safe = json_text(line)
    assert json.loads(safe) == {"text": text}
    assert not any(c in safe for c in ACTING)
