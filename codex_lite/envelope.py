"""Harmony envelope recovery: turn one model answer into clean text, reasoning and tool calls.

gpt-oss speaks "harmony": `<|start|>assistant<|channel|>commentary to=functions.shell <|constrain|>json
<|message|>{...}<|call|>`. Servers are supposed to parse that into `content`, a reasoning field and
`tool_calls`, but many (vLLM, Ollama, LM Studio, llama.cpp, hosted gateways) leak it: raw tokens in
`content`, calls inside the reasoning text, tokens stripped to bare words (`analysis...assistantfinal
...`), the content type glued to the tool name, broken JSON. Users then see raw tokens, or the agent
stops mid-task because the call it needed was never seen. The leaks fall in classes (CLASSES, counted
by telemetry): `harmony` envelopes, `bare_json` (the whole answer is a JSON call), `recipient_only`
(`to=functions.NAME` with nothing to send), `glued_channel` (junk of any script glued to a header or
between it and its body) and `residue` (`user to=assistant`, `assistantcode{...}`, `?...`).

`recover()` takes the text fields of one answer and returns what the model meant:

    recover(content, reasoning_texts, structured_calls) -> Recovery(text, reasoning, calls, diagnostics,
                                                                    scrubbed)

- `analysis` text goes to `reasoning`; `final` text and recipient-less `commentary` (a preamble, which
  Codex shows to the user) go to `text`; a message with a recipient (`to=NAME`, in the role part or
  the channel part of the header, or stripped: `analysis to=NAME`, `user to=NAME` anywhere in text,
  with junk glued before the word) becomes a RecoveredCall, tagged with the class it came from.
- A whole answer that is JSON calls (bare_calls: `{"name", "arguments"|"parameters"}`, an array of
  them, or exactly our tools' arguments such as `{"command": [...]}`) is run; an answer that merely
  contains JSON, or JSON that is data (a record, a tool schema), stays an answer.
- The last step (_shown) enforces one rule on the text and reasoning returned: no harmony token, no
  recipient marker, no channel word glued to a role (find_leak). What recovery left is removed and
  counted in `scrubbed`; a recipient written with nothing to send becomes one error call telling the
  model how to call the tool it seemed to want, unless the answer holds real calls.
- Structured calls come first, keep their ids and are normalised the same way (`normalize_call`);
  leaked calls follow with a synthetic id (`call_` + random hex) and `recovered=True`. A leaked call
  identical to a structured one (servers that send both) or repeated across fields is dropped once.
- A call that cannot be understood keeps its name and gets `error` set, written for the model to act
  on; the agent answers with that error instead of running it (a call whose name was lost is named
  `unnamed_tool`, since the history sent back needs a name). Nothing is silently dropped: whatever
  was repaired or discarded is listed in `diagnostics`. A field holding more than MAX_LEAKED_CALLS
  calls (a model looping) has the rest reported through one error call instead of run.

Normalisation (the same for structured and leaked calls):
- names: `functions.`/`container.` prefixes, token residue, glued content types (`shelljson`) and
  channel words are removed; `exec`, `shell_command`, `bash`, `container.exec`, `exec_command`,
  `execute_bash`, ... map to `shell`; the tools of other agents map to ours where the meaning is
  clear (tools/calls.py: `Write` -> apply_patch, `read_file` -> `cat`). Unknown names pass through
  cleaned (the agent answers with the list of tools).
- shell arguments: `cmd` -> `command`; a string command -> `["bash", "-lc", s]`; `timeout`,
  `timeoutMs`, `timeout_seconds`, ... -> `timeout_ms` in milliseconds; `cwd` and friends ->
  `workdir`. A missing `workdir` stays missing: the shell tool defaults it to the session's cwd,
  which is the only place that knows it ("workdir defaulted").
- `{"input": "*** Begin Patch..."}` sent to shell, or an argv `["apply_patch", PATCH]` / `[PATCH]`
  without a workdir, becomes an `apply_patch` call.
- tolerant JSON: code fences, prose around one object, a stray closing bracket, missing closing
  brackets, double encoding, one level of over-escaping, backslashes JSON does not know (`\\(` in a
  regex), raw line breaks in strings, a one-element list and a `{"name", "arguments"}` wrapper are
  repaired when only one reading is possible; a patch whose newlines were escaped twice is
  unescaped; a shell call whose arguments are a bare command line runs it with `bash -lc` (never a
  sentence or an ellipsis). Anything else becomes an error call, which ends with how to call the
  tool right (its name and an argument example).

Stripped tokens are recognised only where they cannot be prose: `assistantfinal`-style markers
anywhere, and a channel word at the very start of a field only when glued to its text (`analysisWe`,
`finalThe`), so answers that begin with "finally" or "analysis of" are left alone.

The parser is linear in its input and its memory is proportional to it: token candidates are found
by `str.find` and one regex that starts with a literal and has no nested quantifiers, every header
read is bounded, every backward look is bounded, the JSON strings of a body are scanned forward
once, and every repair re-parses the arguments a bounded number of times. A well-formed answer (every
`<|` and `|>` in a whole token) takes a fast path: one C-speed regex split. It never raises. Also
public: `normalize_call`, `clean_name`, `parse_arguments` (raises ArgumentsError), `bare_calls`,
`find_leak` (the rule), `scrub` (removes tokens from any text), `SPECIAL_TOKENS` and `CLASSES`.
"""

from __future__ import annotations

import json
import math
import os
import re
from functools import lru_cache
from collections.abc import Iterable, Iterator
from typing import Any

from codex_lite.records import dataclass, field
from codex_lite.tools import calls as foreign


@dataclass
class RecoveredCall:
    """One tool call, normalised. Exactly one of `arguments` and `error` is set: an error call is
    answered with its error text (written for the model, so it can retry) instead of being run."""

    call_id: str
    name: str
    arguments: dict[str, Any] | None
    error: str | None = None  # set when the call could not be understood; sent back to the model
    recovered: bool = False   # True when it came from leaked text
    origin: str = ""          # for leaked calls, the class of leak it came from (see CLASSES)


@dataclass
class Recovery:
    """What one answer meant: the text to show, the reasoning, the calls to run (structured ones
    first), and what was repaired or could not be (for logs and telemetry, not for the user)."""

    text: str = ""
    reasoning: str = ""
    calls: list[RecoveredCall] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    scrubbed: dict[str, int] = field(default_factory=dict)  # leak class -> pieces removed from text

    def scrub_count(self, kind: str, n: int = 1) -> None:
        self.scrubbed[kind] = self.scrubbed.get(kind, 0) + n


# ----------------------------------------------------------------------------------------------
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
_NAME_LIMIT = 200  # longest tool name we read; keeps every header operation bounded

SHELL, APPLY_PATCH, UPDATE_PLAN = "shell", "apply_patch", "update_plan"
UNNAMED = "unnamed_tool"  # the name of an error call whose tool name was lost
MAX_LEAKED_CALLS = 64  # leaked calls read from one field; a model looping on calls is cut here
_ALIASES = {
    "shell": SHELL, "exec": SHELL, "shell_command": SHELL, "bash": SHELL, "container.exec": SHELL,
    "container_exec": SHELL, "exec_command": SHELL, "local_shell": SHELL, "run_shell": SHELL,
    "sh": SHELL, "terminal": SHELL, "run_command": SHELL, "execute_command": SHELL,
    "apply_patch": APPLY_PATCH, "applypatch": APPLY_PATCH, "apply-patch": APPLY_PATCH,
    "update_plan": UPDATE_PLAN, "updateplan": UPDATE_PLAN, "update-plan": UPDATE_PLAN,
}
_PREFIXES = ("functions.", "function.", "functions/", "tools.", "tool.", "container.")
_PATCH_START = "*** Begin Patch"


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


# ----------------------------------------------------------------------------------------------
# Name clean-up

def clean_name(name: str) -> str:
    """Canonical tool name: residue, prefixes and glued content types removed, aliases mapped."""
    return _clean_name((name or "")[:_NAME_LIMIT * 2])


@lru_cache(maxsize=256)  # the same few names come back in every answer
def _clean_name(n: str) -> str:
    for cut in ("<|", "|>", "{", "(", "<"):
        k = n.find(cut)
        if k >= 0:
            n = n[:k]
    n = n.strip().strip("\"'`").strip()
    if n.startswith("to="):
        n = n[3:].strip()
    words = n.split()
    if len(words) > 1 and (words[0].endswith(".") or words[1].startswith(".")):
        words = [words[0] + words[1]]  # "functions. shell"
    n = words[0].strip("\"'`").rstrip(".,:;") if words else ""
    low = n.lower()
    for prefix in ("",) + _PREFIXES:
        if prefix and not (low.startswith(prefix) and len(n) > len(prefix)):
            continue
        rest, low_rest = n[len(prefix):], low[len(prefix):]
        if low_rest in _ALIASES:
            return _ALIASES[low_rest]
        if low_rest in foreign.SHELL_NAMES:
            return SHELL
        for suffix in _CONTENT_TYPES + _CHANNELS:
            if low_rest.endswith(suffix):
                base = low_rest[:-len(suffix)].rstrip("._-")
                if base in _ALIASES:
                    return _ALIASES[base]
        if prefix:
            return rest
    return n


# ----------------------------------------------------------------------------------------------
# Tolerant JSON

class ArgumentsError(ValueError):
    """Arguments that cannot be read unambiguously; the message is written for the model."""


def parse_arguments(text: str | None, notes: list[str] | None = None) -> Any:
    """Parse tool arguments, repairing only what has a single reading. Raises ArgumentsError."""
    notes = notes if notes is not None else []
    s = _strip_fences((text or "").strip())
    if not s:
        return {}
    value, err = _loads(s)
    if err is None:
        return _unwrap_string(value, notes)
    for repair in (_repair_escaped, _repair_invalid_escapes, _repair_surrounded, _repair_stray_closer,
                   _repair_truncated):
        fixed = repair(s, err)
        if fixed is not None:
            value, label = fixed
            notes.append(label)
            return _unwrap_string(value, notes)
    k = s.find("{")
    if k > 0:  # junk before the object: describe what is wrong with the object itself
        s, err = s[k:], _loads(s[k:])[1] or err
    raise ArgumentsError(_describe_json_error(s, err))


_DECODER = json.JSONDecoder(strict=False)  # raw newlines and tabs inside strings are common in leaks


def _loads(s: str):
    try:
        return _DECODER.decode(s), None
    except (ValueError, RecursionError) as exc:
        return None, exc


def _strip_fences(s: str) -> str:
    if s.startswith("```"):
        nl = s.find("\n")
        end = s.rfind("```")
        if nl > 0 and end > nl:
            return s[nl + 1:end].strip()
    return s


def _unwrap_string(value: Any, notes: list[str]) -> Any:
    """Double encoding: the arguments are a JSON string holding JSON."""
    if isinstance(value, str):
        inner = value.strip()
        if inner[:1] in "{[":
            parsed, err = _loads(inner)
            if err is None:
                notes.append("arguments were double-encoded JSON")
                return parsed
    return value


def _repair_escaped(s: str, err: Exception):
    """`{\\"command\\": [\\"ls\\"]}`: one level of escaping too many."""
    if not s.startswith('{\\"') and not s.startswith('[\\"'):
        return None
    unescaped, e1 = _loads('"' + s + '"')
    if e1 is not None or not isinstance(unescaped, str):
        return None
    value, e2 = _loads(unescaped)
    if e2 is None:
        return value, "arguments were over-escaped"
    return None


def _repair_invalid_escapes(s: str, err: Exception):
    """`".*\\(\\.cpp"`: a backslash before a character JSON does not escape (a regex, a Windows
    path) can only have been meant literally."""
    if "Invalid \\escape" not in str(getattr(err, "msg", "")):
        return None
    value, e = _loads(_escape_stray_backslashes(s))
    return (value, "backslashes JSON does not know were read literally") if e is None else None


def _escape_stray_backslashes(s: str) -> str:
    out, i = [], 0
    while True:
        k = s.find("\\", i)
        if k < 0:
            out.append(s[i:])
            return "".join(out)
        nxt = s[k + 1:k + 2]
        if nxt and nxt in '"\\/bfnrtu':
            out.append(s[i:k + 2])
            i = k + 2
        else:
            out.append(s[i:k] + "\\\\")
            i = k + 1


def _repair_surrounded(s: str, err: Exception):
    """Prose (or a stray closing bracket) before/after exactly one JSON object."""
    start = s.find("{")
    if start < 0:
        return None
    try:
        value, end = _DECODER.raw_decode(s, start)
    except (ValueError, RecursionError):
        return None
    rest = s[end:].strip()
    if _has_object(rest):
        return None  # a second object: two readings, refuse
    if start == 0 and rest and not rest.strip("}] \n\t"):
        return value, "a stray closing bracket after the arguments was removed"
    return value, "text around the JSON arguments was ignored"


def _has_object(s: str) -> bool:
    k = s.find("{")
    if k < 0:
        return False
    try:
        _DECODER.raw_decode(s, k)
        return True
    except (ValueError, RecursionError):
        return False


def _repair_stray_closer(s: str, err: Exception):
    """`{"command": ["ls"]]}`: one extra `]` or `}` inside."""
    for _ in range(2):
        pos = getattr(err, "pos", None)
        if pos is None or pos >= len(s) or s[pos] not in "]}":
            return None
        s = s[:pos] + s[pos + 1:]
        value, err = _loads(s)
        if err is None:
            return value, "a stray closing bracket in the arguments was removed"
    return None


def _repair_truncated(s: str, err: Exception):
    """`{"command": ["ls", "-la"]`: the closing brackets are missing, nothing else is."""
    if not s.startswith("{"):
        return None
    stack, in_str, esc = [], False, False
    for ch in s:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and (not stack or stack.pop() != ch):
            return None
    if in_str or not stack or s.rstrip()[-1:] in (",", ":"):
        return None
    value, e = _loads(s + "".join(reversed(stack)))
    if e is None:
        return value, "the arguments were truncated; missing closing brackets were added"
    return None


def _describe_json_error(s: str, err: Exception) -> str:
    if isinstance(err, RecursionError):
        return "the arguments are nested too deeply to parse; send a flat JSON object"
    pos = getattr(err, "pos", 0) or 0
    near = _last_resort(scrub(s[max(0, pos - 30):pos + 30])).replace("\n", "\\n")  # shown: no protocol
    if pos >= len(s) - 1 or str(getattr(err, "msg", "")).startswith("Unterminated string"):
        return ("the arguments JSON is truncated (it ends before the object is closed); "
                "send the complete JSON object again")
    return f"the arguments are not valid JSON ({getattr(err, 'msg', err)} near {near!r}); " \
           "send one JSON object"


# ----------------------------------------------------------------------------------------------
# Argument normalisation

_TIMEOUT_MS = ("timeout_ms", "timeoutMs", "timeout_millis", "timeout_milliseconds", "timeoutMillis",
               "timeout_msec")
_TIMEOUT_S = ("timeout_seconds", "timeout_s", "timeout_sec", "timeout_secs", "timeoutSeconds",
              "timeoutSec", "timeout_in_seconds")
_WORKDIR = ("workdir", "cwd", "working_directory", "workingDirectory", "working_dir", "dir",
            "directory")
_TIMEOUT_KEYS = frozenset(("timeout",) + _TIMEOUT_MS + _TIMEOUT_S)


def normalize_call(call_id: str, name: str, arguments_text: str | None) -> RecoveredCall:
    """Clean the name and normalise the arguments of one call (structured or leaked): the same
    rules as for leaked calls, since models send `container.exec` with `cmd` through structured
    tool_calls too. Arguments given as a dict (some servers) are accepted as well. Never raises."""
    return _safe_normalize(call_id, name, arguments_text, [])


def _normalize(call_id: str, name: str, text: str | None, notes: list[str]) -> RecoveredCall:
    canon = clean_name(name or "")
    if not canon:  # a placeholder name: the history sent back to the server needs one
        return RecoveredCall(call_id, UNNAMED, None, "the tool call has no tool name; "
                             "send it again as a tool call that names one of the tools")
    if canon == APPLY_PATCH and _raw_patch(text) is not None:
        return _normalize_patch(call_id, {"input": _raw_patch(text)}, notes)
    try:
        args = parse_arguments(text, notes)
    except ArgumentsError as exc:
        if canon == SHELL and _raw_command(text) is not None:
            notes.append("shell arguments were a bare command line, not JSON; run with bash -lc")
            return _normalize_shell(call_id, {"command": _raw_command(text)}, notes)
        return RecoveredCall(call_id, canon, None, f"{canon}: {exc}")
    if isinstance(args, list) and len(args) == 1 and isinstance(args[0], dict):
        notes.append("arguments were wrapped in a one-element list")
        args = args[0]
    args = _unwrap_call_object(args, canon)
    if canon == SHELL and isinstance(args, list):
        args = {"command": args}
    if canon == APPLY_PATCH and isinstance(args, str) and args.lstrip().startswith(_PATCH_START):
        args = {"input": args}
    if not isinstance(args, dict):
        return RecoveredCall(call_id, canon, None,
                             f"{canon}: the arguments must be a JSON object, got {type(args).__name__}")
    if canon not in foreign.TOOL_NAMES:
        mapped = foreign.translate(canon, args)
        if mapped is not None:
            ours, args, error = mapped
            if error:
                return RecoveredCall(call_id, ours, None, error)
            notes.append(f"a call to {canon} was read as a call to {ours}")
            canon = ours
    if canon == SHELL:
        return _normalize_shell(call_id, args, notes)
    if canon == APPLY_PATCH:
        return _normalize_patch(call_id, args, notes)
    if canon == UPDATE_PLAN:
        return _normalize_plan(call_id, args)
    return RecoveredCall(call_id, canon, args)


def _raw_patch(text: str | None) -> str | None:
    """apply_patch is a free-form tool in Codex: a bare patch body is its whole input."""
    s = _strip_fences((text or "").strip())
    return s if s.startswith(_PATCH_START) else None


def _raw_command(text: str | None) -> str | None:
    """`ls -R` sent as the whole argument text of a shell call (Ollama reports it as
    "invalid character 'l' looking for beginning of value"): the command line itself."""
    s = _strip_fences((text or "").strip())
    if not s or s[0] in '{["' or '{"' in s or s.startswith(_PATCH_START) or looks_like_prose(s):
        return None  # JSON behind junk (`彩彩票{"cmd": ...`) is a broken call, never a command line
    return s


def looks_like_prose(s: str) -> bool:
    """A sentence, an ellipsis or punctuation: what a model writes after a recipient it did not
    mean to call, never to be run as a command line. `ls -R`, `git add .` and `make` are commands;
    `Let me check the files.` and `...` are not."""
    s = s.strip()
    if not any(c.isalnum() for c in s[:200]):
        return True
    words = s[:400].split()
    if len(words) >= 2 and s[-1] in ".!?\u2026" and words[-1] not in (".", ".."):
        return True
    return len(words) >= 3 and words[0].isalpha() and words[0][:1].isupper()


def _unwrap_call_object(args: Any, canon: str) -> Any:
    """`{"name": "shell", "arguments": {...}}` written as the arguments of a call to shell."""
    if isinstance(args, dict) and set(args) <= {"name", "arguments", "parameters", "type"}:
        inner = args.get("arguments", args.get("parameters"))
        if isinstance(inner, str):
            parsed, err = _loads(inner)
            inner = parsed if err is None else inner
        if isinstance(inner, dict) and clean_name(str(args.get("name", canon))) == canon:
            return inner
    return args


def _normalize_shell(call_id: str, args: dict, notes: list[str]) -> RecoveredCall:
    args = dict(args)
    patch = args.get("input", args.get("patch"))
    if isinstance(patch, str) and patch.lstrip().startswith(_PATCH_START) and \
            "command" not in args and "cmd" not in args:
        notes.append("a patch sent to shell was routed to apply_patch")
        return _normalize_patch(call_id, {"input": patch}, notes)
    if "command" not in args:
        for alias in ("cmd", "commands", "argv", "script"):
            if alias in args:
                args["command"] = args.pop(alias)
                break
    else:
        args.pop("cmd", None)
    command, error = _argv(args.get("command"))
    if error:
        return RecoveredCall(call_id, SHELL, None, f"shell: {error}")
    args["command"] = command
    _normalize_workdir(args)
    _normalize_timeout(args, notes)
    if "workdir" not in args:
        routed = _argv_patch(command)
        if routed is not None:
            notes.append("a patch passed as a shell argv was routed to apply_patch")
            return _normalize_patch(call_id, {"input": routed}, notes)
    elif len(command) == 2 and command[0] in ("apply_patch", "applypatch"):
        command[1] = _unescape_patch(command[1], notes)  # the shell tool applies it in workdir
    return RecoveredCall(call_id, SHELL, args)


def _argv(command: Any) -> tuple[list[str] | None, str | None]:
    if command is None:
        return None, 'missing "command"; send {"command": ["bash", "-lc", "..."]}'
    if isinstance(command, str):
        if not command.strip():
            return None, '"command" is empty'
        listed, err = _loads(command) if command.lstrip().startswith("[") else (None, True)
        if err is None and isinstance(listed, list) and listed:
            return _argv(listed)  # '["ls", "-la"]': a JSON-encoded argv
        return ["bash", "-lc", command], None
    if not isinstance(command, list) or not command:
        return None, '"command" must be a non-empty list of strings'
    if not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in command):
        return None, '"command" must be a list of strings'
    argv = [a if isinstance(a, str) else json.dumps(a) for a in command]
    if len(argv) == 1 and " " in argv[0].strip() and not argv[0].startswith(_PATCH_START):
        return ["bash", "-lc", argv[0]], None  # ["ls -la"]: a script, not a program name
    return argv, None


def _argv_patch(argv: list[str]) -> str | None:
    if len(argv) == 2 and argv[0] in ("apply_patch", "applypatch") and \
            argv[1].lstrip().startswith(_PATCH_START):
        return argv[1]
    if len(argv) == 1 and argv[0].lstrip().startswith(_PATCH_START):
        return argv[0]
    return None


def _normalize_workdir(args: dict) -> None:
    for alias in _WORKDIR:
        if alias in args:
            value = args.pop(alias)
            if isinstance(value, str) and value.strip() and "workdir" not in args:
                args["workdir"] = value
    # no workdir given: leave it absent, the shell tool uses the session's cwd


def _normalize_timeout(args: dict, notes: list[str]) -> None:
    """One `timeout_ms` in milliseconds; an unreadable timeout is dropped (the tool's default
    applies) rather than failing a command the model otherwise got right."""
    found = [(k, args.pop(k)) for k in list(args) if k in _TIMEOUT_KEYS]
    if not found:
        return
    key, value = found[0]
    ms = _to_ms(key, value)
    if ms is None:
        notes.append(f"ignored an unreadable timeout {key}={value!r}")
    else:
        args["timeout_ms"] = ms
        if key != "timeout_ms" or value != ms:
            notes.append(f"{key}={value!r} read as timeout_ms={ms}")


_UNIT_SUFFIXES = (("milliseconds", "ms"), ("millis", "ms"), ("ms", "ms"), ("seconds", "s"),
                  ("secs", "s"), ("sec", "s"), ("s", "s"), ("minutes", "m"), ("mins", "m"),
                  ("min", "m"), ("m", "m"))


def _to_ms(key: str, value: Any) -> int | None:
    """`timeout_ms` is milliseconds, `timeout_seconds` seconds; a bare `timeout` is read as
    seconds up to 600 (nobody means a sub-second timeout) and as milliseconds above.
    Strings with units ("30s", "2m", "1500ms") are understood."""
    unit = "ms" if key in _TIMEOUT_MS else "s" if key in _TIMEOUT_S else "?"
    if isinstance(value, str):
        v = value.strip().lower()
        for suffix, u in _UNIT_SUFFIXES:
            if v.endswith(suffix):
                v, unit = v[:-len(suffix)].strip(), u
                break
        try:
            value = float(v)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        return None
    if unit == "?":
        unit = "s" if value <= 600 else "ms"
    factor = {"ms": 1, "s": 1000, "m": 60000}[unit]
    return round(value * factor)


def _normalize_patch(call_id: str, args: dict, notes: list[str]) -> RecoveredCall:
    args = dict(args)
    if "input" not in args:
        for alias in ("patch", "content", "diff", "text"):
            if isinstance(args.get(alias), str):
                args["input"] = args.pop(alias)
                break
    if not isinstance(args.get("input"), str):
        return RecoveredCall(call_id, APPLY_PATCH, None,
                             'apply_patch: missing "input"; send {"input": "*** Begin Patch\\n...'
                             '\\n*** End Patch"}')
    args["input"] = _unescape_patch(args["input"], notes)
    return RecoveredCall(call_id, APPLY_PATCH, args)


def _unescape_patch(patch: str, notes: list[str]) -> str:
    """A patch is many lines; one written with `\\n` escapes and no newline at all was escaped
    once too often (`"*** Begin Patch\\\\n*** Update File: ..."` in the JSON)."""
    if "\n" in patch or "\\n" not in patch or not patch.lstrip().startswith(_PATCH_START):
        return patch
    notes.append("the patch had escaped newlines (\\n) instead of line breaks; unescaped")
    return patch.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")


def _normalize_plan(call_id: str, args: dict) -> RecoveredCall:
    args = dict(args)
    plan = args.get("plan")
    if isinstance(plan, str):
        parsed, err = _loads(plan)
        if err is None:
            args["plan"] = plan = parsed
    if not isinstance(plan, list):
        return RecoveredCall(call_id, UPDATE_PLAN, None,
                             'update_plan: "plan" must be a list of {"step", "status"} objects')
    return RecoveredCall(call_id, UPDATE_PLAN, args)


# ----------------------------------------------------------------------------------------------
# recover()

class _Found:
    """What one field (content or one reasoning text) held."""
    __slots__ = ("text", "reasoning", "calls", "over_limit", "mentions", "scrubbed", "plain")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[tuple[str, str, str]] = []  # (raw name, raw arguments, class)
        self.over_limit = 0  # leaked calls beyond MAX_LEAKED_CALLS, reported, not run
        self.mentions: list[str] = []  # recipients written with nothing to send
        self.scrubbed: list[str] = []  # classes of what was dropped from the text
        self.plain = False  # no protocol at all: shown as it is

    def add_call(self, name: str, args: str, origin: str = "harmony") -> None:
        if len(self.calls) < MAX_LEAKED_CALLS:
            self.calls.append((name, args, origin))
        else:
            self.over_limit += 1


def recover(content: str | None, reasoning_texts: Iterable[str | None] = (),
            structured_calls: Iterable[tuple[str, str, str | None]] = ()) -> Recovery:
    """Split one model answer into clean text, reasoning and tool calls. Never raises."""
    try:
        return _recover(content, reasoning_texts, structured_calls)
    except Exception as exc:  # noqa: BLE001  a bug here must not stop the agent: show scrubbed text
        texts = [t for t in (reasoning_texts or ()) if isinstance(t, str)]
        return Recovery(text=scrub(content if isinstance(content, str) else ""),
                        reasoning=scrub("\n".join(texts)),
                        diagnostics=[f"envelope recovery failed: {type(exc).__name__}: {exc}"])


def _recover(content, reasoning_texts, structured_calls) -> Recovery:
    result = Recovery()
    for item in structured_calls or ():
        call_id, name, args = (tuple(item) + (None, None, None))[:3]
        notes: list[str] = []
        call = _safe_normalize(str(call_id or _new_id()), str(name or ""), args, notes)
        result.calls.append(call)
        result.diagnostics.extend(f"{call.call_id}: {n}" for n in notes)
    fields = [(t, True) for t in (reasoning_texts or ()) if isinstance(t, str) and t]
    if isinstance(content, str) and content:
        fields.append((content, False))
    text_parts: list[str] = []
    reasoning_parts: list[str] = []
    mentions: list[tuple[str, bool]] = []  # (recipient, found in the content)
    pending = _Pending(result, dedupe=bool(result.calls) or len(fields) > 1)
    over_limit = 0
    plain = True
    for index, (value, is_reasoning) in enumerate(fields):
        found = _scan_field(value, is_reasoning, result.diagnostics)
        plain = plain and found.plain
        _add_new(text_parts, found.text)
        _add_new(reasoning_parts, found.reasoning)
        pending.add(found.calls, index, "reasoning" if is_reasoning else "content")
        over_limit += found.over_limit
        mentions += [(m, not is_reasoning) for m in found.mentions]
        for kind in found.scrubbed:
            result.scrub_count(kind)
    if over_limit:
        _report_over_limit(result, over_limit)
    if plain:  # nothing of the protocol anywhere: the rule holds already
        result.text, result.reasoning = "\n\n".join(text_parts), "\n\n".join(reasoning_parts)
        return result
    result.text, in_text = _shown("\n\n".join(text_parts), result)
    result.reasoning, in_reasoning = _shown("\n\n".join(reasoning_parts), result)
    _answer_mentions(result, mentions + [(m, True) for m in in_text] + [(m, False) for m in in_reasoning])
    return result


def _answer_mentions(result: Recovery, mentions: list[tuple[str, bool]]) -> None:
    """Recipients written with nothing to send (`... so we call to=functions.shell.`): when the
    answer holds no call, the model is told how to call the tool it seemed to want (one nudge per
    answer); next to real calls they were only talk, and are just not shown."""
    if not mentions:
        return
    if result.calls or (result.text.strip() and not any(in_content for _, in_content in mentions)):
        result.scrub_count("recipient_only", len(mentions))
        return
    recipient = next((m for m, in_content in mentions if in_content), mentions[0][0])
    name = clean_name(recipient) or UNNAMED
    ours = name if name in foreign.TOOL_NAMES else foreign.ours_for(name)
    if ours:
        error = (f"{name}: the call came with no arguments, so nothing ran (the recipient was written "
                 f"as text, with nothing after it). {foreign.usage(ours).capitalize()}")
    elif name == UNNAMED:
        error = f"the tool call has no tool name and no arguments. The tools are: {foreign.tool_list()}."
    else:
        error = f"{name}: the call came with no arguments; {foreign.unknown_tool(name)}"
    call = RecoveredCall(_new_id(), name, None, error, recovered=True, origin="recipient_only")
    result.calls.append(call)
    result.diagnostics.append(f"{call.call_id}: {error}")
    if len(mentions) > 1:
        result.scrub_count("recipient_only", len(mentions) - 1)


def _report_over_limit(result: Recovery, count: int) -> None:
    """A degenerate answer (a model looping on calls) would cost a router its memory; the calls
    beyond the limit are not run, and the model is told so through one error call."""
    error = (f"{count} more tool calls in this answer were not run: at most {MAX_LEAKED_CALLS} "
             "calls are read from one answer; send the remaining ones again")
    result.calls.append(RecoveredCall(_new_id(), UNNAMED, None, error, recovered=True, origin="harmony"))
    result.diagnostics.append(error)


def _safe_normalize(call_id: str, name: str, args: Any, notes: list[str]) -> RecoveredCall:
    """normalize_call that also records what it repaired in `notes`."""
    try:
        text = args if isinstance(args, str) or args is None else json.dumps(args)
        call = _normalize(call_id, str(name or ""), text, notes)
    except Exception as exc:  # noqa: BLE001  model output must never crash the agent
        call = RecoveredCall(call_id, clean_name(str(name or "")) or UNNAMED, None,
                             f"the tool call could not be read: {type(exc).__name__}")
    return _with_usage(call)


def _with_usage(call: RecoveredCall) -> RecoveredCall:
    """An error the model gets back ends with how to call the tool right: its name and an example."""
    if call.error is None:
        return call
    if call.name in foreign.TOOL_NAMES and foreign.EXAMPLES[call.name] not in call.error:
        call.error = f"{call.error.rstrip('. ')}. To retry, {foreign.usage(call.name)}"
    elif call.name == UNNAMED and "The tools are" not in call.error:
        call.error = f"{call.error.rstrip('. ')}. The tools are: {foreign.tool_list()}."
    return call


def _add_new(parts: list[str], new: list[str]) -> None:
    """Add one field's parts, skipping those an earlier field already gave: a server that copies
    the answer into both content and reasoning shows it once (repeats within a field stay)."""
    if not parts:
        parts.extend(p for p in new if p)
        return
    seen = set(parts)
    parts.extend(p for p in new if p and p not in seen)


class _Pending:
    """Adds leaked calls to the result, dropping copies of structured calls and of calls already
    found in another field (servers that send a call both ways, or in content and reasoning).
    Unmatched calls are kept as key -> {source field: count}, so matching is O(fields) per call."""

    def __init__(self, result: Recovery, dedupe: bool = True):
        self.result, self.dedupe = result, dedupe  # one field and no structured call: no twins
        self.unmatched: dict[str, dict[int, int]] = {}
        for c in result.calls:
            self._put(_key(c), -1)

    def _put(self, key: str, src: int) -> None:
        by_src = self.unmatched.setdefault(key, {})
        by_src[src] = by_src.get(src, 0) + 1

    def _take_twin(self, key: str, index: int) -> bool:
        by_src = self.unmatched.get(key, {})
        src = next((s for s in by_src if s != index), None)
        if src is None:
            return False
        by_src[src] -= 1
        if not by_src[src]:
            del by_src[src]
        return True

    def add(self, calls: list[tuple[str, str, str]], index: int, where: str) -> None:
        for name, args, origin in calls:
            notes: list[str] = []
            call = _safe_normalize(_new_id(), name, args, notes)
            call.recovered, call.origin = True, origin
            if self.dedupe:
                key = _key(call)
                if self._take_twin(key, index):
                    self.result.diagnostics.append(f"dropped a leaked copy of a {call.name} call")
                    continue
                self._put(key, index)
            self.result.calls.append(call)
            log = self.result.diagnostics
            log.append(f"{call.call_id}: recovered a leaked {call.name or '?'} call from {where}")
            log.extend(f"{call.call_id}: {n}" for n in notes)
            if call.error:
                log.append(f"{call.call_id}: {call.error}")


def _key(call: RecoveredCall) -> str:
    if call.arguments is not None:
        try:
            return call.name + "\0" + json.dumps(call.arguments, sort_keys=True)
        except (TypeError, ValueError):
            pass
    return call.name + "\0!" + (call.error or "")


_ID_PREFIX: list[str] = []  # random per process, drawn on first use
_ID_COUNT = [0]


def _new_id() -> str:
    """`call_` + a random per-process prefix (8 hex digits) + a counter (at least 4): unique in a
    process, and across the processes of one resumed session but for a 1 in 4 billion chance."""
    if not _ID_PREFIX:
        _ID_PREFIX.append(os.urandom(4).hex())
    _ID_COUNT[0] += 1
    return f"call_{_ID_PREFIX[0]}{_ID_COUNT[0]:04x}"


def _scan_field(value: str, is_reasoning: bool, diagnostics: list[str]) -> _Found:
    found = _Found()
    plain = found.reasoning if is_reasoning else found.text
    if not _has_envelope(value):
        found.plain = True
        bare = None if is_reasoning else bare_calls(value)
        if bare:
            for name, args in bare[0]:
                found.add_call(name, args, "bare_json")
            found.over_limit += bare[1]
            diagnostics.append("the answer was a bare JSON tool call; it was run as a call")
        else:
            plain.append(value)
        return found
    for msg in _messages(_pieces(value)):
        _route(msg, found, plain, diagnostics)
    return found


def _has_envelope(s: str) -> bool:
    """Whether `s` holds anything of the protocol. False means it is plain text, which also means
    it passes find_leak as it is (the same markers are looked for), so it is shown untouched."""
    if "<|" in s or "|>" in s:
        return True
    if "assistant" in s and (_has_bare_marker(s) or "assistantcode" in s or "assistantjson" in s):
        return True
    if s.startswith(_CHANNELS) and _lead_bare_channel(s, []) > 0:
        return True
    k = s.find("to=")
    if 0 <= k == _skip_spaces(s, 0):
        return True
    while k >= 0:
        if _recipient_marker_end(s, k):
            return True
        k = s.find("to=", k + 3)
    return False


def _route(msg: _Message, found: _Found, plain: list[str], diagnostics: list[str]) -> None:
    body = "".join(msg.content)
    head = _header(msg)
    if head.role != "assistant":
        if body.strip() or head.recipient:
            found.scrubbed.append("residue")
            diagnostics.append(f"dropped a message written as role {head.role!r} "
                               f"({len(body)} characters): the model cannot speak for tools or users")
        return
    to_self = head.recipient.startswith(("assistant", "user"))
    if head.recipient and not to_self:
        if _no_arguments(body, msg.strict):
            found.mentions.append(head.recipient)
        else:
            found.add_call(head.recipient, body, _body_origin(msg, body))
        return
    text = body.strip()
    if to_self and (head.channel == "commentary" or _debris(text)):
        found.scrubbed.append("residue")  # a tool result the model wrote itself, or debris
        diagnostics.append(f"dropped a {head.channel or 'plain'} message addressed to {head.recipient} "
                           f"({len(body)} characters)")
        return
    if not text:
        return
    if head.channel == "analysis":
        found.reasoning.append(text)
    elif head.channel == "commentary" and _json_object(text):
        inferred = _inferred_call(text)
        found.add_call(*(inferred or ("", text)), msg.origin)
        diagnostics.append("a commentary message without recipient held tool arguments; " +
                           ("the tool was inferred from them" if inferred else "the model is asked "
                            "to name the tool"))
    elif msg.strict and _debris(text):
        found.scrubbed.append("residue")  # `?...` left of a broken header: nothing to read
    elif head.channel in ("final", "commentary"):
        found.text.append(text)
    else:
        plain.append(text)


def _no_arguments(body: str, strict: bool) -> bool:
    """A recipient with nothing to send: an ellipsis, a sentence; for a stripped header anything
    without JSON. (A real header may carry a bare command line or patch, and an empty body there is
    a call without arguments: tools without parameters exist.)"""
    b = body.strip()
    if "{" in b or "[" in b:
        return False
    return strict or (bool(b) and looks_like_prose(b))


def _body_origin(msg: _Message, body: str) -> str:
    """The class of a call: its header's, an empty body (recipient_only), or glued_channel when
    junk sits between a stripped header and its JSON (`json 天天中彩票{`)."""
    b = body.strip()
    if not b:
        return "recipient_only"
    if msg.strict and msg.origin == "harmony":
        before = b[:b.find("{")].strip() if "{" in b else ""
        if before and before not in _CONTENT_TYPES:
            return "glued_channel"
    return msg.origin


_DEBRIS = frozenset(" \t\r\n?.!,;:-_*~`'\"()[]{}<>|/\\\u2026")


def _debris(text: str) -> bool:
    """`?...`: what is left of a broken header, nothing a person can read."""
    return len(text) < 200 and all(c in _DEBRIS for c in text)


def _json_object(text: str) -> bool:
    return text.startswith("{") and text.endswith("}") and _loads(text)[1] is None


def _inferred_call(text: str) -> tuple[str, str] | None:
    """`<|channel|>commentary<|message|>{"command": [...]}` with the recipient lost: the shape of
    the arguments names the tool when it is one of ours."""
    if not text.startswith("{") or not text.endswith("}"):
        return None
    value, err = _loads(text)
    if err is not None or not isinstance(value, dict):
        return None
    bare = _bare_call_object(text)
    if bare:
        return bare
    if "command" in value or "cmd" in value:
        return SHELL, text
    if isinstance(value.get("input"), str) and value["input"].lstrip().startswith(_PATCH_START):
        return APPLY_PATCH, text
    if isinstance(value.get("plan"), list):
        return UPDATE_PLAN, text
    return None


def _bare_call_object(text: str) -> tuple[str, str] | None:
    """The whole text is one call-shaped JSON object (see bare_calls)."""
    value, err = _loads(text.strip())
    return _call_shape(value) if err is None else None


# ----------------------------------------------------------------------------------------------
# Whole answers that are JSON calls

_NAME_KEYS = ("name", "tool", "tool_name")
_ARGS_KEYS = ("arguments", "parameters", "args", "input")
_CALL_EXTRAS = frozenset(("type", "id", "call_id", "index"))
_SHELL_KEYS = frozenset(("command", "cmd", "timeout", "justification", "with_escalated_permissions",
                         "sandbox_permissions", "yield_time_ms", "max_output_tokens", "shell", "login", "tty"))


def bare_calls(text: str) -> tuple[list[tuple[str, str]], int] | None:
    """The calls an answer made of JSON calls holds (at most MAX_LEAKED_CALLS, and how many more
    there were), or None when it is an answer.

    Call-shaped means the whole answer, give or take whitespace, one code fence around it and
    stray closing brackets after it, is JSON calls: objects with a `name` (or `tool`) plus
    `arguments`/`parameters`/`args` (an object, or a JSON text of one), one or several (in an array,
    or one after the other), the OpenAI form `{"type": "function", "function": {...}}`, a flat
    `{"name": KNOWN_TOOL, "path": ...}`, or exactly the argument object of one of our tools. A call
    cut short comes back with its arguments text, so the model is told it was truncated. JSON that
    is data (a record, a package.json, a tool schema, a list of strings) is an answer."""
    s = _strip_fences(text.strip())
    if not s or s[0] not in "{[":
        return None
    out: list[tuple[str, str]] = []
    more = 0
    for value in _json_values(s):
        if value is _NOT_JSON:
            name = None if out or more else _truncated_call_name(s)
            return ([(name, s)], 0) if name else None
        for item in value if isinstance(value, list) else [value]:
            call = _call_shape(item)
            if call is None:
                return None
            if len(out) < MAX_LEAKED_CALLS:
                out.append(call)
            else:
                more += 1  # counted, not kept: memory stays flat however many calls there are
    return (out, more) if out else None


_NOT_JSON = object()


def _json_values(s: str) -> Iterator[Any]:
    """Top-level JSON values separated by whitespace, then nothing but stray closing brackets;
    _NOT_JSON when something else follows (one at a time, so only one is held in memory)."""
    i, n = 0, len(s)
    while i < n:
        if s[i] in "]}" and not s[i:].strip(" \t\r\n]}"):
            return
        try:
            value, i = _DECODER.raw_decode(s, i)
        except (ValueError, RecursionError) as exc:
            fixed = None if i else (_repair_invalid_escapes(s, exc) or _repair_stray_closer(s, exc)
                                    or _repair_truncated(s, exc))
            yield fixed[0] if fixed else _NOT_JSON
            return
        yield value
        while i < n and s[i] in " \t\r\n":
            i += 1


def _call_shape(value: Any) -> tuple[str, str] | None:
    """(tool name, arguments JSON text) when `value` is a call, else None."""
    if not isinstance(value, dict) or not value:
        return None
    fn = value.get("function")
    if isinstance(fn, dict) and set(value) <= _CALL_EXTRAS | {"function"}:
        value = fn  # {"type": "function", "function": {"name": ..., "arguments": ...}}
    name_key = next((k for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
    if name_key is None:
        return _our_arguments(value)
    name = value[name_key]
    if value.get("type", "function") != "function" or not _plausible_name(name):
        return None
    args_key = next((k for k in _ARGS_KEYS if k in value), None)
    if args_key is not None:
        if set(value) - _CALL_EXTRAS - {name_key, args_key}:
            return None  # a description next to the parameters: a tool definition, not a call
        args = value[args_key]
        parsed = _loads(args)[0] if isinstance(args, str) else args
        if not isinstance(parsed, dict) or (parsed.get("type") == "object" and "properties" in parsed):
            return None
        return name, args if isinstance(args, str) else json.dumps(args)
    if clean_name(name) not in foreign.TOOL_NAMES and not foreign.ours_for(name):
        return None  # `{"name": "Alice", "age": 30}`: a record
    flat = {k: v for k, v in value.items() if k != name_key and k not in _CALL_EXTRAS}
    return name, json.dumps(flat)


def _plausible_name(name: str) -> bool:
    n = name.strip()
    return 0 < len(n) <= 64 and (n[0].isalpha() or n[0] == "_") and \
        all(c.isalnum() or c in "_-. " for c in n)


def _our_arguments(value: dict) -> tuple[str, str] | None:
    """Exactly the argument object of one of our tools: `{"command": [...]}`, `{"cmd": [...],
    "workdir": ...}`, `{"input": "*** Begin Patch..."}`, `{"plan": [{"step": ...}]}`."""
    keys = set(value)
    if ("command" in keys or "cmd" in keys) and keys <= _SHELL_ARGUMENT_KEYS:
        command = value.get("command", value.get("cmd"))
        if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
            return SHELL, json.dumps(value)
        if isinstance(command, str) and command.strip() and len(keys) > 1:
            return SHELL, json.dumps(value)  # a lone `{"command": "npm start"}` may be data
        return None
    patch = value.get("input")
    if keys == {"input"} and isinstance(patch, str) and patch.lstrip().startswith(_PATCH_START):
        return APPLY_PATCH, json.dumps(value)
    plan = value.get("plan")
    if keys <= {"plan", "explanation"} and isinstance(plan, list) and plan and \
            all(isinstance(p, dict) and "step" in p for p in plan):
        return UPDATE_PLAN, json.dumps(value)
    return None


_SHELL_ARGUMENT_KEYS = _SHELL_KEYS | frozenset(_WORKDIR) | _TIMEOUT_KEYS


def _truncated_call_name(s: str) -> str | None:
    """The tool of a call-shaped answer that was cut short (`{"name": "shell", "arguments": {"comm`,
    `{"input": "*** Begin Patch...`), or None when the JSON does not start like a call."""
    i = _skip_ws(s, 1)
    if s.startswith(('"command"', '"cmd"'), i):
        return SHELL
    if s.startswith('"input"', i):
        return APPLY_PATCH if _PATCH_START in s[i:i + 64] else None
    key = next((k for k in _NAME_KEYS if s.startswith(f'"{k}"', i)), None)
    if key is None or not s.startswith(":", _skip_ws(s, i + len(key) + 2)):
        return None
    try:
        name, j = _DECODER.raw_decode(s, _skip_ws(s, _skip_ws(s, i + len(key) + 2) + 1))
    except (ValueError, RecursionError):
        return None
    j = _skip_ws(s, j)
    if not isinstance(name, str) or not _plausible_name(name) or not s.startswith(",", j):
        return None
    j = _skip_ws(s, j + 1)
    return name if any(s.startswith(f'"{k}"', j) for k in _ARGS_KEYS) else None


# ----------------------------------------------------------------------------------------------
# The rule: what is shown never carries a token, a recipient or a channel glued to a role

# The classes of leaks, for telemetry: envelopes with tokens or their stripped words (harmony), whole
# answers that are JSON calls (bare_json), recipients with nothing to send (recipient_only), headers
# with junk glued to them (glued_channel), and role/channel residue (residue).
CLASSES = ("harmony", "bare_json", "recipient_only", "glued_channel", "residue")

# `to=` followed by one of these is a recipient wherever it is; `to=browser.`, `to=web.` and
# `to=python` only after a non-word character (`redirect_to=web.html` is not one), and `assistant`
# only when no identifier continues it (`to=assistant_id` in code is not one).
_RECIPIENTS = ("functions", "container.exec", "repo_browser.", "multi_tool_use.", "assistant")
_BOUNDED_RECIPIENTS = ("browser.", "web.", "python")
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
        out = _last_resort(out)
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


def _last_resort(s: str) -> str:
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
