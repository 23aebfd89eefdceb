"""What a person is shown is what runs: text from a model, a command, a patch or a tool output is
drawn on a terminal only after the characters a terminal acts on, or draws as nothing, are made
visible.

A terminal acts on control characters instead of drawing them: `ESC[2K\\r` erases the line so that
`touch x #ESC[2K\\r$ ls -la` shows as `$ ls -la`, `ESC[3A ESC[J` erases the lines above, OSC 52 writes
the clipboard, the 8-bit CSI (U+009B) does the same as ESC[, and the bidi overrides reorder what is
shown (`gnp.exe` drawn as `exe.png`). Invisible characters draw nothing at all: a repository's
`./build<U+200B>.sh` shows as the `./build.sh` the user reviewed. An approval dialog that can be
made to lie is worse than none.

`visible(text)` is the one place where that is handled; every front end calls it on untrusted text
as the last step before drawing (our own styles are added after it). Newlines and tabs stay; a
Windows line end (CR LF) is a newline; every other C0 control, DEL and C1 control becomes `\\xNN`;
the bidi controls and every other character Unicode calls default-ignorable (zero-width spaces and
joiners, word joiner, soft hyphen, Hangul fillers, variation selectors, tag characters...) and the
line and paragraph separators become `\\uNNNN` (`\\UNNNNNNNN` beyond U+FFFF). One exception keeps
emoji readable: a zero-width joiner or variation selector right after a symbol or emoji (⚠️, 👩‍💻)
is part of it and stays.
`json_text(line)` does the same job for a line of JSON: it stays the exact same JSON (the characters
become JSON `\\u` escapes), so a script reads what was sent while a person who `cat`s the output
sees nothing move and nothing hidden.
"""

from __future__ import annotations

import re

# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties), the bidi controls among them,
# plus U+2028/U+2029, which some terminals take for line ends.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
              "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
              "\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
# json.dumps already escapes C0 controls; these are the ones it leaves as they are.
_JSON_RAW = re.compile(f"[\x7f-\x9f{_INVISIBLE}]")
_EMOJI_JOINERS = "\u200d\ufe0e\ufe0f"


def _emoji(char: str) -> bool:
    """A symbol or emoji that a joiner or variation selector may follow (arrows, dingbats and
    other symbols, the emoji planes, and the few older ones that take U+FE0F)."""
    code = ord(char)
    return 0x2190 <= code <= 0x2bff or 0x1f000 <= code <= 0x1faff or code in (
        0xa9, 0xae, 0x203c, 0x2049, 0x2122, 0x2139, 0x3030, 0x303d, 0x3297, 0x3299)


def _escape_char(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every character a terminal would act on, or draw as nothing, shown as an
    escape; idempotent."""
    if not _CONTROLS.search(text):
        return text
    text = text.replace("\r\n", "\n")

    def escape(match: re.Match) -> str:
        char, at = match.group(), match.start()
        if char in _EMOJI_JOINERS:
            before = at - 1
            while before >= 0 and text[before] in _EMOJI_JOINERS:
                before -= 1
            if before >= 0 and _emoji(text[before]):
                return char
        return _escape_char(ord(char))

    return _CONTROLS.sub(escape, text)


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP, JSON writes a surrogate pair
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def json_text(line: str) -> str:
    """A line of JSON (from json.dumps) with DEL, C1, bidi and invisible characters as `\\u`
    escapes: the same JSON value, safe to print on a terminal."""
    if not _JSON_RAW.search(line):
        return line
    return _JSON_RAW.sub(_json_escape, line)
