"""recover(): one model answer's text fields -> clean text, reasoning and tool calls.

    recover(content, reasoning_texts, structured_calls) -> Recovery(text, reasoning, calls,
                                                                    diagnostics, scrubbed)

Each field is lexed (tokens.py) and assembled into messages (messages.py), which are routed:
`analysis` text to `reasoning`; `final` text and recipient-less `commentary` to `text`; a message with
a recipient to a call (normalised by tools/normalize.py), tagged with its leak class. A field with no
protocol at all is shown as it is, unless the whole of it is JSON calls (bare_json.py). Calls found
in several fields, or leaked copies of structured calls, are run once. The last step (leaks._shown)
enforces the rule of find_leak on what is shown. Never raises: a bug here shows scrubbed text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from codex_lite.envelope.bare_json import _inferred_call, bare_calls
from codex_lite.envelope.leaks import _shown, scrub
from codex_lite.envelope.messages import _header, _Message, _messages
from codex_lite.envelope.tokens import (
    _CHANNELS,
    _CONTENT_TYPES,
    MAX_LEAKED_CALLS,
    _has_bare_marker,
    _lead_bare_channel,
    _pieces,
    _recipient_marker_end,
    _skip_spaces,
)
from codex_lite.records import dataclass, field
from codex_lite.tools import calls
from codex_lite.tools.arguments import loads
from codex_lite.tools.calls import clean_name
from codex_lite.tools.normalize import UNNAMED, RecoveredCall, looks_like_prose, safe_normalize


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
        call = safe_normalize(str(call_id or _new_id()), str(name or ""), args, notes)
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
    ours = name if name in calls.TOOL_NAMES else calls.ours_for(name)
    if ours:
        error = (f"{name}: the call came with no arguments, so nothing ran (the recipient was written "
                 f"as text, with nothing after it). {calls.usage(ours).capitalize()}")
    elif name == UNNAMED:
        error = f"the tool call has no tool name and no arguments. The tools are: {calls.tool_list()}."
    else:
        error = f"{name}: the call came with no arguments; {calls.unknown_tool(name)}"
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
            call = safe_normalize(_new_id(), name, args, notes)
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
    return text.startswith("{") and text.endswith("}") and loads(text)[1] is None
