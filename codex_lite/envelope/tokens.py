"""The harmony vocabulary and the lexer: text -> (kind, value) pieces, linear in the input.

    _pieces(s) -> iterable of (kind, value)   kind is "text", a token name, or an "origin"/"strict" mark
    _token_hits(s, pos, with_bare)            (start, end, kind) of every token, for scrub
    _recipient_marker_end(s, k)               end of the `to=NAME` marker at k, 0 if it is not one
    SPECIAL_TOKENS, MAX_LEAKED_CALLS

The lexer recognises well-formed tokens (a fast path: one C-speed regex split), tokens missing a
bracket, dangling fragments, tokens stripped to bare words (`assistantfinal`, a channel word glued to
the start of a field) and stripped headers anywhere (`analysis to=NAME {...}`). Every look is
bounded: candidates are found by `str.find` and one regex that starts with a literal and has no
nested quantifiers, every header read is bounded, every backward look is bounded, and the JSON
strings of a body are scanned forward once. Names with a leading underscore are shared only inside
the envelope package (messages.py, recovery.py, leaks.py and bare_json.py read them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from codex_lite.tools.calls import NAME_LIMIT as _NAME_LIMIT  # longest tool name read in a header

# Vocabulary

SPECIAL_TOKENS = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>",
                  "<|return|>", "<|call|>")
_TOKEN_NAMES = ("start", "end", "message", "channel", "constrain", "return", "call",
                "endoftext", "startoftext", "endofprompt")
_TERMINATORS = frozenset(("end", "return", "call", "endoftext", "endofprompt"))
_NAME_SET = frozenset(_TOKEN_NAMES)
_MAX_TOKEN_NAME = max(len(n) for n in _TOKEN_NAMES)
_CHANNELS = ("analysis", "commentary", "final")
_ROLES = frozenset(("assistant", "user", "system", "developer", "tool"))
_CONTENT_TYPES = ("json", "code")

MAX_LEAKED_CALLS = 64  # leaked calls read from one field; a model looping on calls is cut here


# ----------------------------------------------------------------------------------------------
# Lexer: text -> [(kind, value)] where kind is "text" or a token name

# `<|` followed by a token name (with or without its closing `|>`), or a dangling prefix at the very
# end. The pattern starts with the literal `<|`, so the regex engine skips ahead at C speed, and it
# has no nested quantifiers: O(1) work per position, linear overall, megabytes of `<|<|<|` included.
_NAMES_RE = "|".join(sorted(_TOKEN_NAMES, key=len, reverse=True))
_OPEN_RE = re.compile(rf"<\|(?:(?P<name>{_NAMES_RE})(?:\|>|>|\||(?![a-z_]))|(?P<dangling>[a-z_]{{0,11}})\Z)")


def _lex(s: str) -> Iterator[tuple[str, str]]:
    """Split one field into text pieces and harmony tokens, lazily (memory stays flat however many
    tokens a pathological answer holds).

    Recognises well-formed tokens, tokens missing a bracket (`<|end`, `channel|>`, `<|message>`),
    dangling fragments at either end (`<|ret`, `|>`), tokens stripped to bare words
    (`assistantfinal`, and `analysis`/`final`/`commentary to=` at the start of the field), and
    stripped headers anywhere in text (`[junk]analysis to=NAME [junk]{...}`, `user to=assistant`).
    Besides tokens it yields ("origin", class) and ("strict", "") marks read by _messages.
    (_pieces takes the fast path first: most answers are well-formed.)"""
    lead: list[tuple[str, str]] = []
    pos = _lead_bare_channel(s, lead) or _lead_bare_recipient(s, lead)
    yield from lead
    flushed = pos
    for start, end, tokens in _token_hits(s, pos, with_bare=True, in_header=_opens_header(lead, False)):
        if start > flushed:
            yield "text", s[flushed:start]
        yield from tokens
        flushed = end
    if flushed < len(s):
        yield "text", s[flushed:]


_FULL_TOKEN: list[re.Pattern[str]] = []  # compiled on first use: nothing costs at import


def _well_formed_tokens(s: str) -> Iterable[tuple[str, str]] | None:
    """The fast path for the common answer: every `<|` and `|>` belongs to a whole token, no
    stripped marker and no `to=` outside a header. The pieces the general lexer would give, from
    one C-speed regex; None when the field needs the general lexer."""
    if "<|" not in s or s[:1] == "t" or s.startswith(_CHANNELS):
        return None
    if not _FULL_TOKEN:
        _FULL_TOKEN.append(re.compile("<\\|(" + _NAMES_RE + ")\\|>"))
    k = s.find("assistant")
    while k >= 0:
        if _match_bare(s, k) is not None:
            return None
        k = s.find("assistant", k + 9)
    if len(s) >= 65536:  # large: verified in one pass, then split lazily so memory stays flat
        return _iter_tokens(s) if _verified(s) else None
    parts = _FULL_TOKEN[0].split(s)  # [text, name, text, name, ..., text]: each text is checked once
    for i in range(0, len(parts), 2):
        text = parts[i]
        if text and ("<|" in text or "|>" in text or ("to=" in text and (i == 0 or parts[i - 1] not in
                                                                          _HEADER_TOKENS))):
            return None
    return [(p, "") if i % 2 else ("text", p) for i, p in enumerate(parts) if p or i % 2]


_HEADER_TOKENS = frozenset(("start", "channel", "constrain"))


def _verified(s: str) -> bool:
    """_well_formed_tokens's check for a large field, one token at a time."""
    last, header = 0, False
    for m in _FULL_TOKEN[0].finditer(s):
        if not _clean_between(s, last, m.start(), header):
            return False
        header, last = m.group(1) in _HEADER_TOKENS, m.end()
    return _clean_between(s, last, len(s), header)


def _clean_between(s: str, i: int, j: int, header: bool) -> bool:
    return s.find("<|", i, j) < 0 and s.find("|>", i, j) < 0 and (header or s.find("to=", i, j) < 0)


def _pieces(s: str) -> Iterable[tuple[str, str]]:
    """The lexed pieces of one field: the fast path when it applies, else the general lexer."""
    fast = _well_formed_tokens(s)
    return _lex(s) if fast is None else fast


def _iter_tokens(s: str) -> Iterator[tuple[str, str]]:
    last = 0
    for m in _FULL_TOKEN[0].finditer(s):
        if m.start() > last:
            yield "text", s[last:m.start()]
        yield m.group(1), ""
        last = m.end()
    if last < len(s):
        yield "text", s[last:]


def _token_hits(s: str, pos: int, with_bare: bool, in_header: bool = False):
    """Yield (start, end, tokens) for every token from pos on, in order, never overlapping.

    Four kinds of candidates are found at C speed (a regex with a literal prefix, and str.find
    for `|>`, `assistant` and `to=`) and checked in O(1) each; one forward pass, linear in len(s).
    A `to=` is a header only outside headers (`<|channel|>commentary to=x` is read by _messages)
    and outside the JSON strings of a body (a patch may quote a header)."""
    n = len(s)
    opened = _OPEN_RE.search(s, pos)
    close = s.find("|>", pos)
    bare = s.find("assistant", pos) if with_bare else -1
    rcp = s.find("to=", pos) if with_bare else -1
    strings = _JsonStrings(s, pos)
    flushed = pos
    while opened or close >= 0 or bare >= 0 or rcp >= 0:
        p = min(opened.start() if opened else n, close if close >= 0 else n, bare if bare >= 0 else n,
                rcp if rcp >= 0 else n)
        if opened and p == opened.start():
            hit = _open_hit(opened)
        elif p == close:
            hit = _match_close(s, p, flushed)
        elif p == bare:
            hit = _match_bare(s, p)
        else:
            hit = None if in_header or strings.inside(p) else _match_recipient(s, p, flushed)
        step = p + 1
        if hit is not None:
            flushed = step = hit[1] + (2 if hit[2] and s.startswith("|>", hit[1]) else 0)
            in_header = _opens_header(hit[2], in_header)
            strings.restart(flushed, body=not in_header and bool(hit[2]))
            yield hit[0], flushed, hit[2]
        if opened and opened.start() < step:
            opened = _OPEN_RE.search(s, step)
        if 0 <= close < step:
            close = s.find("|>", step)
        if 0 <= bare < step:
            bare = s.find("assistant", step)
        if 0 <= rcp < step:
            rcp = s.find("to=", step)


def _opens_header(tokens: list[tuple[str, str]], before: bool) -> bool:
    """Whether the text after these tokens is header text (after <|start|>, <|channel|>,
    <|constrain|>) rather than a body or free text."""
    for kind, _ in reversed(tokens):
        if kind not in ("text", "origin", "strict"):
            return kind in ("start", "channel", "constrain")
    return before


class _JsonStrings:
    """Answers whether a position of a body that is JSON lies inside one of its strings, scanning
    forward only (each quote is looked at once, so the lexer stays linear)."""

    def __init__(self, s: str, pos: int):
        self.s = s
        self.restart(pos, body=True)

    def restart(self, pos: int, body: bool) -> None:
        self.pos, self.body, self.json = pos, body, None  # whether it is JSON: decided on first use

    def inside(self, p: int) -> bool:
        if self.json is None:
            k = _skip_ws(self.s, self.pos)
            self.json = self.body and self.s[k:k + 1] in ("{", "[")
            self.pos, self.base, self.within = k, k, False
        if not self.json or p < self.pos:
            return False
        s, i = self.s, self.pos
        while True:
            q = s.find('"', i, p)
            if q < 0:
                break
            b = q
            while b > self.base and s[b - 1] == "\\":
                b -= 1
            if (q - b) % 2 == 0:
                self.within = not self.within
            i = q + 1
        self.pos = p
        return self.within


def _open_hit(m: re.Match[str]):
    if m.group("name"):
        return m.start(), m.end(), [(m.group("name"), "")]
    if any(n.startswith(m.group("dangling")) for n in _TOKEN_NAMES):
        return m.start(), m.end(), []  # a truncated "<|ret" at the very end
    return None


def _match_close(s: str, p: int, flushed: int):
    """`name|>` whose `<|` was lost; a bare `|>` right after a token or at either end is residue."""
    k = p
    while k > flushed and p - k < _MAX_TOKEN_NAME and "a" <= s[k - 1] <= "z":
        k -= 1
    word = s[k:p]
    if word in _NAME_SET and (k == 0 or not s[k - 1].isalnum()):
        start = k - 1 if k > flushed and s[k - 1] in "<|" else k
        return start, p + 2, [(word, "")]
    if (not word and p == flushed) or p + 2 == len(s):
        return p, p + 2, []
    return None


def _match_bare(s: str, p: int):
    """`assistantfinal`, `assistantanalysis`, `assistantcommentary to=NAME json`: stripped tokens."""
    q = p + len("assistant")
    for channel in _CHANNELS:
        if s.startswith(channel, q):
            end, tokens = _bare_header(s, q + len(channel), channel)
            return p, end, [("start", ""), ("text", "assistant")] + tokens
    if s.startswith(" to=", q) and not s.startswith("|>", p - 2):  # not after a real <|start|>
        end, tokens = _bare_role_recipient(s, q + 1)
        return p, end, [("start", ""), ("text", "assistant ")] + tokens
    for ctype in _CONTENT_TYPES:  # `assistantcode{...}`: the channel and the recipient were lost
        if s.startswith(ctype, q) and s[_skip_ws(s, q + len(ctype)):][:1] == "{":
            return p, q + len(ctype), [("start", ""), ("origin", "residue"), ("text", "assistant"),
                                       ("channel", ""), ("text", "commentary"), ("message", "")]
    return None


# Words a stripped header starts with, in the middle of text: a role or a channel.
_HEADER_WORDS = ("assistant", "commentary", "analysis", "final", "user", "developer", "system")
# What ends prose before junk glued to a header word (`0141.json.\U0004e000user to=`).
_PROSE_END = frozenset(".!?\u2026\u3002\uff01\uff1f)]}\"'`>:;,")


def _match_recipient(s: str, p: int, flushed: int):
    """A stripped header in the middle of text, p at its `to=`: `analysis to=NAME`, `user to=NAME`,
    `XYZanalysis to=container.exec`, `}assistant to=NAME commentary`, `</commentary to=NAME>`.
    The role or channel word before `to=` may have junk of any script glued to it (a run with no
    space and no end of sentence); without such a word, a `to=NAME` is a header only when JSON
    follows it (`... so we call to=functions.shell.` is left to the final scrub)."""
    if not _recipient_marker_end(s, p) or (p > 0 and not s[p - 1].isspace()):
        return None
    k = p
    while k > max(flushed, p - 32) and s[k - 1].isspace():
        k -= 1
    word = next((w for w in _HEADER_WORDS if s.endswith(w, flushed, k)), "")
    start = k - len(word) if word else p
    j = start
    while word and j > max(flushed, start - 64) and not s[j - 1].isspace() and s[j - 1] not in _PROSE_END:
        j -= 1
    if not word and s.find("{", p, p + 256) < 0:
        return None
    end, tokens = _recipient_header(s, p, word)  # junk between it and the body: see _body_origin
    return j, end, [("start", ""), ("origin", "glued_channel" if j < start else "harmony")] + tokens


def _recipient_header(s: str, p: int, word: str) -> tuple[int, list[tuple[str, str]]]:
    """Tokens for `[word] to=NAME [channel] [json|code]`, p at `to=`; the body follows."""
    channel = word if word in _CHANNELS else ""
    role = "assistant" if channel or not word else word
    j = _read_name_end(s, p + 3)
    name = s[p + 3:j]
    if not channel:
        channel = next((c for c in _CHANNELS if name.endswith(c) and len(name) > len(c)), "")
        name = name[:-len(channel)] if channel else name
    k = _skip_ws(s, j)
    if not channel:
        channel = next((c for c in _CHANNELS if _word_at(s, k, c)), "")
        j, k = (k + len(channel), _skip_ws(s, k + len(channel))) if channel else (j, k)
    ctype = next((c for c in _CONTENT_TYPES if _word_at(s, k, c)), "")
    j = k + len(ctype) if ctype else j
    tokens = [("strict", ""), ("text", f"{role} to={name}"), ("channel", ""), ("text", channel)]
    if s.startswith(">", j):  # the end of a pseudo-tag `</commentary to=NAME>`
        j += 1
    if not s.startswith("<|", _skip_ws(s, j)):
        tokens.append(("message", ""))
    return j, tokens


def _word_at(s: str, k: int, word: str) -> bool:
    return s.startswith(word, k) and not s[k + len(word):k + len(word) + 1].isalpha()




def _bare_role_recipient(s: str, p: int) -> tuple[int, list[tuple[str, str]]]:
    """`assistant to=functions.xcommentary json{...}`: the template's recipient-first header with
    its tokens stripped; the channel word ends up glued to the name. p is at `to=` (or before it)."""
    p = _skip_spaces(s, p)
    j = _read_name_end(s, _skip_spaces(s, p + 3))
    name = s[p:j]
    channel = next((c for c in _CHANNELS if name.endswith(c)), "")
    if channel:
        name = name[:-len(channel)]
    else:
        k = _skip_spaces(s, j)
        channel = next((c for c in _CHANNELS if s.startswith(c, k)), "")
        j = k + len(channel) if channel else j
    k = _skip_spaces(s, j)
    for ctype in _CONTENT_TYPES:
        if s.startswith(ctype, k):
            j = _skip_spaces(s, k + len(ctype))
            break
    tokens = [("strict", ""), ("text", name), ("channel", ""), ("text", channel)]
    if not s.startswith("<|", _skip_spaces(s, j)):
        tokens.append(("message", ""))
    return j, tokens


def _lead_bare_recipient(s: str, out: list) -> int:
    """` to=container.exec {"cmd": [...]}`: a stripped completion starts after `<|start|>assistant`,
    so it may start with the recipient of a role-part header."""
    k = _skip_spaces(s, 0)
    if not s.startswith("to=", k):
        return 0
    end, tokens = _bare_role_recipient(s, k)
    out.extend(tokens)
    return end


_GLUED_OPENERS = "<\"'*`#([{\u201c\u2018"  # what a stripped message may start with besides a letter


def _lead_bare_channel(s: str, out: list) -> int:
    """A completion starts after `<|start|>assistant`, so a stripped answer starts with a bare
    channel word: `analysisWe need...`, `finalThe answer`, `commentary to=functions.shell json{`.
    Accepted only when the word is glued to a letter or an opening quote or bracket (`analysisthe`,
    `analysis"`, but `final` only to a capital: `finally` is a word; `analysis_x.py` is a file
    name) or to `to=`, or when the field also holds a stripped `assistantfinal`-style
    marker, so normal prose ("finally", "analysis of", "Final answer") is left alone."""
    for channel in _CHANNELS:
        if not s.startswith(channel):
            continue
        rest = s[len(channel):len(channel) + 40].lstrip()
        nxt = s[len(channel):len(channel) + 1]
        opener = nxt != "" and nxt in _GLUED_OPENERS
        if channel == "final":  # `finally`, `final,`, `final answer` are prose
            glued = nxt.isupper() or opener
        else:  # no word continues `analysis`/`commentary` with a letter; `analysis_x.py` is a file
            glued = nxt.isalpha() or opener
        glued = glued or rest.startswith("to=")
        if glued or _has_bare_marker(s):
            end, tokens = _bare_header(s, len(channel), channel)
            out.extend(tokens)
            return end
    return 0


def _has_bare_marker(s: str) -> bool:
    return any(s.find("assistant" + c) >= 0 for c in _CHANNELS)


def _bare_header(s: str, p: int, channel: str) -> tuple[int, list[tuple[str, str]]]:
    """Tokens for a stripped header that starts at p (right after the channel word).

    `commentary to=NAME [json|code]` keeps its recipient; the content starts after it. When a real
    token follows (`<|constrain|>`, `<|message|>`) the lexer goes on with it instead."""
    tokens: list[tuple[str, str]] = [("channel", ""), ("text", channel)]
    j = p
    if channel == "commentary" or s.startswith(" to=", p) or s.startswith("to=", p):
        k = _skip_spaces(s, p)
        if s.startswith("to=", k):
            tokens.insert(0, ("strict", ""))  # a stripped recipient: only JSON makes its body a call
            j = _skip_spaces(s, k + 3)
            j = _read_name_end(s, j)
            k = _skip_spaces(s, j)
            for ctype in _CONTENT_TYPES:
                if s.startswith(ctype, k):
                    j = _skip_spaces(s, k + len(ctype))
                    break
            tokens.append(("text", " " + s[p:j].strip()))
    if not s.startswith("<|", _skip_spaces(s, j)):
        tokens.append(("message", ""))
    return j, tokens


def _skip_ws(s: str, i: int, limit: int = 64) -> int:
    """Past spaces, tabs and line breaks (a bounded number)."""
    end = min(len(s), i + limit)
    while i < end and s[i] in " \t\r\n":
        i += 1
    return i


def _skip_spaces(s: str, i: int, limit: int = 64) -> int:
    end = min(len(s), i + limit)
    while i < end and s[i] in " \t":
        i += 1
    return i


_NAME_STOP: list[re.Pattern[str]] = []  # compiled on first use


def _read_name_end(s: str, i: int) -> int:
    """End of a recipient name starting at i (bounded by _NAME_LIMIT)."""
    if not _NAME_STOP:
        _NAME_STOP.append(re.compile(r'[\s{\["<>]'))
    end = min(len(s), i + _NAME_LIMIT)
    m = _NAME_STOP[0].search(s, i, end)
    return m.start() if m else end


# ----------------------------------------------------------------------------------------------
# Messages: tokens -> [Message]


# ----------------------------------------------------------------------------------------------
# Recipient markers

# `to=` followed by one of these is a recipient wherever it is; `to=browser.`, `to=web.` and
# `to=python` only after a non-word character (`redirect_to=web.html` is not one), and `assistant`
# only when no identifier continues it (`to=assistant_id` in code is not one).
_RECIPIENTS = ("functions", "container.exec", "repo_browser.", "multi_tool_use.", "assistant")
_BOUNDED_RECIPIENTS = ("browser.", "web.", "python")


def _recipient_marker_end(s: str, k: int) -> int:
    """End of the recipient marker `to=NAME...` at k (the recipient word only), 0 when the `to=` at
    k is not one (a keyword argument in code, a URL parameter)."""
    j = k + 3
    for word in _RECIPIENTS:
        if s.startswith(word, j):
            nxt = s[j + len(word):j + len(word) + 1]
            if word == "assistant" and nxt and (nxt in "_.(" or (nxt.isascii() and nxt.isalnum())) \
                    and not any(s.startswith(c, j + len(word)) for c in _CHANNELS):
                return 0  # `to=assistant_id` in code; `to=assistantfinal` is residue
            return j + len(word)
    if k > 0 and (s[k - 1].isalnum() or s[k - 1] == "_"):
        return 0
    for word in _BOUNDED_RECIPIENTS:
        if s.startswith(word, j):
            nxt = s[j + len(word):j + len(word) + 1]
            if word == "python" and nxt and (nxt.isalnum() or nxt in "_.("):
                return 0
            return j + len(word)
    return 0
