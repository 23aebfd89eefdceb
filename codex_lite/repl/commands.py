"""The REPL's slash commands: one table, one function per command.

    COMMANDS: {"/name": Command(name, help, run)}     in the order /help lists them
    @command("/name", "one line of help")             adds a command: def f(repl, arg) -> str | None
    dispatch(repl, text) -> "quit" | None             runs "/name arg", or a custom prompt
                                                      ($CODEX_HOME/prompts/NAME.md, custom_prompts.py;
                                                      built-in names win); unknown names get a hint

Why it looks like this: adding a command is one decorated function here, and /help, the completion
menu (terminal.py) and the dispatcher all read the same table. A command works through the REPL's
session and the agent's public methods only (Agent.compact, Agent.model, ...), so what the
conversation becomes stays history.py's business. Ctrl-C inside a command cancels it; Ctrl-D in
one of its questions leaves the REPL.
"""

from __future__ import annotations

import difflib
import os
from typing import TYPE_CHECKING, Callable

from codex_lite import custom_prompts, onboarding
from codex_lite.records import dataclass
from codex_lite.repl.status import print_rows, status_rows

if TYPE_CHECKING:
    from codex_lite.repl.loop import Repl

INIT_PROMPT = (
    "Generate a file named AGENTS.md that serves as a contributor guide for this repository. Look at "
    "the project first (layout, build and test commands, code style, commit conventions), then write "
    "a concise, well-structured guide titled 'Repository Guidelines' (200-400 words) with sections "
    "such as Project Structure, Build and Test Commands, Coding Style, Testing, Commit and Pull "
    "Request Guidelines. Create it with apply_patch.")
QUIT = "quit"


@dataclass
class Command:
    name: str
    help: str
    run: Callable[..., "str | None"]  # (repl, argument text) -> QUIT to leave, else None


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str) -> Callable:
    def register(run: Callable) -> Callable:
        COMMANDS[name] = Command(name, help, run)
        return run
    return register


def dispatch(repl: Repl, text: str) -> str | None:
    name, _, rest = text.partition(" ")
    found = COMMANDS.get(name)
    custom = custom_prompts.lookup(repl.prompts, name) if found is None else None
    if custom is not None:  # $CODEX_HOME/prompts/NAME.md
        repl.turn(custom_prompts.expand(custom, rest))
        return None
    if found is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]}?" if close else ""
        repl.r.line(f"Unknown command {name}.{hint} /help lists the commands.", "yellow")
        return None
    try:
        return found.run(repl, rest.strip())
    except KeyboardInterrupt:
        repl.r.line("cancelled", "dim")
    except EOFError:
        return QUIT
    return None


@command("/model", "choose the model and reasoning effort")
def model(repl: Repl, _: str) -> None:
    from codex_lite.client import ModelError

    session, agent, r = repl.session, repl.session.agent, repl.r
    try:
        names = session.client.list_models()
    except ModelError as exc:
        r.line(onboarding.explain(exc, session.client.provider.base_url), "red")
        names = []
    sel = onboarding.pick_and_test(repl.ui, r, session.client, names, agent.model,
                                   agent.reasoning_effort, "/model")
    if sel is None:
        r.line(f"kept {agent.model}", "dim")
        return
    agent.model, agent.reasoning_effort = sel.model, sel.reasoning_effort
    repl.model_selected(sel.model, sel.reasoning_effort, "/model")
    try:
        onboarding.write_config(repl.config.path, {"model": sel.model,
                                                   "model_reasoning_effort": sel.reasoning_effort})
        r.line(f"using {sel.model} ({sel.reasoning_effort}); saved to {repl.config.path}", "green")
    except (OSError, onboarding.ConfigWriteError) as exc:
        r.line(f"using {sel.model} for this session; not saved: {exc}", "yellow")


@command("/status", "model, tokens, retries, memory")
def status(repl: Repl, _: str) -> None:
    print_rows(repl.r, status_rows(repl.session, repl.stats, repl.approvals.policy))


@command("/approvals", "when to ask before commands and patches")
def approvals(repl: Repl, _: str) -> None:
    from codex_lite.policies import APPROVAL_POLICIES as POLICIES, SANDBOX_MODES

    tools = repl.session.agent.tools
    notes = {"untrusted": "ask unless read-only", "on-request": "ask for commands that may write",
             "on-failure": "ask to retry failed commands", "never": "never ask"}
    policy = onboarding.choose(repl.ui, repl.r, "Approval policy:", [(p, notes[p]) for p in POLICIES],
                               repl.approvals.policy)
    sandbox = onboarding.choose(repl.ui, repl.r, "Where may patches write?",
                                [(m, "") for m in SANDBOX_MODES], tools.sandbox_mode)
    repl.approvals.policy, tools.sandbox_mode = policy, sandbox
    repl.r.line(f"approvals {policy}, sandbox {sandbox} (this session; config.toml sets the default)",
                "green")


@command("/new", "start a new session")
def new(repl: Repl, _: str) -> None:
    repl.close()
    repl.approvals.remembered.clear()
    repl.open()


@command("/diff", "git diff (untracked files included), or this session's patches without git")
def diff(repl: Repl, _: str) -> None:
    from codex_lite.repl import changes
    from codex_lite.repl.git_diff import DiffDeclined

    try:
        changes.diff(repl)
    except DiffDeclined as exc:
        repl.r.line(str(exc), "yellow")


@command("/review", "review the changes for problems, by priority; no edits")
def review(repl: Repl, focus: str) -> None:
    from codex_lite.repl import changes
    from codex_lite.repl.git_diff import DiffDeclined

    try:
        changes.review_changes(repl, focus)
    except DiffDeclined as exc:
        repl.r.line(str(exc), "yellow")


@command("/undo", "restore the files the last turn's patches changed")
def undo(repl: Repl, _: str) -> None:
    from codex_lite.repl import changes

    changes.undo_turn(repl)


@command("/compact", "summarise the conversation to free context")
def compact(repl: Repl, _: str) -> None:
    from codex_lite.client import ModelError

    repl.r.line("compacting the conversation...", "dim")
    try:
        done = repl.session.agent.compact()
    except ModelError as exc:
        repl.r.line(f"compact failed: {exc}; nothing changed", "red")
        return
    if done is None:
        repl.r.line("nothing to compact yet", "dim")
        return
    repl.r.markdown(done.summary)


@command("/init", "write an AGENTS.md for this project")
def init(repl: Repl, _: str) -> None:
    if os.path.exists(os.path.join(repl.session.cwd, "AGENTS.md")):
        repl.r.line("AGENTS.md already exists here; edit it, or delete it and run /init again", "yellow")
        return
    repl.turn(INIT_PROMPT)


@command("/help", "list the commands")
def help_(repl: Repl, _: str) -> None:
    for name, found in COMMANDS.items():
        repl.r.line(f"{name:<10} {found.help}", indent="")


@command("/quit", "leave")
def quit_(repl: Repl, _: str) -> str:
    return QUIT


command("/exit", "leave")(quit_)
