"""Reading shell syntax tolerantly, keeping where every word is: for rewriting, never for approving.

    Scanner(script).scan(0, False)   .commands: the simple commands, each a list of ScanWord spans
    Bail                             raised when the script uses something not parsed safely
    RESERVED                         words that start a compound command or prefix a command

`Scanner` is the tolerant reader used to rewrite searches (search_scripts.py) and to find bash
features (shells.py): it keeps every word's source span, treats expansions as opaque words, walks
into `$( )`, skips here-document bodies, and raises `Bail` when it meets something it does not
parse safely. Whether a command may run without asking is decided by the strict reader,
sh_syntax.read, never by this one. Linear in the length of the script.
"""

from __future__ import annotations


class Bail(Exception):
    """The script uses something we do not parse safely: leave it unchanged."""


class ScanWord:
    __slots__ = ("end", "start", "value")

    def __init__(self, start: int, end: int, value: str | None) -> None:
        self.start, self.end, self.value = start, end, value  # value None: has expansions


_OPS = ";&|()\n"
RESERVED = {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "}", "time", "command",
             "exec", "nohup", "fi", "done"}


class Scanner:
    """A linear POSIX-sh tokenizer that finds simple commands and their words' source spans."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.commands: list[list[ScanWord]] = []
        self.heredocs: list[tuple[str, bool]] = []
        self.params: list[str] = []  # the insides of ${...}, for shells.py's bash-ism check
        self.braces = False  # an unquoted {a,b} or {1..3}: brace expansion, which ash lacks

    def scan(self, i: int, in_subst: bool) -> int:
        """Scan commands from i; in a $( ) stop at its closing paren and return its index."""
        s, n = self.s, len(self.s)
        cur: list[ScanWord] = []
        depth = 0
        redirect = ""  # pending redirection operator waiting for its target word
        while i < n:
            c = s[i]
            if c in " \t":
                i += 1
                continue
            if c == "\\" and s.startswith("\\\n", i):
                i += 2
                continue
            if c == "#" and (i == 0 or s[i - 1] in " \t\n;&|()"):
                while i < n and s[i] != "\n":
                    i += 1
                continue
            if c in _OPS or (c in "<>") or (c == "&" and s.startswith("&>", i)):
                if redirect:
                    raise Bail()
                if c in "<>" or s.startswith("&>", i):
                    op, i = self._redir_op(i)
                    redirect = op
                    continue
                if s.startswith(";;", i):
                    raise Bail()
                self._end(cur)
                cur = []
                if c == "\n":
                    i = self._skip_heredocs(i + 1)
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    if depth == 0:
                        if in_subst:
                            return i
                        raise Bail()
                    depth -= 1
                i += 2 if s.startswith(("&&", "||", "|&"), i) else 1
                continue
            word, i = self._word(i)
            if redirect:
                if redirect in ("<<", "<<-"):
                    if word.value is None:
                        raise Bail()
                    self.heredocs.append((word.value, redirect == "<<-"))
                redirect = ""
                continue
            if i < n and s[i] in "<>" and word.value is not None and word.value.isdigit() \
                    and s[word.start:word.end].isdigit():
                continue  # IO number such as 2>: part of the redirection
            cur.append(word)
        if in_subst or redirect:
            raise Bail()
        self._end(cur)
        return i

    def _end(self, words: list[ScanWord]) -> None:
        if words:
            self.commands.append(words)

    def _redir_op(self, i: int) -> tuple[str, int]:
        for op in ("<<<", "<<-", "&>>", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "<", ">"):
            if self.s.startswith(op, i):
                if op in ("<", ">") and self.s.startswith("(", i + 1):
                    raise Bail()  # process substitution
                return op, i + len(op)
        raise Bail()

    def _word(self, i: int) -> tuple[ScanWord, int]:
        """Read one word; its value is None when it contains expansions."""
        s, n = self.s, len(self.s)
        start = i
        out: list[str] = []
        unquoted: list[str] = []
        opaque = False
        while i < n:
            c = s[i]
            if c in " \t\n;&|()<>":
                break
            if c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    raise Bail()
                out.append(s[i + 1:j])
                i = j + 1
            elif c == '"':
                i, part = self._dquote(i + 1)
                if part is None:
                    opaque = True
                else:
                    out.append(part)
            elif c == "\\":
                if i + 1 >= n:
                    raise Bail()
                if s[i + 1] != "\n":
                    out.append(s[i + 1])
                i += 2
            elif c == "$" and self._expands(i, False):
                i = self._dollar(i)
                opaque = True
            elif c == "`":
                i = self._backtick(i)
                opaque = True
            else:
                out.append(c)
                unquoted.append(c)
                i += 1
        if i == start:
            raise Bail()
        if "{" in unquoted and not self.braces:
            text = "".join(unquoted)
            # grep's --include={a,b} globs are expanded by the BusyBox helper itself
            self.braces = not text.startswith(("--include=", "--exclude=")) and brace_expansion(text)
        return ScanWord(start, i, None if opaque else "".join(out)), i

    def _dquote(self, i: int) -> tuple[int, str | None]:
        s, n = self.s, len(self.s)
        out: list[str] = []
        opaque = False
        while i < n:
            c = s[i]
            if c == '"':
                return i + 1, None if opaque else "".join(out)
            if c == "\\" and i + 1 < n:
                if s[i + 1] in '$`"\\':
                    out.append(s[i + 1])
                elif s[i + 1] != "\n":
                    out.append(s[i:i + 2])
                i += 2
            elif c == "$" and self._expands(i, True):
                i = self._dollar(i)
                opaque = True
            elif c == "`":
                i = self._backtick(i)
                opaque = True
            else:
                out.append(c)
                i += 1
        raise Bail()

    def _expands(self, i: int, quoted: bool) -> bool:
        """Is the $ at s[i] an expansion? A $ before a space, quote or end is a literal $."""
        nxt = self.s[i + 1] if i + 1 < len(self.s) else ""
        if nxt == "'":
            return not quoted  # $'...' only outside double quotes
        return bool(nxt) and (nxt.isalnum() or nxt in "_({@*#?$!-")

    def _dollar(self, i: int) -> int:
        """Skip an expansion at s[i] == '$'; commands inside $( ) are collected too."""
        s, n = self.s, len(self.s)
        nxt = s[i + 1] if i + 1 < n else ""
        if s.startswith("$((", i):
            return self._balanced(i + 3, "(", ")", 2)
        if nxt == "(":
            end = self.scan(i + 2, True)
            return end + 1
        if nxt == "{":
            end = self._balanced(i + 2, "{", "}", 1)
            self.params.append(s[i + 2:end - 1])
            return end
        if nxt == "'":
            j = i + 2
            while j < n and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                raise Bail()
            return j + 1
        j = i + 1
        if j < n and (s[j].isalnum() or s[j] == "_"):
            while j < n and (s[j].isalnum() or s[j] == "_"):
                j += 1
            return j
        if j < n and s[j] in "@*#?$!-":
            return j + 1
        return j  # a lone $ is literal, but keep the word opaque to stay safe

    def _balanced(self, i: int, open_: str, close: str, need: int) -> int:
        s, n = self.s, len(self.s)
        depth = need
        while i < n:
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'" and open_ == "{":
                j = s.find("'", i + 1)
                if j < 0:
                    raise Bail()
                i = j + 1
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise Bail()

    def _backtick(self, i: int) -> int:
        s, n = self.s, len(self.s)
        j = i + 1
        while j < n and s[j] != "`":
            j += 2 if s[j] == "\\" else 1
        if j >= n:
            raise Bail()
        return j + 1

    def _skip_heredocs(self, i: int) -> int:
        s, n = self.s, len(self.s)
        for delim, strip in self.heredocs:
            while i < n:
                j = s.find("\n", i)
                line = s[i:] if j < 0 else s[i:j]
                i = n if j < 0 else j + 1
                if (line.lstrip("\t") if strip else line) == delim:
                    break
        self.heredocs = []
        return i


def brace_expansion(text: str) -> bool:
    """`{a,b}` or `{1..3}` in unquoted text (not `{}` or a lone `{`)."""
    start = text.find("{")
    while start >= 0:
        end = text.find("}", start + 1)
        if end < 0:
            return False
        inner = text[start + 1:end]
        if inner and ("," in inner or ".." in inner) and "{" not in inner:
            return True
        start = text.find("{", start + 1)
    return False
