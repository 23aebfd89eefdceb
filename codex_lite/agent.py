"""The turn loop: history -> model -> events -> tools -> history, until the model answers.

A turn ends with an assistant message. A *fallback* turn (reasoning only, or text that was all
envelope debris) is retried: when no tool ran in that attempt its partial transcript is dropped and
the prompt is sent again; when tools did run, the files have changed, so the history is kept and a
short nudge asks for the final answer instead of redoing the work. The agent never prints: it emits
events, and front ends, telemetry and session files listen.

A tool call the model sent as text is run like any other (envelope recovery made it one). When it
cannot be (no arguments, broken JSON, a tool that does not exist here) the model gets an error
result saying how to call the tool: a *correction*. A model that keeps needing corrections is not
going to stop on its own, so after MAX_CORRECTIONS in one turn the turn fails with one line. Each
answer's repairs go out as one EnvelopeRepair event (front ends print a note, telemetry counts).

The conversation itself is history.History's (`agent.history`): the agent appends to it and sends
`history.to_send()`. Front ends use the public methods only: run(prompt), compact() (`/compact`:
a summarising request without tools), close_dangling_calls(reason) after a turn that raised, and
append/restore when a session is resumed.

The conversation stays inside the model's window (compaction.py): old tool output is resent cut;
before a request would pass the limit the older part becomes a summary; a server's "too long"
gets one compaction and one retry, a second one fails the turn (ContextOverflow).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from codex_lite import compaction
from codex_lite import events as ev
from codex_lite.answer import Answer, parse_answer
from codex_lite.client import Client, ModelError
from codex_lite.context_window import LOOKUP_FLOOR, Window, compact_limit
from codex_lite.history import History, Tokens
from codex_lite.records import dataclass
from codex_lite.retry import TurnPolicy
from codex_lite.token_estimate import BYTES_PER_TOKEN, TokenEstimator
from codex_lite.tools import calls as tool_calls
from codex_lite.tools.children import Terminated
from codex_lite.tools.toolbox import ToolBox

NUDGE = ("Continue from where you stopped. The tool results above are real and the files have "
         "changed accordingly; do not redo that work. Finish the task and give your final answer.")
MAX_CORRECTIONS = 3  # error results for tool calls sent as text, per turn, before the turn fails


@dataclass
class Compaction:
    summary: str         # what the model wrote
    before: int          # messages before compaction


@dataclass
class TurnResult:
    ok: bool
    text: str = ""       # the final assistant message when ok
    error: str = ""      # why it failed otherwise


class _Fallback(Exception):
    def __init__(self, reason: str, tools_ran: bool):
        super().__init__(reason)
        self.reason, self.tools_ran = reason, tools_ran


class TooManyRounds(Exception):
    pass


class TooManyCorrections(Exception):
    pass


class CompactionFailed(ModelError):
    """No summary could be had (the request failed, or the model wrote none); nothing changed."""


class ContextOverflow(ModelError):
    """The conversation does not fit the window even after compacting it: the turn fails."""


class Agent:
    def __init__(self, client: Client, tools: ToolBox, model: str, emit: Callable[[ev.Event], None],
                 instructions: str = "", reasoning_effort: str | None = None,
                 retry: TurnPolicy | None = None, max_tool_rounds: int = 200,
                 sleep: Callable[[float], None] = time.sleep,
                 window_of: Callable[[str, bool], Window] | None = None,
                 auto_compact_limit: int | None = None):
        self.client, self.tools, self.model, self.emit = client, tools, model, emit
        self.reasoning_effort = reasoning_effort
        self.retry = retry or TurnPolicy()
        self.max_tool_rounds = max_tool_rounds
        self.sleep = sleep
        self.history = History(emit, instructions)
        self.window_of = window_of  # (model, ask the proxy?) -> its Window (context_window.py)
        self.auto_compact_limit = auto_compact_limit  # model_auto_compact_token_limit
        self.estimator = TokenEstimator()
        self._sent_bytes = 0
        self._tokens = Tokens()
        self._prompt: str | None = None  # the running turn's request
        self._mark: int | None = None    # where its user message is in the history (None: summarised)

    def append(self, message: dict[str, Any]) -> None:
        """Every change of the conversation goes through History, so the session file can replay it."""
        self.history.append(message)

    def rewind(self, length: int) -> None:
        self.history.rewind(length)

    def restore(self, messages: list[dict[str, Any]]) -> None:
        """Continue a resumed session (see History.restore)."""
        self.history.restore(messages)

    def close_dangling_calls(self, reason: str) -> None:
        """After an interrupt or a failed turn, answer calls left without a result so the
        conversation stays valid for the next request."""
        self.history.close_dangling_calls(reason)

    def compact(self, reason: str = "manual") -> Compaction | None:
        """The older part of the conversation becomes a summary the model writes (a request without
        tools). None: nothing older to summarise; CompactionFailed: no summary, nothing changed."""
        limit = self.compact_limit()
        view = self.to_send()
        before = self.estimator.tokens(view, self.tools.specs)
        reference = min(limit, before) if limit else before  # /compact early, or no window known
        preamble = self.history.preamble_length()
        cut = compaction.plan(view, preamble, reference // compaction.TAIL_SHARE, self.estimator.tokens)
        if cut is None:
            return None
        request = self.history.summary_request(cut, reference * 3 // 4, self.estimator.tokens, self._cap())
        try:
            raw = self.client.chat(self.model, request, None, self.reasoning_effort,
                                   on_retry=self.client.retry_notices(self.emit))
        except ModelError as exc:
            raise CompactionFailed(f"the summary request failed: {exc}", exc.status) from None
        answer = parse_answer(raw)
        self._tokens += answer.usage
        self.emit(answer.usage)
        summary = answer.text.strip()
        if not summary:
            raise CompactionFailed("the model wrote no summary")
        in_tail = self._mark is not None and self._mark >= cut
        count = self.history.compact(summary, cut, None if in_tail else self._prompt, limit)
        if self._mark is not None:
            self._mark = self._mark - cut + preamble + 1 if in_tail else None
        self.emit(ev.ContextCompacted(reason=reason, tokens_before=before, messages=cut - preamble,
                                      tokens_after=self.estimator.tokens(self.to_send(), self.tools.specs),
                                      limit=limit or 0))
        return Compaction(summary, count)

    def run(self, prompt: str) -> TurnResult:
        """One user turn, with the fallback-retry loop around it. Ctrl-C, SIGTERM or SIGHUP (during
        a request, a command or a retry wait) leave a valid history and a turn_failed event, then
        propagate."""
        self.emit(ev.TurnStarted(prompt=prompt))
        self._tokens = Tokens()
        self._corrections = 0
        self._prompt = prompt
        try:
            return self._run(prompt)
        except KeyboardInterrupt:
            self.close_dangling_calls("interrupted by the user")
            self.emit(ev.TurnFailed(message="interrupted"))
            raise
        except Terminated as exc:  # SIGTERM / SIGHUP: the running command is dead already
            self.close_dangling_calls(f"interrupted: {exc}")
            self.emit(ev.TurnFailed(message=str(exc)))
            exc.reported = True
            raise
        finally:
            self._prompt = self._mark = None

    def _run(self, prompt: str) -> TurnResult:
        kept_tool_work = False
        for attempt in range(1, self.retry.max_attempts + 1):
            self._mark = len(self.history)
            self.append({"role": "user", "content": NUDGE if kept_tool_work else prompt})
            try:
                text = self._attempt()
            except _Fallback as fb:
                if fb.tools_ran or self._mark is None:  # (None: compacted into the summary)
                    kept_tool_work = True
                else:
                    self.rewind(self._mark)
                if attempt < self.retry.max_attempts:
                    self.emit(ev.Retry(attempt=attempt, max_attempts=self.retry.max_attempts,
                                       wait_seconds=self.retry.wait_seconds, reason=fb.reason))
                    self.sleep(self.retry.wait_seconds)
                continue
            except (ModelError, TooManyRounds, TooManyCorrections) as exc:
                return self._fail(str(exc), attempt)
            if attempt > 1:
                self.emit(ev.RetryOutcome(attempts=attempt, recovered=True))
            self.emit(ev.TurnCompleted(**self._tokens.as_dict()))
            return TurnResult(True, text=text)
        self.emit(ev.RetryOutcome(attempts=self.retry.max_attempts, recovered=False))
        return self._fail(f"the model gave no final answer after {self.retry.max_attempts} attempts "
                          "(only reasoning or unusable output)", None)

    def _fail(self, message: str, attempt: int | None) -> TurnResult:
        if attempt and attempt > 1:
            self.emit(ev.RetryOutcome(attempts=attempt, recovered=False))
        self.emit(ev.TurnFailed(message=message))
        return TurnResult(False, error=message)

    def _attempt(self) -> str:
        """Request, run tools, repeat until a final message; raises _Fallback when the model ends
        with nothing to show."""
        tools_ran = False
        for _ in range(self.max_tool_rounds + 1):
            answer = self._ask_model()
            self.append(answer.history_message)
            if answer.text.strip():
                self.emit(ev.AgentMessage(text=answer.text, final=answer.is_final))
            if answer.is_final:
                if answer.scrubbed:
                    self._report_repairs(answer, [])
                return answer.text
            if not answer.calls:
                if answer.scrubbed:
                    self._report_repairs(answer, [])
                raise _Fallback("reasoning only" if answer.reasoning.strip() else "empty answer",
                                tools_ran)
            self._run_calls(answer)
            tools_ran = True
        raise TooManyRounds(f"stopped after {self.max_tool_rounds} tool round trips without a final "
                            "answer (raise [agent] max_tool_rounds in config.toml to allow more)")

    def _ask_model(self) -> Answer:
        started = time.monotonic()
        try:
            raw = self._chat(self._prepare())
        except ModelError as exc:
            if not exc.overflow:
                raise
            raw = self._recover(exc)
        answer = parse_answer(raw, time.monotonic() - started)
        self.estimator.calibrate(self._sent_bytes, answer.usage.input_tokens)
        self._tokens += answer.usage
        self.emit(answer.usage)
        if answer.reasoning.strip():
            self.emit(ev.Reasoning(text=answer.reasoning))
        return answer

    # -- the context window ------------------------------------------------------------------------

    def window(self, lookup: bool = False) -> Window:
        return self.window_of(self.model, lookup) if self.window_of else Window()

    def compact_limit(self, lookup: bool = False) -> int | None:
        """Past this many estimated tokens a request compacts first (None: not before an overflow)."""
        return compact_limit(self.window(lookup), self.auto_compact_limit)

    def _cap(self) -> int | None:
        """The most resent of one recent tool result: a quarter of the limit."""
        limit = self.compact_limit()
        return limit * BYTES_PER_TOKEN // 4 if limit else None

    def to_send(self) -> list[dict[str, Any]]:
        return self.history.to_send(self._cap())

    def _prepare(self) -> list[dict[str, Any]]:
        """The next request's messages, compacted first past the limit (if that fails the request
        may still fit, and an overflow gets its own compaction)."""
        messages = self.to_send()
        tokens = self.estimator.tokens(messages, self.tools.specs)
        limit = self.compact_limit(lookup=tokens > LOOKUP_FLOOR)
        if limit and tokens > limit:
            try:
                if self.compact("auto"):
                    messages = self.to_send()
            except CompactionFailed:
                pass
        return messages

    def _chat(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        self._sent_bytes = self.estimator.request_bytes(messages, self.tools.specs)
        return self.client.chat(self.model, messages, self.tools.specs, self.reasoning_effort,
                                on_retry=self.client.retry_notices(self.emit))

    def _recover(self, overflow: ModelError) -> dict[str, Any]:
        """The server said the request does not fit: compact once and send it again."""
        try:
            done = self.compact("overflow")
        except CompactionFailed as exc:
            raise self._overflow(overflow, str(exc)) from None
        if done is None:
            raise self._overflow(overflow, "there is nothing older to summarise")
        try:
            return self._chat(self.to_send())
        except ModelError as again:
            if again.overflow:
                raise self._overflow(again, "even after compacting it") from None
            raise

    def _overflow(self, exc: ModelError, why: str) -> ContextOverflow:
        size = f" ({self.window().tokens:,} tokens)" if self.window().tokens else ""
        return ContextOverflow(f"the conversation does not fit the model's context window{size}, {why}: "
                               f"{exc}", exc.status, overflow=True)

    def _run_calls(self, answer: Answer) -> None:
        """Run every call of one message; all results follow the assistant message, in order.
        A call the model sent as text that cannot be run is a correction (see the module doc)."""
        errors = [self._error_of(call) for call in answer.calls]
        corrections = sum(1 for call, error in zip(answer.calls, errors) if call.recovered and error)
        self._report_repairs(answer, errors)
        if corrections and self._corrections + corrections > MAX_CORRECTIONS:
            for call in answer.calls:  # answered, so the history stays valid for a resume
                self.append({"role": "tool", "tool_call_id": call.call_id,
                             "content": "not run: the turn was stopped after repeated tool calls sent as text"})
            raise TooManyCorrections(
                f"the model kept sending tool calls as text that could not be run ({MAX_CORRECTIONS} "
                "corrections sent this turn); stopped. Try again, or use a server that returns "
                "structured tool calls")
        self._corrections += corrections
        for call, error in zip(answer.calls, errors):
            self.emit(ev.ToolCall(call_id=call.call_id, name=call.name, arguments=call.arguments,
                                  error=error, recovered=call.recovered))
            if error:
                output = f"error: could not use this {call.name or 'tool'} call: {error}"
                self.emit(ev.ToolResult(call_id=call.call_id, name=call.name, output=output, ok=False))
            else:
                output = self.tools.run(call.call_id, call.name, call.arguments or {})
            self.append({"role": "tool", "tool_call_id": call.call_id, "content": output})

    def _error_of(self, call: Any) -> str | None:
        """Why a call cannot be run: what recovery found, or a tool that does not exist here."""
        if call.error:
            return call.error
        return None if self.tools.has(call.name) else tool_calls.unknown_tool(call.name)

    def _report_repairs(self, answer: Answer, errors: list[str | None]) -> None:
        """One EnvelopeRepair event per answer that needed any: calls recovered from text and run,
        corrections sent, protocol scrubbed from what is shown (each per class of leak)."""
        recovered: dict[str, int] = {}
        nudged: dict[str, int] = {}
        for call, error in zip(answer.calls, errors):
            if call.recovered:
                table = nudged if error else recovered
                kind = call.origin or "harmony"
                table[kind] = table.get(kind, 0) + 1
        if recovered or nudged or answer.scrubbed:
            self.emit(ev.EnvelopeRepair(recovered=recovered, nudged=nudged, scrubbed=dict(answer.scrubbed)))
