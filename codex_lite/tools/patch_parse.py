"""Parse Codex's apply_patch grammar into operations, without touching the disk.

The grammar (Codex's `tool_apply_patch.lark`, which the models were trained on):

    *** Begin Patch
    *** Add File: PATH          then lines starting with "+"
    *** Delete File: PATH
    *** Update File: PATH       then optionally "*** Move to: PATH"
    @@ [context line]           then " ", "-", "+" lines, optionally "*** End of File"
    *** End Patch

Models do not always write it exactly, so, like Codex, we accept: whitespace around marker and header
lines, a heredoc wrapper (`<<'EOF'` ... `EOF`, also with a leading `apply_patch`), an omitted first
`@@`, and empty lines inside a chunk taken as empty context lines. Beyond Codex we also accept a
Markdown code fence around the patch, a unified-diff style `@@ -1,3 +1,4 @@` header (its numbers
are ignored), blank lines between operations and inside an Add File, and we drop trailing empty
lines of a chunk (they only narrow matching and are usually the blank line a model leaves before
the next header). A line that reads as an operation header ends a chunk even when indented.

Errors are `PatchSyntaxError` with the 1-based line number of the patch, so the model can fix it.
"""

from __future__ import annotations

from codex_lite.records import dataclass, field

BEGIN = "*** Begin Patch"
END = "*** End Patch"
END_OF_FILE = "*** End of File"
_HEADERS = (("add", "*** Add File:"), ("delete", "*** Delete File:"), ("update", "*** Update File:"))
_MOVE = "*** Move to:"


class PatchSyntaxError(ValueError):
    """The patch text does not follow the grammar; the message names the line."""


@dataclass
class Chunk:
    """One `@@` section: its `old` lines are replaced by its `new` lines, searched after `context`.

    `body` keeps the lines in patch order as (tag, text): tag " " is a context line, "." an empty
    line written without its leading space (also context), "-" removed, "+" added. Keeping the
    context apart lets the engine leave the file's own version of a context line untouched when
    it matched only loosely (other whitespace, typographic quotes)."""

    context: str | None = None
    body: list[tuple[str, str]] = field(default_factory=list)
    end_of_file: bool = False
    line_no: int = 0  # where the chunk starts in the patch, for error messages

    @property
    def old(self) -> list[str]:
        return [text for tag, text in self.body if tag != "+"]

    @property
    def new(self) -> list[str]:
        return [text for tag, text in self.body if tag != "-"]


@dataclass
class Operation:
    """One file operation of a patch, in patch order."""

    kind: str  # "add" | "delete" | "update"
    path: str
    move_to: str | None = None
    content: str = ""  # for "add": the new file's text (always ends with a newline)
    chunks: list[Chunk] = field(default_factory=list)


def parse_patch(text: str) -> list[Operation]:
    """Parse a whole patch; raises PatchSyntaxError. An empty patch (no operations) is an error,
    because a model that sends one almost always lost its content on the way."""
    lines = _patch_body(text)
    ops: list[Operation] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        op, i = _parse_operation(lines, i)
        ops.append(op)
    if not ops:
        raise PatchSyntaxError("the patch contains no operations (*** Add File, *** Delete File or "
                               "*** Update File) between '*** Begin Patch' and '*** End Patch'")
    return ops


def _split_lines(text: str) -> list[str]:
    """Split on LF and drop one CR per line: a patch typed on Windows is still a patch."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _patch_body(text: str) -> list[_Line]:
    """The lines between the Begin and End markers, after removing any heredoc wrapper, as `_Line`
    strings that remember their line number in the patch."""
    lines = _split_lines(text.strip())
    offset = 1 + text[:len(text) - len(text.lstrip())].count("\n")  # blank lines stripped above
    delim = heredoc_delimiter(lines[0]) if lines else None
    if delim is not None and len(lines) >= 2 and lines[-1].strip() == delim:
        lines = lines[1:-1]
        offset += 1
        while lines and not lines[0].strip():
            lines, offset = lines[1:], offset + 1
        while lines and not lines[-1].strip():
            lines = lines[:-1]
    if len(lines) >= 2 and lines[0].strip().startswith("```") and lines[-1].strip() == "```":
        lines = lines[1:-1]  # a Markdown code fence around the patch
        offset += 1
    if not lines or lines[0].strip() != BEGIN:
        raise PatchSyntaxError("the first line of the patch must be '*** Begin Patch'")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise PatchSyntaxError("the last line of the patch must be '*** End Patch' "
                               "(was the patch cut short?)")
    return [_Line(line, offset + 1 + n) for n, line in enumerate(lines[1:-1])]


class _Line(str):
    """A patch line that knows its 1-based line number in the text the model sent."""

    no: int

    def __new__(cls, value: str, no: int):  # returns a _Line
        obj = super().__new__(cls, value)
        obj.no = no
        return obj


def heredoc_delimiter(line: str) -> str | None:
    """The delimiter of a heredoc opening line: `<<'EOF'`, `<<"EOF"`, `<<EOF`, `<<-EOF`, optionally
    after `apply_patch` / `applypatch`. None when the line is not one."""
    s = line.strip()
    for cmd in ("apply_patch", "applypatch"):
        if s.startswith(cmd):
            s = s[len(cmd):].lstrip()
            break
    if not s.startswith("<<"):
        return None
    s = s[2:].lstrip("-").strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    if s and all(c.isalnum() or c in "_-." for c in s):
        return s
    return None


def _header(line: str) -> tuple[str, str] | None:
    """(kind, path) for an operation header line, tolerating surrounding whitespace."""
    s = line.strip()
    for kind, marker in _HEADERS:
        if s.startswith(marker):
            return kind, s[len(marker):].strip()
    return None


def _parse_operation(lines: list, i: int) -> tuple[Operation, int]:
    head = _header(lines[i])
    if head is None:
        raise PatchSyntaxError(
            f"line {lines[i].no}: '{lines[i].strip()}' is not a valid operation header; expected "
            "'*** Add File: PATH', '*** Delete File: PATH' or '*** Update File: PATH'")
    kind, path = head
    if not path:
        raise PatchSyntaxError(f"line {lines[i].no}: '{lines[i].strip()}' has no file path")
    if kind == "add":
        return _parse_add(lines, i + 1, path)
    if kind == "delete":
        return Operation("delete", path), i + 1
    return _parse_update(lines, i + 1, path, lines[i].no)


def _parse_add(lines: list, i: int, path: str) -> tuple[Operation, int]:
    """`+` lines make the file. An empty line between `+` lines is taken as an empty line of the
    file (models forget the `+` on blank lines); empty lines after the last `+` are not."""
    content: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith("+"):
            content.append(line[1:])
        elif line == "" and _next_nonblank_is_plus(lines, i):
            content.append("")
        else:
            break
        i += 1
    text = "".join(part + "\n" for part in content)
    return Operation("add", path, content=text), i


def _next_nonblank_is_plus(lines: list, i: int) -> bool:
    for line in lines[i:]:
        if line != "":
            return line.startswith("+")
    return False


def _parse_update(lines: list, i: int, path: str, header_no: int) -> tuple[Operation, int]:
    op = Operation("update", path)
    if i < len(lines) and lines[i].strip().startswith(_MOVE):
        op.move_to = lines[i].strip()[len(_MOVE):].strip()
        if not op.move_to:
            raise PatchSyntaxError(f"line {lines[i].no}: '*** Move to:' has no file path")
        i += 1
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        if lines[i].lstrip().startswith("*") and _is_marker(lines[i]):
            break
        chunk, i = _parse_chunk(lines, i, first=not op.chunks)
        op.chunks.append(chunk)
    if not op.chunks:
        raise PatchSyntaxError(f"line {header_no}: '*** Update File: {path}' has no changes; "
                               "add an '@@' chunk with ' ', '-' and '+' lines")
    return op, i


def _is_marker(line: str) -> bool:
    """A line that ends an update: the next operation header (or a stray Move/End marker)."""
    s = line.strip()
    return _header(s) is not None or s.startswith(_MOVE) or s in (END, BEGIN)


def _chunk_header(line: str) -> tuple[bool, str | None]:
    """(is_header, context). Accepts `@@`, `@@ context`, and `@@ -1,2 +1,3 @@ [context]`."""
    s = line.strip()
    if not s.startswith("@@"):
        return False, None
    rest = s[2:].strip()
    if rest.startswith("-") and "@@" in rest and _looks_like_ranges(rest.split("@@", 1)[0]):
        rest = rest.split("@@", 1)[1].strip()
    return True, rest or None


def _looks_like_ranges(text: str) -> bool:
    parts = text.split()
    return len(parts) == 2 and all(p[:1] in "-+" and p[1:].replace(",", "").isdigit() for p in parts)


def _parse_chunk(lines: list, i: int, first: bool) -> tuple[Chunk, int]:
    start = lines[i]
    is_header, context = _chunk_header(start)
    if is_header:
        i += 1
    elif not first:
        raise PatchSyntaxError(
            f"line {start.no}: expected an '@@' line to start the next chunk, got '{start}'. "
            "Every changed line must start with ' ' (context), '-' (removed) or '+' (added)")
    chunk = Chunk(context=context, line_no=start.no)
    body = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == END_OF_FILE:
            chunk.end_of_file = True
            i += 1
            break
        if _is_marker(line) or not _add_chunk_line(chunk, line):
            if body == 0:
                raise PatchSyntaxError(
                    f"line {line.no}: unexpected line in an update chunk: '{line}'. Every line "
                    "must start with ' ' (context), '-' (removed) or '+' (added)")
            break
        body += 1
        i += 1
    if body == 0 and not chunk.end_of_file:
        raise PatchSyntaxError(f"line {start.no}: the chunk has no lines")
    _drop_trailing_blank_context(chunk)
    return chunk, i


def _add_chunk_line(chunk: Chunk, line: str) -> bool:
    """Add one body line to the chunk; False when the line is not a chunk line."""
    if line == "":
        chunk.body.append((".", ""))
    elif line[0] in " -+":
        chunk.body.append((line[0], line[1:]))
    else:
        return False
    return True


def _drop_trailing_blank_context(chunk: Chunk) -> None:
    """Remove context lines that were completely empty in the patch and end the chunk: they are
    most often the separator a model leaves before the next header, and dropping trailing context
    never changes what a chunk does, only how narrowly it matches. Not for `*** End of File`
    chunks, where a trailing empty line is part of the anchor, and never the only old line."""
    if chunk.end_of_file:
        return
    while chunk.body and chunk.body[-1][0] == "." and len(chunk.old) > 1:
        chunk.body.pop()
