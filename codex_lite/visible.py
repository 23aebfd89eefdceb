"""What a person is shown is what runs: text from a model, a command, a patch or a tool output is
drawn on a terminal only after its control characters are made visible.

A terminal acts on control characters instead of drawing them: `ESC[2K\\r` erases the line so that
`touch x #ESC[2K\\r$ ls -la` shows as `$ ls -la`, `ESC[3A ESC[J` erases the lines above, OSC 52 writes
the clipboard, the 8-bit CSI (U+009B) does the same as ESC[, and the bidi overrides reorder what is
shown (`gnp.exe` drawn as `exe.png`). An approval dialog that can be made to lie is worse than none.

`visible(text)` is the one place where that is handled; every front end calls it on untrusted text
as the last step before drawing (our own styles are added after it). Newlines and tabs stay; a
Windows line end (CR LF) is a newline; every other C0 control, DEL and C1 control becomes `\\xNN`,
and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) become `\\uNNNN`.
`json_text(line)` does the same job for a line of JSON: it stays the exact same JSON (the characters
become JSON `\\u` escapes), so a script reads what was sent while a person who `cat`s the output
sees nothing move.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# json.dumps already escapes C0 controls; these are the ones it leaves as they are.
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every character a terminal would act on shown as an escape; idempotent."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(_escape, text.replace("\r\n", "\n"))


def json_text(line: str) -> str:
    """A line of JSON (from json.dumps) with DEL, C1 and bidi characters as `\\u` escapes: the same
    JSON value, safe to print on a terminal."""
    if not _JSON_RAW.search(line):
        return line
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
