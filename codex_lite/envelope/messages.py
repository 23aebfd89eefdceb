"""Harmony messages: the lexer's pieces assembled into messages, and their headers read.

    _messages(pieces) -> iterator of _Message   role/channel/content-type header parts and content
    _header(msg) -> _Header                     role, channel, recipient (`to=NAME`, bounded)

A message's header may be whole (`<|start|>assistant<|channel|>commentary to=functions.shell`),
glued (`assistantcommentary`), split over its pieces, or left open by a truncated answer; the
helpers here rebuild the one reading a header can have, and leave text that only looks like a header
as text. Internal to the envelope package (recovery.py routes the messages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from codex_lite.envelope.tokens import (
    _CHANNELS,
    _CONTENT_TYPES,
    _NAME_LIMIT,
    _ROLES,
    _TERMINATORS,
)
from codex_lite.records import dataclass


class _Message:
    """One message being assembled. Header parts are lists of pieces joined on demand, so a
    pathological header made of thousands of pieces still costs linear time. (A plain class with
    slots: one is made per token boundary, on the hot path.)"""
    __slots__ = ("head", "content", "has_body", "origin", "strict")

    def __init__(self) -> None:
        self.head: dict[str, list[str]] = {"role": [], "channel": [], "ctype": []}
        self.content: list[str] = []
        self.has_body = False    # a <|message|> was seen; without it the "header" may be plain text
        self.origin = "harmony"  # the class of leak its header came from (glued_channel, residue, ...)
        self.strict = False      # a stripped header: its body is a call only when it holds JSON

    @classmethod
    def body(cls, text: str, channel: str = "") -> _Message:
        """A message made of text that was not a header after all (strict: debris is dropped)."""
        msg = cls()
        msg.content.append(text)
        msg.has_body = msg.strict = True
        msg.head["channel"].append(channel)
        return msg

    def empty(self) -> bool:
        head = self.head
        return not (self.has_body or head["role"] or head["channel"] or head["ctype"])

    @property
    def role(self) -> str:      # the role part of the header (may hold `to=NAME`)
        return "".join(self.head["role"])

    @property
    def channel(self) -> str:   # text after <|channel|>
        return "".join(self.head["channel"])

    @property
    def ctype(self) -> str:     # text after <|constrain|>
        return "".join(self.head["ctype"])


def _messages(pieces: Iterable[tuple[str, str]]) -> Iterator[_Message]:
    """Group lexed pieces into messages, tolerating missing and misplaced tokens. Each message is
    yielded as soon as it is complete, so only one is held in memory at a time."""
    done: list[_Message] = []
    cur, fld = _Message(), "role"
    for kind, value in pieces:
        if done:
            yield from done
            done.clear()
        if kind == "text":
            if cur.has_body:
                cur.content.append(value)
            else:
                cur.head[fld].append(value)
        elif kind == "message":
            if cur.has_body:
                cur, fld = _split_glued_header(cur, done) or (cur, fld)
            cur.has_body, fld = True, "content"
        elif kind == "constrain":
            if cur.has_body:
                cur, fld = _split_glued_header(cur, done) or (cur, fld)
            if not cur.has_body:
                fld = "ctype"
        elif kind == "channel":
            if cur.has_body:
                _strip_trailing_word(cur, "assistant")
                done.append(cur)
                cur = _Message()
            elif fld == "role" and not _header_like(cur.role):
                done.append(_as_text(cur))
                cur = _Message()
            elif cur.head["channel"]:  # a second channel: the latest wins, `to=` is kept
                cur.head["role"] += [" "] + cur.head["channel"]
                cur.head["channel"] = []
            fld = "channel"
        elif kind == "start" or kind in _TERMINATORS or kind == "startoftext":
            _close(cur, done)
            cur, fld = _Message(), "role"
        elif kind == "origin":
            cur.origin = value
        elif kind == "strict":
            cur.strict = True
    _close(cur, done)
    yield from done


def _close(cur: _Message, done: list[_Message]) -> None:
    if cur.empty():
        return
    if cur.has_body:
        done.append(cur)
    elif not _header_like(cur.role + " " + cur.channel + " " + cur.ctype):
        done.append(_unclosed_header(cur))
    elif cur.channel.strip() or cur.ctype.strip() or "to=" in cur.role:
        cur.has_body = True  # a header with no body: a truncated message; keep it for diagnostics
        done.append(cur)


def _as_text(cur: _Message) -> _Message:
    """A 'header' that was never followed by <|message|> is plain text the model wrote
    (punctuation-only debris such as `<|channel|>??` is dropped)."""
    text = cur.role + cur.channel + cur.ctype
    if not any(c.isalnum() for c in text[:10000]) and len(text) < 10000:
        text = ""
    return _Message.body(text)


def _unclosed_header(cur: _Message) -> _Message:
    """`<|channel|>final {"answer": "hi"}<|return|>`: the `<|message|>` between the channel
    and the body was lost; the body keeps its channel."""
    if _header_like(cur.role) and not cur.ctype:
        words = cur.channel.split(None, 1)
        if len(words) == 2 and words[0] in _CHANNELS:
            return _Message.body(words[1], channel=words[0])
    return _as_text(cur)


def _strip_trailing_word(cur: _Message, word: str) -> None:
    """`...thinking assistant<|channel|>final`: the `<|end|><|start|>` were lost, `assistant` stays."""
    if cur.content and cur.content[-1].rstrip().endswith(word):
        last = cur.content[-1].rstrip()
        cur.content[-1] = last[:len(last) - len(word)]


def _split_glued_header(cur: _Message, done: list[_Message]):
    """`<|message|>` or `<|constrain|>` inside a body: the previous message ran on and its tail is
    the next header (`... commentary to=functions.shell <|constrain|>json<|message|>`)."""
    if not cur.content:
        return None
    last = cur.content[-1]
    tail_start = max(0, len(last) - 300)
    k = last.rfind("to=", tail_start)
    if k < 0:
        return None
    cut = k
    for word in ("commentary", "analysis", "final"):
        w = last.rfind(word, tail_start, k)
        if w >= 0:
            cut = min(cut, w)
    cur.content[-1] = last[:cut]
    _strip_trailing_word(cur, "assistant")
    done.append(cur)
    nxt = _Message()
    nxt.head["channel"].append(last[cut:])
    return nxt, "ctype"


def _header_like(text: str) -> bool:
    """True when `text` could be a harmony header (role, channel, recipient, content type)."""
    words = text.split(None, 8)
    if len(words) > 7:
        return False
    after_to = False
    for w in words:
        if after_to or w.startswith("to="):
            after_to = w == "to="
            continue
        if w in _ROLES or w in _CHANNELS or w in _CONTENT_TYPES or w == "<|constrain|>json":
            continue
        if _dotted_name(w):
            continue
        return False
    return True


def _dotted_name(w: str) -> bool:
    """`functions.shell` (a tool role) but not `Done.` or `e.g`."""
    if "." not in w or w.endswith(".") or not w[:1].isalpha() or len(w) > _NAME_LIMIT:
        return False
    return all(c.isalnum() or c in "._-" for c in w) and w.split(".", 1)[0].islower()


# ----------------------------------------------------------------------------------------------
# Header interpretation

@dataclass
class _Header:
    role: str
    channel: str
    recipient: str
    ctype: str


def _header(msg: _Message) -> _Header:
    role_part, channel_part, ctype_part = msg.role, msg.channel, msg.ctype
    recipient = ""
    for part in (role_part, channel_part, ctype_part):
        k = part.find("to=")
        if k >= 0:
            recipient = _recipient_text(part, k + 3).strip()
            break
    channel = _channel_word(channel_part) or _channel_word(role_part)
    role = ""
    for w in _header_words(role_part):
        if w in _ROLES or (_dotted_name(w) and w not in _CHANNELS):
            role = w
        break
    return _Header(role or "assistant", channel, recipient, ctype_part.strip()[:_NAME_LIMIT])


def _header_words(text: str) -> list[str]:
    """The words of a header part, without `to=NAME` (the name may follow `to=` after a space)."""
    out, skip = [], False
    for w in text[:1000].split():
        if skip or w.startswith("to="):
            skip = w == "to="
            continue
        out.append(w)
    return out


def _channel_word(text: str) -> str:
    if not text:
        return ""
    for w in _header_words(text):
        if w in _CHANNELS:
            return w
        glued = _glued_channel(w)
        if glued:
            return glued
    return ""


def _glued_channel(w: str) -> str:
    """`commentaryjson`, `final<junk>`, `––commentary`: a channel word with residue glued on."""
    w = w.lstrip("-\u2013\u2014_*.:'\"`")
    for c in _CHANNELS:
        if w.startswith(c):
            return c
    return ""


def _recipient_text(part: str, j: int) -> str:
    """The raw text after `to=`, up to the next structural character; clean_name() picks the name
    out of it (so `functions. shell` and `functions.shell json` both work)."""
    end = min(len(part), j + _NAME_LIMIT)
    k = j
    while k < end and part[k] not in '<>{["\n':
        k += 1
    return part[j:k]
