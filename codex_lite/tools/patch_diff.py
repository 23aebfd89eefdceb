"""Unified diffs of what a patch did, for the REPL's diff view and the file_change event.

The engine already knows which lines each chunk replaced, so the diff is built from those
replacements instead of asking difflib to rediscover them: on a 50,000-line file difflib's matcher
takes seconds on a laptop (minutes on a router), the replacements take milliseconds. difflib is
still used, lazily, for grouping changes into hunks, and to compare whole files when an Add File
overwrites an existing one.
"""

from __future__ import annotations

Opcode = tuple[str, int, int, int, int]  # (tag, i1, i2, j1, j2), as difflib.SequenceMatcher


def opcodes_from_replacements(old_len: int, replacements: list[tuple[int, int, list]]) -> list[Opcode]:
    """Opcodes turning the old lines into the new ones, from `patch_match.apply_chunks` output,
    where an int item of a replacement is an old line kept as it is and a str a new line."""
    ops: list[Opcode] = []
    i = j = 0
    for start, length, items in replacements:
        if start > i:
            ops.append(("equal", i, start, j, j + start - i))
            j += start - i
        o = start
        for item in items:
            if isinstance(item, int):
                if item > o:
                    ops.append(("delete", o, item, j, j))
                ops.append(("equal", item, item + 1, j, j + 1))
                o = item + 1
            else:
                ops.append(("insert", o, o, j, j + 1))
            j += 1
        if start + length > o:
            ops.append(("delete", o, start + length, j, j))
        i = start + length
    if old_len > i:
        ops.append(("equal", i, old_len, j, j + old_len - i))
    return _merge(ops)


def _merge(ops: list[Opcode]) -> list[Opcode]:
    """Join neighbouring equal opcodes, and each run of changes into one replace/delete/insert."""
    out: list[Opcode] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if out and (out[-1][0] == "equal") == (op[0] == "equal"):
            prev = out.pop()
            op = (op[0], prev[1], op[2], prev[3], op[4])
        if op[0] != "equal":
            op = (_change_tag(op),) + op[1:]
        out.append(op)
    return out


def _change_tag(op: Opcode) -> str:
    if op[1] == op[2]:
        return "insert"
    return "delete" if op[3] == op[4] else "replace"


def whole_file_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """Opcodes for files without replacements to go by: an add, a delete, or an overwrite."""
    if not a or not b:
        return [("insert" if b else "delete", 0, len(a), 0, len(b))] if (a or b) else []
    import difflib  # rare path: an Add File over an existing file

    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def split_final_lines(ops: list[Opcode], a_len: int, b_len: int, a_marked: bool,
                      b_marked: bool) -> list[Opcode]:
    """A last line without newline carries diff's '\\ No newline at end of file' marker, so it is
    not 'equal' to a line that has one: split such a pair out of its equal opcode."""
    out: list[Opcode] = []
    for op in ops:
        tag, i1, i2, j1, j2 = op
        if tag == "equal" and (a_marked and i2 == a_len) != (b_marked and j2 == b_len):
            if i2 - 1 > i1:
                out.append(("equal", i1, i2 - 1, j1, j2 - 1))
            out.append(("replace", i2 - 1, i2, j2 - 1, j2))
        else:
            out.append(op)
    return _merge(out)


def unified_diff(a: list[str], b: list[str], ops: list[Opcode], from_name: str, to_name: str,
                 context: int = 3) -> str:
    """A unified diff of lines `a` -> `b` (each ending with a newline) described by `ops`."""
    import difflib  # for its hunk grouping only; cheap once imported, and only after a patch

    if not any(op[0] != "equal" for op in ops):
        return ""
    matcher = difflib.SequenceMatcher(None, (), ())
    matcher.opcodes = list(ops)  # get_grouped_opcodes() reuses (and edits) precomputed opcodes
    out = [f"--- {from_name}\n", f"+++ {to_name}\n"]
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in a[i1:i2])
                continue
            out.extend("-" + line for line in a[i1:i2])
            out.extend("+" + line for line in b[j1:j2])
    return "".join(out)


def _range(start: int, stop: int) -> str:
    """A hunk range the way diff writes it: 'start,length', 1-based, 'start' alone for one line."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"
