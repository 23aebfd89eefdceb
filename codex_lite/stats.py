"""`codex-lite stats`: token usage, retry statistics and leaked tool calls recorded by telemetry.

It reads the all-time summary in the telemetry folder (`[telemetry] dir`, default $CODEX_HOME/logs),
so the retry policies (codex_lite.retry: [retry] max_attempts, wait_seconds; request_max_retries) can be tuned with
real data: how many attempts were made, how many retried tasks recovered, at which attempt, and how
long was spent waiting. It also says how often the server leaked tool calls into text: calls
recovered and run, corrections sent to the model, protocol scrubbed from answers, per class of leak.
`--json` prints the same numbers as one object for scripts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from codex_lite.retry import REQUEST, TURN


def main(args: Any) -> int:
    from codex_lite import config as cfg_mod
    from codex_lite import telemetry

    config = cfg_mod.load(getattr(args, "config_overrides", None) or [], getattr(args, "profile", None))
    data = telemetry.summary(config)
    if not data["recorded"]:
        print(f"codex-lite stats: no telemetry recorded yet in {data['dir']}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        from codex_lite.security.visible import visible

        print(visible(render(data)))  # retry reasons come from servers' answers
    return 0


def _n(value: Any) -> str:
    return f"{int(value or 0):,}"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "-"


def render(data: dict[str, Any]) -> str:
    """The human report: usage, then retries with recovery rate and waiting time, then by reason."""
    t = data["all_time"]
    requests = int(t.get("requests") or 0)
    lines = [f"codex-lite stats ({data['dir']})", "",
             f"turns              {_n(t['turns'])} ({_n(t['failed_turns'])} failed)",
             f"requests           {_n(requests)}",
             f"input tokens       {_n(t['input_tokens'])} ({_n(t['cached_input_tokens'])} cached)",
             f"output tokens      {_n(t['output_tokens'])} ({_n(t['reasoning_tokens'])} reasoning)",
             f"model latency      {t['latency_seconds']:.1f} s"
             + (f" ({t['latency_seconds'] / requests:.2f} s per request)" if requests else ""),
             f"tool calls         {_n(t['tool_calls'])} ({_n(t['tool_errors'])} failed)",
             f"compactions        {_n(t.get('compactions'))} (about {_n(t.get('compacted_tokens'))} tokens "
             "saved)", "",
             "retries"]
    finished = t["recoveries"] + t["retry_failures"]
    rate = t.get("recovery_rate")
    lines += [f"  attempts         {_n(t['retry_attempts'])}",
              f"  retried tasks    {_n(t['retry_episodes'])} ({_n(t['retry_interrupted'])} interrupted)",
              f"  recoveries       {_n(t['recoveries'])} of {_n(finished)}",
              f"  recovery rate    {'-' if rate is None else f'{100 * rate:.0f}%'}",
              f"  time waiting     {t['wait_seconds']:.1f} s"]
    for scope, label in ((TURN, "fallback turns"), (REQUEST, "HTTP requests")):
        row = t["by_scope"].get(scope)
        if row:
            lines.append(f"  {label:<16} {_n(row.get('attempts'))} attempts, "
                         f"{_n(row.get('recoveries'))}/{_n(row.get('episodes'))} recovered, "
                         f"{row.get('wait_seconds', 0):.1f} s waiting")
    if t["by_reason"]:
        lines.append("  by reason")
        for reason, row in sorted(t["by_reason"].items(), key=lambda kv: -kv[1].get("attempts", 0)):
            lines.append(f"    {reason:<22} {_n(row.get('attempts'))} attempts, "
                         f"{_n(row.get('recoveries'))}/{_n(row.get('episodes'))} recovered "
                         f"({_pct(row.get('recoveries', 0), row.get('episodes', 0))})")
    if t["recovered_at_attempt"]:
        at = sorted(t["recovered_at_attempt"].items(), key=lambda kv: int(kv[0]))
        lines.append("  recovered at     " + ", ".join(f"attempt {k}: {_n(v)}" for k, v in at))
    return "\n".join(lines + _envelope_lines(t.get("envelope") or {}))


def _envelope_lines(table: dict[str, Any]) -> list[str]:
    """Tool calls the server leaked into text, per action and class of leak (most frequent first)."""
    lines = ["", "tool calls sent as text"]
    for action in ("recovered", "nudged", "scrubbed"):
        row = table.get(action) or {}
        total = sum(int(v or 0) for v in row.values())
        kinds = ", ".join(f"{k} {_n(v)}" for k, v in sorted(row.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  {action:<16} {_n(total)}" + (f" ({kinds})" if kinds else ""))
    return lines
