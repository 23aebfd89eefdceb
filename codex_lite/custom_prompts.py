"""Custom prompts as in Codex: `$CODEX_HOME/prompts/NAME.md` is `/NAME` (or `/prompts:NAME`).

A front matter (`description:`, `argument-hint:`) is shown in the menu, not sent. `$1`..`$9` are
the arguments after the name (double quotes group words), `$ARGUMENTS` all of them, `$$` a `$`.
Built-in command names win. Read when the REPL starts, at most MAX_PROMPT_BYTES each; links
leading out of the prompts folder are ignored.
"""

from __future__ import annotations

import os
import re

from codex_lite.records import dataclass

FOLDER = "prompts"
PREFIX = "prompts:"
MAX_PROMPT_BYTES = 64 * 1024
MAX_PROMPTS = 200
_PLACEHOLDER = re.compile(r"\$(\$|[1-9]|ARGUMENTS)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class CustomPrompt:
    name: str
    body: str
    description: str = ""
    argument_hint: str = ""


def discover(codex_home: str, reserved: tuple[str, ...] | set[str] = ()) -> dict[str, CustomPrompt]:
    """The prompts of `$CODEX_HOME/prompts`, by name, sorted; names in `reserved` are skipped."""
    folder = os.path.join(codex_home, FOLDER)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return {}
    real_folder = os.path.realpath(folder)
    out: dict[str, CustomPrompt] = {}
    for file_name in names:
        name = file_name[:-3]
        if not file_name.endswith(".md") or not _NAME.match(name) or name in reserved:
            continue
        path = os.path.join(folder, file_name)
        if os.path.dirname(os.path.realpath(path)) != real_folder or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                text = f.read(MAX_PROMPT_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        out[name] = parse(name, text)
        if len(out) >= MAX_PROMPTS:
            break
    return out


def parse(name: str, text: str) -> CustomPrompt:
    """Split an optional front matter from the body."""
    lines = text.splitlines(keepends=True)
    meta: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        for i, line in enumerate(lines[1:], 1):
            if line.strip() == "---":
                text = "".join(lines[i + 1:])
                break
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower().replace("_", "-")] = value.strip().strip("\"'")
    return CustomPrompt(name, text.strip("\n"), meta.get("description", ""), meta.get("argument-hint", ""))


def split_arguments(text: str) -> list[str]:
    """Words separated by spaces; double quotes group a word with spaces (as Codex does)."""
    words, current, quoted, started = [], [], False, False
    for c in text:
        if c == '"':
            quoted, started = not quoted, True
        elif c.isspace() and not quoted:
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
            started = True
    if started:
        words.append("".join(current))
    return words


def expand(prompt: CustomPrompt, arguments: str) -> str:
    """The body with `$1`..`$9`, `$ARGUMENTS` and `$$` filled in (missing arguments are empty)."""
    args = split_arguments(arguments)

    def fill(match: re.Match) -> str:
        token = match.group(1)
        if token == "$":
            return "$"
        if token == "ARGUMENTS":
            return " ".join(args)
        index = int(token) - 1
        return args[index] if index < len(args) else ""

    return _PLACEHOLDER.sub(fill, prompt.body)


def lookup(prompts: dict[str, CustomPrompt], command: str) -> CustomPrompt | None:
    """The prompt that `/NAME` or `/prompts:NAME` names."""
    name = command.lstrip("/")
    return prompts.get(name[len(PREFIX):] if name.startswith(PREFIX) else name)


def excerpt(prompt: CustomPrompt, words: int = 5) -> str:
    """What the completion menu shows: the description, else the first words of the body."""
    if prompt.description:
        return prompt.description
    first = next((line for line in prompt.body.splitlines() if line.strip()), "")
    plain = _PLACEHOLDER.sub("", re.sub(r"[`*_#]", "", first)).split()
    return " ".join(plain[:words]) + (" ..." if len(plain) > words else "")
