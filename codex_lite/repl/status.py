"""The REPL's session counters and its /status card.

    Stats()                      a bus listener: tokens (history.Tokens), the last request's
                                 context, retries, whether a turn is running
    status_rows(session, stats, policy) -> [(label, value)]    the /status card's rows
    context_text(agent, stats) -> str       what is left of the context window, where the window
                                            came from, and the compaction limit
    print_rows(renderer, rows)   the card, values wrapped under their column

Why it looks like this: /status must never fail (a probe that raises is shown as "?" or left
out), and what it reads (telemetry, memory) is measured only when it is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from codex_lite import events as ev
from codex_lite.history import Tokens
from codex_lite.render import Renderer
from codex_lite.security.visible import visible


class Stats:
    """Session counters for /status, fed by the event stream."""

    def __init__(self, usage: Tokens | None = None):
        self.tokens = Tokens.of(usage or Tokens())
        self.last_context = 0
        self.retries = 0
        self.retried_turns = 0
        self.recovered = 0
        self.turn_ended = True

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Usage):
            self.tokens += event
            self.last_context = event.input_tokens + event.output_tokens
        elif isinstance(event, ev.Retry):
            self.retries += 1
        elif isinstance(event, ev.RetryOutcome):
            self.retried_turns += 1
            self.recovered += int(event.recovered)
        elif isinstance(event, ev.TurnStarted):
            self.turn_ended = False
        elif isinstance(event, (ev.TurnFailed, ev.TurnCompleted)):
            self.turn_ended = True


def status_rows(session: Any, stats: Stats, policy: str) -> list[tuple[str, str]]:
    agent = session.agent
    return [
        ("model", agent.model),
        ("provider", session.client.provider.base_url),
        ("reasoning", agent.reasoning_effort or "default"),
        ("approvals", policy),
        ("sandbox", agent.tools.sandbox_mode),
        ("workdir", session.cwd),
        ("AGENTS.md", ", ".join(session.agents_files) or "none"),
        ("session", session.id),
        ("tokens", stats.tokens.text()),
        ("context", context_text(agent, stats)),
        ("retries", (f"{stats.retries}; turns retried {stats.retried_turns}, "
                     f"recovered {stats.recovered}")),
        ("telemetry", telemetry_text(session)),
        ("memory", f"agent {_mb(own_rss_bytes())} RSS, device {_mb(_mem_available())} free"),
    ]


def print_rows(r: Renderer, rows: list[tuple[str, str]]) -> None:
    import textwrap

    width = max(20, r.width)
    for label, value in rows:
        lead = f"{label:<10} "
        lines = textwrap.wrap(visible(value), width - len(lead), break_on_hyphens=False,
                              break_long_words=True) or [""]
        r.out.write(r.style(lead, "dim") + lines[0] + "\n")
        for more in lines[1:]:
            r.out.write(" " * len(lead) + more + "\n")
    r.out.flush()


def context_text(agent: Any, stats: Stats) -> str:
    window, limit = agent.window(lookup=True), agent.compact_limit()
    compacts = f"; compacts past {limit:,}" if limit else ""
    if not window.tokens:
        return f"last request {stats.last_context:,} tokens; window unknown (set model_context_window){compacts}"
    left = max(0, window.tokens - stats.last_context)
    return (f"{left:,} of {window.tokens:,} tokens left ({100 * left // window.tokens}%); window from "
            f"{window.source}{compacts}")


def telemetry_text(session: Any) -> str:
    """Telemetry on/off, where, and its all-time retry record; a broad except because reading the
    telemetry folder may fail in any way and /status must never fail."""
    tele = session.telemetry
    if tele is None:
        return "off"
    try:
        info = tele.status()
    except Exception:  # noqa: BLE001
        info = {}
    if info.get("enabled") is False:
        return "off (stopped after an error; see the warning above)"
    where = info.get("dir")
    return "on" + (f", {where}" if where else "") + _all_time_retries(session.config)


def _all_time_retries(config: Any) -> str:
    from codex_lite import telemetry

    try:
        data = telemetry.summary(config)
    except Exception:  # noqa: BLE001
        return ""
    if not data.get("retry_attempts"):
        return ""
    rate = data.get("recovery_rate")
    rate_text = f", recovery {rate:.0%}" if isinstance(rate, (int, float)) else ""
    return f"; all time {data['retry_attempts']} retries{rate_text}"


def own_rss_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001, S110 - not installed, or not allowed on Android: use /proc
        pass
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _mem_available() -> int | None:
    from codex_lite.platform_info import mem_available_bytes

    return mem_available_bytes()


def _mb(value: int | None) -> str:
    return "?" if value is None else f"{value / (1024 * 1024):.0f} MB"


def short_path(path: str) -> str:
    """`~/src/x` for a path in the home folder (banner, dialogs)."""
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home) else path
