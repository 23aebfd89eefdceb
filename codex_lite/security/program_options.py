"""The options a program may be given: a small getopt that accepts only what it is told.

    spec = options(flags="la", values="n", long="all", long_values="sort")
    parse_options(words, spec) -> Parsed(options, operands) | None

Used by read_only_programs.py and read_only_git.py to check a "read-only" program's arguments: an option
that is not in the spec, or a value that could be taken for an option, makes the whole command
unreadable (None), which the approval policy turns into a question.
"""

from __future__ import annotations

from codex_lite.records import dataclass, field
from codex_lite.tools.sh_syntax import Word


@dataclass(frozen=True)
class Options:
    """The options a program may be given. `flags`: single letters without a value (they may be
    bundled, `-la`); `values`: letters that take a value (`-n5`, `-n 5`); `optional`: letters whose
    value can only be attached (`-M50`); `long`: `--name`; `long_values`: `--name=v` or `--name v`;
    `long_optional`: `--name` or `--name=v`; `numeric`: `-5` is allowed (`git log -5`).

    Long names must match exactly (no GNU-style abbreviations, which could stand for a refused
    option). A value in the next word may not start with `-`: if a program read that option as a
    flag, the next word would be an option we never checked."""

    flags: str = ""
    values: str = ""
    optional: str = ""
    long: frozenset = frozenset()
    long_values: frozenset = frozenset()
    long_optional: frozenset = frozenset()
    numeric: bool = False

    def __or__(self, other: Options) -> Options:
        return Options(self.flags + other.flags, self.values + other.values,
                       self.optional + other.optional, self.long | other.long,
                       self.long_values | other.long_values, self.long_optional | other.long_optional,
                       self.numeric or other.numeric)


def options(flags: str = "", values: str = "", optional: str = "", long: str = "", long_values: str = "",
          long_optional: str = "", numeric: bool = False) -> Options:
    return Options(flags, values, optional, frozenset(long.split()), frozenset(long_values.split()),
                   frozenset(long_optional.split()), numeric)


@dataclass
class Parsed:
    options: list[tuple[str, str | None]] = field(default_factory=list)  # (letter or long name, value)
    operands: list[Word] = field(default_factory=list)

    def has(self, *names: str) -> bool:
        return any(name in names for name, _ in self.options)


def parse_options(args: list[Word], spec: Options) -> Parsed | None:
    """Split args into options and operands by `spec`; None when a word is not allowed. Options may
    come after operands (GNU getopt permutes); `--` ends them."""
    out = Parsed()
    i = 0
    while i < len(args):
        text = args[i].text
        i += 1
        if text == "--":
            out.operands += args[i:]
            break
        if text.startswith("--"):
            name, eq, value = text[2:].partition("=")
            if name in spec.long and not eq:
                out.options.append((name, None))
            elif name in spec.long_optional:
                out.options.append((name, value if eq else None))
            elif name in spec.long_values:
                if not eq:
                    if i >= len(args) or not _plain(args[i]):
                        return None
                    value, i = args[i].text, i + 1
                out.options.append((name, value))
            else:
                return None
        elif text.startswith("-") and text != "-":
            if spec.numeric and text[1:].isdigit():
                out.options.append(("#", text[1:]))
                continue
            j = 1
            while j < len(text):
                c = text[j]
                j += 1
                if c in spec.optional:
                    out.options.append((c, text[j:] or None))
                    break
                if c in spec.values:
                    value = text[j:]
                    if not value:
                        if i >= len(args) or not _plain(args[i]):
                            return None
                        value, i = args[i].text, i + 1
                    out.options.append((c, value))
                    break
                if c not in spec.flags:
                    return None
                out.options.append((c, None))
        else:
            out.operands.append(args[i - 1])
    return out


def _plain(word: Word) -> bool:
    """A value given as the next word: literal, and not something a program could take for an option."""
    return not word.glob and not word.text.startswith("-")
