"""`codex-lite completion bash|zsh|fish`: generated from the argument parser, so it stays in step
with `--help` (zsh runs the bash function through bashcompinit; OpenWrt's ash has no completion).
"""

from __future__ import annotations

import argparse
from typing import Any

PROG = "codex-lite"


def _commands(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """{"": the top level parser, name: command parser}."""
    out: dict[str, Any] = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.update(action.choices)
    return out


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _value_kind(action: argparse.Action) -> str:
    """"" (a flag), "choices", "dir", "file" or "any"."""
    if action.nargs == 0:
        return ""
    if action.choices:
        return "choices"
    metavar = str(action.metavar or "")
    return "dir" if metavar == "DIR" else "file" if metavar == "FILE" else "any"


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    return [c for a in parser._actions if not a.option_strings and a.choices
            and not isinstance(a, argparse._SubParsersAction) for c in a.choices]


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser)


def bash(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    values = []
    seen: set[str] = set()
    for sub in commands.values():
        for action in _options(sub):
            kind = _value_kind(action)
            names = "|".join(n for n in action.option_strings if n not in seen)
            if not kind or not names:
                continue
            seen.update(action.option_strings)
            reply = {"choices": f'compgen -W "{" ".join(action.choices or ())}" -- "$cur"',
                     "dir": 'compgen -d -- "$cur"', "file": 'compgen -f -- "$cur"', "any": "true"}[kind]
            values.append(f"    {names}) COMPREPLY=($({reply})); return;;")
    per_command = []
    for name, sub in commands.items():
        words = [o for a in _options(sub) for o in a.option_strings] + _positional_choices(sub)
        if name == "":
            words += [n for n in commands if n]
        per_command.append(f'    "{name}") opts="{" ".join(words)}";;')
    names = "|".join(n for n in commands if n)
    # $2 and $3 (the word and the one before it) rather than COMP_WORDS indexes: zsh's bashcompinit
    # passes them alike, and its arrays count from 1
    return f"""# bash completion for {PROG}: eval "$({PROG} completion bash)"
_codex_lite() {{
  local cur="$2" prev="$3" cmd="" w opts i=0
  for w in "${{COMP_WORDS[@]}}"; do
    i=$((i + 1))
    [ "$i" -gt "$COMP_CWORD" ] && break
    case "$w" in {names}) cmd="$w"; break;; esac
  done
  case "$prev" in
{chr(10).join(values)}
  esac
  case "$cmd" in
{chr(10).join(per_command)}
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -o default -F _codex_lite {PROG}
"""


def zsh(parser: argparse.ArgumentParser) -> str:
    return ("# zsh completion for codex-lite: eval \"$(codex-lite completion zsh)\" (after compinit)\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + bash(parser).split("\n", 1)[1])


def fish(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    lines = [f"# fish completion for {PROG}: {PROG} completion fish > "
             f"~/.config/fish/completions/{PROG}.fish", f"complete -c {PROG} -f"]
    for name, sub in commands.items():
        if name:
            lines.append(f"complete -c {PROG} -n '__fish_use_subcommand' -a {name} -d {_quote(sub.description or '')}")
        condition = f"__fish_seen_subcommand_from {name}" if name else "__fish_use_subcommand"
        for action in _options(sub):
            lines.append(f"complete -c {PROG} -n '{condition}' {_fish_option(action)}")
        choices = _positional_choices(sub)
        if choices:
            lines.append(f"complete -c {PROG} -n '{condition}' -a '{' '.join(choices)}'")
    return "\n".join(lines) + "\n"


def _fish_option(action: argparse.Action) -> str:
    parts = []
    for option in action.option_strings:
        parts.append(f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}")
    kind = _value_kind(action)
    if kind == "choices":
        parts.append(f"-x -a '{' '.join(action.choices or ())}'")
    elif kind == "dir":
        parts.append("-x -a '(__fish_complete_directories)'")
    elif kind == "file":
        parts.append("-r -F")
    elif kind == "any":
        parts.append("-x")
    parts.append("-d " + _quote((action.help or "").split(";")[0][:70]))
    return " ".join(parts)


def _quote(text: str) -> str:
    return "'" + text.split(". ")[0][:70].replace("\\", "\\\\").replace("'", "\\'") + "'"
