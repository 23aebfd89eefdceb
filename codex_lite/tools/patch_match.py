"""Find where each chunk of an update goes, and build the new lines of the file.

Matching moves forward through the file, like Codex's `seek_sequence`: a chunk is searched from
where the previous one ended, first exactly, then ignoring trailing whitespace, then ignoring
surrounding whitespace, then with typographic quotes, dashes and spaces normalised to ASCII. A chunk
marked `*** End of File` must match at the end of the file.

When a chunk does not match, `ChunkMismatch` carries what the model needs to fix its patch: the
lines it expected and the closest lines the file actually has.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

from codex_lite.tools.patch_parse import Chunk

_TYPOGRAPHIC = str.maketrans({
    **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
    **{c: "'" for c in "\u2018\u2019\u201a\u201b"},
    **{c: '"' for c in "\u201c\u201d\u201e\u201f"},
    **{c: " " for c in "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"},
})


def normalise(line: str) -> str:
    """The loosest comparison key: surrounding whitespace dropped, typographic punctuation made ASCII."""
    return line.strip().translate(_TYPOGRAPHIC)


# From strictest to loosest; the first pass that finds the lines wins.
PASSES: tuple[Callable[[str], str], ...] = (lambda s: s, str.rstrip, str.strip, normalise)


class ChunkMismatch(Exception):
    """A chunk (or its `@@` context line) was not found; `message` is written for the model."""


def seek(lines: Sequence[str], pattern: Sequence[str], start: int, at_end: bool = False) -> int | None:
    """Index where `pattern` occurs in `lines` at or after `start` (only at the very end when
    `at_end`), trying each pass of `PASSES` in turn; None when no pass finds it."""
    if not pattern:
        return len(lines) if at_end else start
    last = len(lines) - len(pattern)
    if last < start:
        return None
    first = last if at_end else start
    for key in PASSES:
        want = [key(p) for p in pattern]
        head = want[0]
        for i in range(first, last + 1):
            if key(lines[i]) == head and all(key(lines[i + k]) == want[k] for k in range(1, len(want))):
                return i
    return None


def apply_chunks(lines: list[str], chunks: list[Chunk]) -> list[tuple[int, int, list]]:
    """Locate every chunk in order and return the replacements (start, old_length, new_lines),
    where each new line is the patch's text (str) or the index of a file line to keep (int): a
    context line keeps the file's own text even when it matched only loosely.

    Raises ChunkMismatch naming the chunk and showing the closest lines found."""
    replacements: list[tuple[int, int, list]] = []
    cursor = 0
    for number, chunk in enumerate(chunks, 1):
        context_at, after_previous = None, cursor
        if chunk.context is not None:
            context_at = seek(lines, [chunk.context], cursor)
            if context_at is None:
                raise ChunkMismatch(_context_message(lines, chunk, number, cursor))
            cursor = context_at + 1
        start, body = _locate(lines, chunk, cursor)
        if start is None and context_at is not None and chunk.old:
            # Models often repeat the `@@ def f():` line as the chunk's first context line, or
            # name a line of the chunk itself: then the lines start at the context line.
            start, body = _locate(lines, chunk, context_at)
        if start is None and context_at is not None and chunk.old:
            # The `@@` line is only a hint, and a stricter pass may have found a copy of it past
            # the chunk (`@@ end` matching a later `end` before an earlier `end `).
            start, body = _locate(lines, chunk, after_previous)
        if start is None:
            raise ChunkMismatch(_mismatch_message(lines, chunk, number, cursor))
        old_length = sum(1 for tag, _ in body if tag != "+")
        replacements.append((start, old_length, _new_lines(body, start)))
        cursor = start + old_length
    return replacements


def _new_lines(body: list[tuple[str, str]], start: int) -> list:
    out: list = []
    index = start
    for tag, text in body:
        if tag == "+":
            out.append(text)
        elif tag == "-":
            index += 1
        else:
            out.append(index)
            index += 1
    return out


def _locate(lines: Sequence[str], chunk: Chunk, cursor: int) -> tuple[int | None, list[tuple[str, str]]]:
    """Where the chunk's old lines are, and the body to apply there. A chunk without old lines is
    an insertion: right after its `@@` context line when it has one, otherwise at the end of the
    file. Like Codex, when the old lines end with an empty line (a model's way of writing the
    final newline) and are not found, try again without it."""
    body = chunk.body
    old = chunk.old
    if not old:
        at_end = chunk.context is None or chunk.end_of_file
        return (len(lines) if at_end else cursor), body
    start = seek(lines, old, cursor, chunk.end_of_file)
    if start is None and old[-1] == "":
        body = _without_final_blank(body)
        old = [text for tag, text in body if tag != "+"]
        start = seek(lines, old, cursor, chunk.end_of_file) if old else len(lines)
    return start, body


def _without_final_blank(body: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The body minus its last old line (which is empty), and minus the matching empty added line
    when that line was removed as `-` and re-added as `+` at the end."""
    body = list(body)
    last_old = max(i for i, (tag, _) in enumerate(body) if tag != "+")
    tag = body.pop(last_old)[0]
    if tag == "-":
        added = [i for i, (t, _) in enumerate(body) if t != "-"]
        if added and body[added[-1]] == ("+", ""):
            body.pop(added[-1])
    return body


def splice(lines: list, replacements: list[tuple[int, int, list]]) -> list:
    """Apply replacements that are sorted and do not overlap (which `apply_chunks` guarantees);
    int items of a replacement stand for `lines[item]`."""
    out: list = []
    cursor = 0
    for start, length, new in replacements:
        out.extend(lines[cursor:start])
        out.extend(lines[item] if isinstance(item, int) else item for item in new)
        cursor = start + length
    out.extend(lines[cursor:])
    return out


# ---- error messages -----------------------------------------------------------------------------

_SHOW = 12  # lines of expected / found text shown in an error


def _context_message(lines: Sequence[str], chunk: Chunk, number: int, cursor: int) -> str:
    where = "" if cursor == 0 else f" after line {cursor}"
    msg = f"chunk {number} (patch line {chunk.line_no}): the '@@ {chunk.context}' line was not found{where}."
    earlier = seek(lines, [chunk.context or ""], 0) if cursor else None
    if earlier is not None:
        return msg + (f" It is at line {earlier + 1}, before the previous chunk: chunks must be in "
                      "the order their lines appear in the file.")
    return msg + "\n" + _closest_block(lines, [chunk.context or ""], cursor)


def _mismatch_message(lines: Sequence[str], chunk: Chunk, number: int, cursor: int) -> str:
    where = " at the end of the file" if chunk.end_of_file else (
        "" if cursor == 0 else f" after line {cursor}")
    msg = (f"chunk {number} (patch line {chunk.line_no}): these {len(chunk.old)} line(s) to replace "
           f"were not found{where}:\n" + _numbered(chunk.old, None))
    earlier = seek(lines, chunk.old, 0) if cursor else None
    if earlier is not None and earlier < cursor:
        return msg + (f"\nThey are at line {earlier + 1}, before the previous chunk: chunks must be "
                      "in the order their lines appear in the file.")
    return msg + "\n" + _closest_block(lines, chunk.old, cursor)


def _closest_block(lines: Sequence[str], pattern: Sequence[str], cursor: int) -> str:
    if not lines:
        return "The file is empty."
    start = closest_window(lines, pattern, cursor)
    end = min(len(lines), start + max(len(pattern), 1))
    differ = {k for k, line in enumerate(lines[start:end])
              if k >= len(pattern) or normalise(line) != normalise(pattern[k])}
    return (f"Closest lines in the file (lines {start + 1}-{end}, '!' marks the ones that differ "
            "from the patch):\n" + _numbered(lines[start:end], start + 1, differ)
            + "\nRe-read the file and send the patch again with context lines copied exactly.")


def _numbered(lines: Sequence[str], first: int | None, differ: Container[int] = frozenset()) -> str:
    shown = list(lines[:_SHOW])
    if first is None:
        out = [f"  |{line}" for line in shown]
    else:
        out = [f"{'!' if n in differ else ' '} {first + n:>5} |{line}" for n, line in enumerate(shown)]
    if len(lines) > _SHOW:
        out.append(f"  ... ({len(lines) - _SHOW} more)")
    return "\n".join(out)


def closest_window(lines: Sequence[str], pattern: Sequence[str], cursor: int = 0) -> int:
    """Start of the window of `lines` that shares the most (normalised) lines with `pattern`, in
    time linear in the file: each file line votes for the windows it would sit in. Without any
    shared line, fall back to the line most similar to the pattern's first non-blank line."""
    where: dict[str, list[int]] = {}
    for k, p in enumerate(pattern):
        key = normalise(p)
        if key:
            where.setdefault(key, []).append(k)
    votes: dict[int, int] = {}
    for i, line in enumerate(lines):
        for k in where.get(normalise(line), ()):
            if i - k >= 0:
                votes[i - k] = votes.get(i - k, 0) + 1
    if votes:
        # Most votes; on ties prefer a window at or after the cursor, then the earliest.
        return min(votes, key=lambda s: (-votes[s], s < cursor, s))
    return _most_similar_line(lines, pattern)


def _most_similar_line(lines: Sequence[str], pattern: Sequence[str]) -> int:
    import difflib  # only on this error path: keep the import out of the fast path

    target = next((normalise(p) for p in pattern if p.strip()), "")
    best, best_ratio = 0, -1.0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    for i, line in enumerate(lines[:20000]):
        matcher.set_seq1(normalise(line))
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    return best
