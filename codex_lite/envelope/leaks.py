"""The rule for what is shown, and the classes of leaks that break it.

    find_leak(text) -> str | None   the first piece of protocol that must never be shown
    scrub(text) -> str              every harmony token (and dangling halves) removed
    last_resort(text) -> str        whatever protocol is still there broken apart
    CLASSES                         the leak classes telemetry counts
    MARKER_EXAMPLES                 one example of each marker find_leak knows (for tests)

The rule: text shown to people (or sent back to the model) never carries a harmony token, a
recipient marker (`to=functions.NAME`) or a channel word glued to a role (`assistantfinal`).
`_shown` is recovery's last step: it enforces the rule on the text and reasoning of one answer and
counts what it removed. All of it is linear: `str.find` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codex_lite.envelope.tokens import (
    _HEADER_WORDS,
    _PROSE_END,
    SPECIAL_TOKENS,
    _read_name_end,
    _recipient_marker_end,
    _token_hits,
)

if TYPE_CHECKING:
    from codex_lite.envelope.recovery import Recovery

# The classes of leaks, for telemetry: envelopes with tokens or their stripped words (harmony), whole
# answers that are JSON calls (bare_json), recipients with nothing to send (recipient_only), headers
# with junk glued to them (glued_channel), and role/channel residue (residue).
CLASSES = ("harmony", "bare_json", "recipient_only", "glued_channel", "residue")

_GLUED_ROLE_CHANNELS = tuple("assistant" + c for c in ("analysis", "commentary", "final"))
MARKER_EXAMPLES = SPECIAL_TOKENS + ("<|endoftext|>", "to=functions.shell", "to=functions", "to=container.exec",
                                    "to=assistant", "to=repo_browser.open_file", "to=multi_tool_use.parallel",
                                    "to=browser.search", "to=web.run", "to=python") + _GLUED_ROLE_CHANNELS


def find_leak(text: str) -> str | None:
    """The first piece of protocol in `text` that must never be shown (a harmony token or a dangling
    half of one, a recipient marker, a channel word glued to a role), or None. Linear: str.find only."""
    if not text:
        return None
    if ("<|" in text or "|>" in text) and scrub(text) != text:
        k = text.find("<|")
        return text[k:k + 16] if k >= 0 else "|>"
    for marker in _GLUED_ROLE_CHANNELS:
        if marker in text:
            return marker
    k = text.find("to=")
    while k >= 0:
        end = _recipient_marker_end(text, k)
        if end:
            return text[k:end]
        k = text.find("to=", k + 3)
    return None


def _shown(text: str, result: Recovery) -> tuple[str, list[str]]:
    """The last step before text is shown (the rule of find_leak): protocol that recovery left in
    it is removed and counted; the recipients found there are returned for _answer_mentions."""
    if not text:
        return text, []
    if "<|" in text or "|>" in text:
        text = scrub(text)  # tokens the lexer left in text pieces (rebuilt ones, dangling halves)
    elif "to=" not in text and "assistant" not in text:
        return text, []
    out = text
    mentions: list[str] = []
    if "to=" in out:
        out, found = _drop_recipients(out)
        for recipient in found:
            if recipient.startswith(("assistant", "user")):
                result.scrub_count("residue")
            else:
                mentions.append(recipient)
    for marker in _GLUED_ROLE_CHANNELS:
        if marker in out:
            out = out.replace(marker, " ")
            result.scrub_count("residue")
    if find_leak(out) is not None:
        out = last_resort(out)
        result.scrub_count("harmony")
    return (out.strip() if out != text else text), mentions


def _drop_recipients(s: str) -> tuple[str, list[str]]:
    """`s` without its recipient markers (with the role or channel word, and junk, glued before
    them), and the recipients removed."""
    pieces: list[str] = []
    found: list[str] = []
    i = 0
    k = s.find("to=")
    while k >= 0:
        if k >= i and _recipient_marker_end(s, k):
            end = _read_name_end(s, k + 3)
            found.append(s[k + 3:end])
            pieces.append(s[i:_header_start(s, k, i)].rstrip(" \t"))
            i = end + (1 if s.startswith(">", end) else 0)
        k = s.find("to=", max(k + 3, i))
    rest = s[i:]
    out = pieces[0] if pieces else ""
    for piece in pieces[1:] + [rest]:
        out += piece if not out or out[-1] == "\n" or not piece or not piece[0].isalnum() else " " + piece
    return out, found


def _header_start(s: str, k: int, lo: int) -> int:
    """Where a header ending in the `to=` at k starts: a role or channel word before it, with any
    junk glued to that word and a `<` or `</` of a pseudo-tag."""
    j = k
    while j > max(lo, k - 32) and s[j - 1].isspace():
        j -= 1
    word = next((w for w in _HEADER_WORDS if s.endswith(w, lo, j)), "")
    if not word:
        return k
    start = j - len(word)
    while start > max(lo, j - 96) and not s[start - 1].isspace() and s[start - 1] not in _PROSE_END:
        start -= 1
    return start


def last_resort(s: str) -> str:
    """Break whatever protocol is still in `s` (pieces that rebuild one another when removed)."""
    for _ in range(20):
        leak = find_leak(s)
        if leak is None:
            return s
        s = s.replace(leak, " ")
    s = s.replace("<|", "< ").replace("|>", " >").replace("to=", "to ")
    for marker in _GLUED_ROLE_CHANNELS:
        s = s.replace(marker, marker[:9] + " " + marker[9:])
    return s


# ----------------------------------------------------------------------------------------------
# Scrubbing

def scrub(text: str) -> str:
    """Remove every harmony special token (and dangling halves) from text shown to people."""
    if "<|" not in text and "|>" not in text:
        return text
    pieces = _lex_tokens_only(text)
    out = "".join(pieces)
    if "<|" in out and any(t in out for t in SPECIAL_TOKENS):
        out = out.replace("<|", "<")  # only reachable by tokens rebuilt from fragments
    return out


def _lex_tokens_only(text: str) -> list[str]:
    """The text pieces of `text` with tokens removed (bare words are left alone)."""
    out: list[str] = []
    flushed = 0
    for start, end, _ in _token_hits(text, 0, with_bare=False):
        out.append(text[flushed:start])
        flushed = end
    out.append(text[flushed:])
    return out
