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

Call normalisation (names, tolerant JSON arguments, per-tool argument schemas, a patch sent as a
shell argv) is the same for structured and leaked calls and lives next to the tools:
tools/normalize.py (`normalize_call`, RecoveredCall), tools/arguments.py (`parse_arguments`) and
tools/calls.py (`clean_name`, other agents' tools).

Stripped tokens are recognised only where they cannot be prose: `assistantfinal`-style markers
anywhere, and a channel word at the very start of a field only when glued to its text (`analysisWe`,
`finalThe`), so answers that begin with "finally" or "analysis of" are left alone.

The parser is linear in its input and its memory is proportional to it (see tokens.py). A
well-formed answer (every `<|` and `|>` in a whole token) takes a fast path: one C-speed regex
split. It never raises.

The package, in reading order:
- tokens.py: the harmony vocabulary, the lexer and recipient markers;
- messages.py: pieces assembled into messages, and their headers read;
- bare_json.py: whole answers that are JSON calls (`bare_calls`);
- leaks.py: the rule (`find_leak`), `scrub`, the leak CLASSES;
- recovery.py: `recover` and `Recovery`.
Names with a leading underscore are shared between these modules only. Public here: `recover`,
`Recovery`, `scrub`, `find_leak`, `bare_calls`, `SPECIAL_TOKENS`, `CLASSES`, `MARKER_EXAMPLES`,
`MAX_LEAKED_CALLS`, and, for the callers of recovery, the call normalisation names re-exported from
the tools (`RecoveredCall`, `normalize_call`, `clean_name`, `parse_arguments`, `ArgumentsError`,
`UNNAMED`).
"""

from __future__ import annotations

from codex_lite.envelope.bare_json import bare_calls
from codex_lite.envelope.leaks import CLASSES, MARKER_EXAMPLES, find_leak, scrub
from codex_lite.envelope.recovery import Recovery, recover
from codex_lite.envelope.tokens import MAX_LEAKED_CALLS, SPECIAL_TOKENS
from codex_lite.tools.arguments import ArgumentsError, parse_arguments
from codex_lite.tools.calls import clean_name
from codex_lite.tools.normalize import UNNAMED, RecoveredCall, normalize_call

__all__ = [
    "CLASSES", "MARKER_EXAMPLES", "MAX_LEAKED_CALLS", "SPECIAL_TOKENS", "UNNAMED", "ArgumentsError",
    "RecoveredCall", "Recovery", "bare_calls", "clean_name", "find_leak", "normalize_call",
    "parse_arguments", "recover", "scrub",
]
