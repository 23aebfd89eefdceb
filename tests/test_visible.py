"""visible(): every character a terminal acts on is drawn as an escape; json_text() keeps JSON exact.
The end-to-end attacks (the REPL under tmux, exec) are in tests/security/test_display_controls.py."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from codex_lite.security.visible import json_text, visible

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


INVISIBLE = ["\u00ad", "\u034f", "\u061c", "\u115f", "\u180e", "\u200b", "\u200c", "\u200e", "\u2028",
             "\u2029", "\u2060", "\u2064", "\u3164", "\ufe0f", "\ufeff", "\uffa0", "\U000e0041",
             "\U000e007f", "\U0001d173"]


def test_invisible_characters_are_shown_as_escapes():
    """They draw nothing: `./build<U+200B>.sh` would look like `./build.sh`."""
    for char in INVISIBLE:
        shown = visible(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b"), repr(char)
    assert visible("build\u200b.sh") == "build\\u200b.sh"
    assert visible("x\U000e0041") == "x\\U000e0041"
    assert visible("1\ufe0f\u20e3") == "1\\ufe0f\u20e3"  # a selector after a digit hides nothing


def test_emoji_sequences_stay_readable():
    for text in ("\u26a0\ufe0f careful", "\U0001f469\u200d\U0001f4bb", "\u2764\ufe0f\u200d\U0001f525",
                 "\U0001f44d\U0001f3fd", "\u00a9\ufe0f"):
        assert visible(text) == text


@given(st.text())
def test_json_text_escapes_invisible_characters_as_valid_json(text):
    line = json.dumps({"text": text + "\U000e0041\u200b"}, ensure_ascii=False)
    safe = json_text(line)
    assert json.loads(safe) == {"text": text + "\U000e0041\u200b"}
    assert not any(c in safe for c in INVISIBLE)
