"""Reading shell syntax the way a POSIX shell does, or saying that we cannot tell.

    read(script) -> list[list[Word]] | None     strict: the simple commands of a script, or None
    parse(script) -> list[list[Word]]           the same, raising Unreadable(reason) instead
    split(text) -> list[str] | None             one command's literal words, backslashes allowed

Models send most commands as `bash -lc SCRIPT`, and what such a script runs decides whether it may
run without asking. `shlex` does not read shell the way bash does (a `#` inside a word, `$'..'`,
`${x@P}` ...), so the approval policy uses `read`, which accepts only what it models exactly and
identically in bash, dash, BusyBox ash, zsh and ksh:

- words of unquoted characters from a small safe set (letters, digits, `_ . / : , % + = @ - !`),
  single-quoted text, double-quoted text without `$`, backquotes or backslashes;
- unquoted `*` and `?` (globs: the word is marked, `**` is refused), and `[` or `]` as whole words;
- commands joined by `;`, `&&`, `||`, `|` and newlines, comments that start a word;
- the redirections `>/dev/null`, `>>/dev/null`, `</dev/null`, `2>/dev/null`, `2>&1`, `>&2`.

Anything else means "cannot tell" (None), which the approval policy turns into a question: `$` in
any form (parameters, `$'..'`, `$(..)`, arithmetic), backquotes, backslashes, `{ }` and brace
expansion, `~`, `#` inside a word, `(`, `)`, `&`, `^`, other redirections, here-documents and
here-strings, process substitution, assignments, reserved words, non-ASCII or control characters
outside quotes, and syntax errors. Linear in the length of the script.

The tolerant reader with source spans, for rewriting searches and finding bash features, is
sh_scanner.py (`Scanner`).
"""

from __future__ import annotations

from codex_lite.records import dataclass

# Unquoted characters that stand for themselves in every POSIX-family shell.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,%+=@-!")
_BLANKS = " \t"
_WORD_END = " \t\n;&|<>()"
# Words that make a command something other than a simple command.
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while",
                       "until", "do", "done", "in", "function", "time", "coproc", "!", "{", "}", "[[",
                       "]]", "repeat", "foreach", "end", "nocorrect", "noglob"})


@dataclass(frozen=True)
class Word:
    """One word after quote removal. `glob`: it has unquoted `*` or `?`, so the shell replaces it
    with the names of matching files (zero, one or many words). `lead_glob`: already in its first
    path component, so a match may be any name in the folder, one starting with `-` included."""

    text: str
    glob: bool = False
    lead_glob: bool = False


class Unreadable(ValueError):
    """The script uses something this reader does not model exactly; the message says what."""


def read(script: str) -> list[list[Word]] | None:
    """The simple commands of `script`, in order, or None when we cannot tell what it runs."""
    try:
        return parse(script)
    except Unreadable:
        return None


def parse(script: str) -> list[list[Word]]:
    """Like `read`, raising Unreadable with the reason."""
    return _Strict(script, escapes=False).commands()


def split(text: str) -> list[str] | None:
    """The literal words of one simple command, with POSIX backslash escapes understood (for
    `apply_patch 'PATCH'`, where a patch line with a quote arrives as `'\\''`); None otherwise."""
    try:
        commands = _Strict(text, escapes=True).commands()
    except Unreadable:
        return None
    if len(commands) != 1 or any(w.glob for w in commands[0]):
        return None
    return [w.text for w in commands[0]]


class _Strict:
    """The strict reader: one pass, default deny."""

    def __init__(self, s: str, escapes: bool) -> None:
        self.s, self.n, self.escapes = s, len(s), escapes
        self.out: list[list[Word]] = []

    def commands(self) -> list[list[Word]]:
        s, n = self.s, self.n
        i = 0
        cur: list[Word] = []
        redirected = False  # the current command has a redirection (it still needs a word)
        pending = ""  # `&&`, `||` or `|` waiting for the command after it
        while i < n:
            c = s[i]
            if c in _BLANKS:
                i += 1
                continue
            if c == "#":  # only reached between words: a comment up to the newline
                end = s.find("\n", i)
                i = n if end < 0 else end
                continue
            if c == "\n":
                if cur or redirected:
                    self._end(cur)
                    cur, redirected = [], False
                i += 1
                continue
            if c in ";&|":
                op = s[i:i + 2] if s.startswith(("&&", "||"), i) else c
                if op == "&" or s.startswith(("|&", ";;", ";&"), i):
                    raise Unreadable(f"`{s[i:i + 2].strip()}` (a background job, `&>`, `|&` or `;;`)")
                if not cur and not redirected:
                    raise Unreadable(f"`{op}` without a command before it")
                self._end(cur)
                cur, redirected = [], False
                pending = "" if op == ";" else op
                i += len(op)
                continue
            if c in "()":
                raise Unreadable(f"`{c}` (a subshell, function or pattern)")
            if c in "<>":
                i = self._redirection(i, None)
                redirected = True
            else:
                start = i
                word, i = self._word(i)
                if i < n and s[i] in "<>" and s[start:i].isdigit():
                    i = self._redirection(i, s[start:i])  # `2>`: the digits name a descriptor
                    redirected = True
                else:
                    cur.append(word)
            pending = ""
        if pending:
            raise Unreadable(f"the script ends after `{pending}`")
        if cur or redirected:
            self._end(cur)
        return self.out

    def _end(self, words: list[Word]) -> None:
        if not words:
            raise Unreadable("a command made only of redirections (zsh runs a pager for it)")
        first = words[0]
        if first.glob or not first.text or first.text in _KEYWORDS:
            raise Unreadable(f"`{first.text}` is not a plain command name")
        if "=" in first.text:
            raise Unreadable(f"`{first.text}` looks like an assignment")
        self.out.append(words)

    def _redirection(self, i: int, fd: str | None) -> int:
        """Only redirections that cannot change a file or run anything: to or from /dev/null, and
        stdout/stderr joined."""
        s = self.s
        op = next(o for o in ("<<", "<>", "<&", "<(", ">>", ">&", ">|", ">(", "<", ">") if s.startswith(o, i))
        if op not in ("<", ">", ">>", ">&"):
            raise Unreadable(f"the redirection `{op}`")
        i += len(op)
        while i < self.n and s[i] in _BLANKS:
            i += 1
        if i >= self.n or s[i] in _WORD_END:
            raise Unreadable(f"`{op}` without a target")
        target, i = self._word(i)
        allowed_fd = ("0",) if op == "<" else ("1", "2")
        if fd is not None and fd not in allowed_fd:
            raise Unreadable(f"a redirection of file descriptor {fd}")
        if target.glob:
            raise Unreadable("a redirection to a pattern")
        if op == ">&":
            if target.text not in ("1", "2"):
                raise Unreadable(f"`>&{target.text}`")
        elif target.text != "/dev/null":
            raise Unreadable(f"a redirection {'from' if op == '<' else 'to'} {target.text}")
        return i

    def _word(self, i: int) -> tuple[Word, int]:
        s, n = self.s, self.n
        start = i
        text: list[str] = []
        glob = lead_glob = False
        first_component = True
        bracket = False
        while i < n and s[i] not in _WORD_END:
            c = s[i]
            if c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    raise Unreadable("an unterminated single quote")
                part = s[i + 1:j]
                i = j + 1
            elif c == '"':
                part, i = self._double_quoted(i + 1)
            elif c == "\\" and self.escapes:
                if i + 1 >= n:
                    raise Unreadable("a backslash at the end")
                part = "" if s[i + 1] == "\n" else s[i + 1]
                i += 2
            elif c in "*?":
                if s.startswith("**", i):
                    raise Unreadable("`**` (a recursive glob in zsh and bash's globstar)")
                glob = True
                lead_glob = lead_glob or first_component
                part = c
                i += 1
            elif c in "[]":
                bracket = True
                part = c
                i += 1
            elif c == "#":
                raise Unreadable("`#` inside a word (a comment in some shells, a pattern in zsh)")
            elif c == "=" and i == start:
                raise Unreadable("a word starting with `=` (zsh expands it to a program's path)")
            elif c in _SAFE:
                part = c
                i += 1
            else:
                raise Unreadable(f"{_describe(c)} outside quotes")
            first_component = first_component and "/" not in part
            text.append(part)
        word = "".join(text)
        if bracket and (s[start:i] not in ("[", "]")):
            raise Unreadable("`[` or `]` inside a word (a glob bracket)")
        return Word(word, glob, lead_glob), i

    def _double_quoted(self, i: int) -> tuple[str, int]:
        s, n = self.s, self.n
        out: list[str] = []
        while i < n:
            c = s[i]
            if c == '"':
                return "".join(out), i + 1
            if c in "$`":
                raise Unreadable(f"`{c}` inside double quotes (an expansion)")
            if c == "\\":
                if not self.escapes:
                    raise Unreadable("a backslash inside double quotes")
                if i + 1 < n and s[i + 1] in '$`"\\\n':
                    if s[i + 1] != "\n":
                        out.append(s[i + 1])
                    i += 2
                    continue
            out.append(c)
            i += 1
        raise Unreadable("an unterminated double quote")


def _describe(c: str) -> str:
    names = {"$": "`$` (an expansion)", "`": "a backquote (command substitution)",
             "\\": "a backslash", "{": "`{` (a group or brace expansion)", "}": "`}`",
             "~": "`~` (tilde expansion)", "^": "`^` (a zsh pattern)"}
    if c in names:
        return names[c]
    return f"the character {c!r}"
