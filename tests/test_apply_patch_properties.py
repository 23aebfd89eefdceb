"""Property tests of the apply_patch engine (hypothesis).

1. For a random file and a random edit of it, a patch generated from the two (the way a model
   would write it: `@@` chunks with context, sometimes `@@ line` headers, `*** End of File`, blank
   context lines without their space) applied to the original gives the edited file, byte for byte,
   with LF or CRLF endings and with or without a final newline.
2. A patch with one bad operation, anywhere among good ones, leaves the tree byte-identical.
3. Any text at all either applies or raises PatchError; it never crashes and never half-applies.
4. The diff of an update is a correct unified diff; a heredoc is read exactly as bash reads it.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codex_lite.tools.apply_patch import PatchError, apply_patch, patch_from_argv

# APPLY_PATCH_EXAMPLES=5000 for a deeper run than the default.
SETTINGS = settings(max_examples=int(os.environ.get("APPLY_PATCH_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Line text: no newlines or CRs; no '*' or '@' so that no line reads as a patch marker. Unicode,
# typographic quotes and odd spaces are in, to exercise the exact pass against the looser ones.
CHARS = st.sampled_from(list("abcxyz019 \t_-=(){}:;.,'\"éß日本\u2019\u201c\u00a0😀"))
LINE = st.text(CHARS, max_size=12)


def snapshot(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def render(lines: list[str], eol: str, final_newline: bool) -> bytes:
    text = eol.join(lines) + (eol if final_newline and lines else "")
    return text.encode("utf-8")


@st.composite
def file_and_edit(draw):
    """(original lines, edited lines): unique lines, so that every chunk has one place to go."""
    original = draw(st.lists(LINE, max_size=30, unique=True))
    edited = list(original)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(0, len(edited)))
        if op == "insert" or not edited or pos == len(edited):
            edited.insert(pos, draw(LINE))
        elif op == "delete":
            del edited[pos]
        else:
            edited[pos] = draw(LINE)
    return original, edited


def make_patch(draw, path: str, a: list[str], b: list[str]) -> str:
    """An Update operation turning lines `a` into lines `b`, written like a model would."""
    context = draw(st.integers(1, 3))
    out = [f"*** Update File: {path}"]
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first = group[0][1]
        header = "@@"
        if first > 0 and draw(st.booleans()) and a[first - 1].strip():
            header = "@@ " + a[first - 1]
        out.append(header)
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_context_line(draw, line) for line in a[i1:i2])
                continue
            out.extend("-" + line for line in a[i1:i2])
            out.extend("+" + line for line in b[j1:j2])
        if group[-1][2] == len(a) and draw(st.booleans()):
            out.append("*** End of File")
    return "\n".join(out) + "\n"


def _context_line(draw, line: str) -> str:
    """A context line; an empty one is sometimes written without its leading space."""
    if line == "" and draw(st.booleans()):
        return ""
    return " " + line


@SETTINGS
@given(st.data(), file_and_edit(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_patch_gives_edited_file(data, pair, eol, final_newline):
    original, edited = pair
    assume(original != edited)
    # A file whose last line is empty cannot tell "no final newline" from "final newline".
    assume(not (original and original[-1] == "") and not (edited and edited[-1] == ""))
    patch = "*** Begin Patch\n" + make_patch(data.draw, "f.txt", original, edited) + "*** End Patch\n"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp, "f.txt")
        target.write_bytes(render(original, eol, final_newline))
        apply_patch(patch, tmp)
        # A file with no line ending at all gets LF; an empty file gets a final newline.
        has_ending = len(original) > 1 or (original and final_newline)
        expected_eol = eol if has_ending else "\n"
        expected_final = final_newline or not original
        assert target.read_bytes() == render(edited, expected_eol, expected_final), patch
        assert os.listdir(tmp) == ["f.txt"]


def apply_unified(old: list[str], diff: str) -> list[str]:
    """Apply a unified diff to lines (a small, strict `patch`): every hunk's header numbers and its
    context and removed lines are checked against the old lines."""
    out: list[str] = []
    at = 0
    rows = diff.split("\n")[2:] if diff else []
    k = 0
    while k < len(rows):
        header = rows[k]
        if not header:
            k += 1
            continue
        assert header.startswith("@@ -"), header
        old_range = header.split()[1][1:]
        start, _, length = old_range.partition(",")
        length = int(length) if length else 1
        start = int(start) - (1 if length else 0)
        out.extend(old[at:start])
        at = start
        k += 1
        while k < len(rows) and rows[k][:1] in (" ", "-", "+", "\\"):
            tag, text = rows[k][:1], rows[k][1:]
            if tag in " -":
                assert old[at] == text, (old[at], text)
                at += 1
            if tag in " +":
                out.append(text)
            k += 1
        assert at == start + length
    return out + old[at:]


@SETTINGS
@given(st.data(), file_and_edit(), st.booleans())
def test_diff_of_an_update_turns_old_into_new(data, pair, final_newline):
    """The diff built from the replacements is a correct unified diff of the file."""
    original, edited = pair
    assume(original != edited)
    assume(not (original and original[-1] == "") and not (edited and edited[-1] == ""))
    patch = "*** Begin Patch\n" + make_patch(data.draw, "f.txt", original, edited) + "*** End Patch\n"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "f.txt").write_bytes(render(original, "\r\n", final_newline))
        diff = apply_patch(patch, tmp).changes[0].diff
    assert apply_unified(original, diff) == edited, diff
    marker = "\\ No newline at end of file" in diff
    if final_newline:
        assert not marker
    elif original and original[-1:] != edited[-1:]:
        assert marker  # the last line changed, so the hunk shows it with diff's marker


def first_exact(lines: list[str], pattern: list[str], start: int) -> int | None:
    for i in range(start, len(lines) - len(pattern) + 1):
        if lines[i:i + len(pattern)] == pattern:
            return i
    return None


def chunks_land_where_meant(a: list[str], b: list[str], context: int) -> bool:
    """Whether, moving forward like the engine does, every chunk's old lines are first found
    exactly where the diff means them (with repeated lines a chunk may be ambiguous)."""
    cursor = 0
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        start, end = group[0][1], group[-1][2]
        if start == end:
            return start == len(a)  # pure insertion without old lines: appended at the end
        if first_exact(a, a[start:end], cursor) != start:
            return False
        cursor = end
    return True


@SETTINGS
@given(st.lists(st.sampled_from(["", "x", "y", "  x", "}"]), max_size=25),
       st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["", "x", "z", "}"]), st.booleans()),
                max_size=5),
       st.integers(1, 3))
def test_repeated_lines_apply_forward(original, edits, context):
    """Files full of repeated lines (braces, blank lines): forward matching puts each chunk at the
    first place after the previous one, which is where the diff meant it whenever that is the first
    exact occurrence."""
    edited = list(original)
    for pos, line, insert in edits:
        pos = min(pos, len(edited))
        if insert or pos == len(edited):
            edited.insert(pos, line)
        else:
            edited[pos] = line
    assume(original != edited and chunks_land_where_meant(original, edited, context))
    out = ["*** Update File: r.txt"]
    for group in difflib.SequenceMatcher(None, original, edited, autojunk=False).get_grouped_opcodes(context):
        out.append("@@")
        for tag, i1, i2, j1, j2 in group:
            out.extend(" " + line for line in original[i1:i2] if tag == "equal")
            if tag != "equal":
                out.extend("-" + line for line in original[i1:i2])
                out.extend("+" + line for line in edited[j1:j2])
    patch = "*** Begin Patch\n" + "\n".join(out) + "\n*** End Patch\n"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp, "r.txt")
        target.write_bytes(render(original, "\n", True))
        apply_patch(patch, tmp)
        assert target.read_bytes() == render(edited, "\n", True), patch


@st.composite
def tree_and_patch_with_one_bad_operation(draw):
    """A small tree, and a patch of good operations with one bad one inserted somewhere."""
    names = draw(st.lists(st.sampled_from(["a.txt", "b.txt", "c/d.txt", "c/e.txt", "f.md"]),
                          min_size=1, max_size=5, unique=True))
    files = {name: draw(st.lists(LINE, min_size=1, max_size=8, unique=True)) for name in names}
    ops = []
    for name, lines in files.items():
        kind = draw(st.sampled_from(["update", "delete", "move"]))
        if kind == "delete":
            ops.append(f"*** Delete File: {name}\n")
        else:
            edited = lines + [draw(LINE)]
            op = make_patch(draw, name, lines, edited)
            if kind == "move":
                op = op.replace("\n", f"\n*** Move to: moved/{name}\n", 1)
            ops.append(op)
    ops.append("*** Add File: new/added.txt\n+added\n")
    bad = draw(st.sampled_from([
        "*** Update File: missing.txt\n@@\n-x\n+y\n",
        "*** Delete File: missing.txt\n",
        "*** Add File: ../escape.txt\n+x\n",
        "*** Add File: /tmp/escape.txt\n+x\n",
        f"*** Update File: {names[0]}\n@@\n-this line is not in the file\n+x\n",
        f"*** Update File: {names[0]}\n*** Move to: ../out.txt\n@@\n+x\n",
        "*** Add File: c\n+a folder is in the way\n" if any(n.startswith("c/") for n in names)
        else "*** Update File: c\n@@\n+x\n",
    ]))
    ops.insert(draw(st.integers(0, len(ops))), bad)
    return files, "*** Begin Patch\n" + "".join(ops) + "*** End Patch\n"


@SETTINGS
@given(tree_and_patch_with_one_bad_operation(), st.sampled_from(["\n", "\r\n"]))
def test_failing_patch_leaves_tree_byte_identical(case, eol):
    files, patch = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "root")
        for name, lines in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(render(lines, eol, True))
        before = snapshot(root)
        try:
            apply_patch(patch, str(root))
        except PatchError as exc:
            assert "nothing was changed" in str(exc)
        else:
            raise AssertionError("a patch with a bad operation applied:\n" + patch)
        assert snapshot(root) == before
        assert sorted(os.listdir(tmp)) == ["root"]
        assert sorted(p.name for p in root.iterdir()) == sorted({n.split("/")[0] for n in files})


PIECES = st.sampled_from([
    "*** Begin Patch", "*** End Patch", "*** Add File: a.txt", "*** Add File: n/x.txt",
    "*** Delete File: a.txt", "*** Update File: a.txt", "*** Move to: b.txt", "*** Move to: ../z",
    "*** End of File", "@@", "@@ one", "@@ -1,2 +1,2 @@", " one", "-one", "+uno", "-two", " two",
    "+", "", " ", "<<'EOF'", "EOF", "garbage", "+\u2019", "\r",
])


@SETTINGS
@given(st.lists(PIECES, max_size=14), st.booleans())
def test_any_text_applies_or_raises_patch_error(pieces, wrap):
    text = "\n".join(pieces)
    if wrap:
        text = "*** Begin Patch\n" + text + "\n*** End Patch"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "root")
        root.mkdir()
        (root / "a.txt").write_bytes(b"one\ntwo\nthree\n")
        before = snapshot(root)
        try:
            apply_patch(text, str(root))
        except PatchError:
            assert snapshot(root) == before
        assert sorted(os.listdir(tmp)) == ["root"]
        assert not any(".apply_patch.tmp" in name for name in snapshot(root))


BODY_LINE = st.text(st.sampled_from(list("ab $`\\'\"\t!-+ *@EOF")), max_size=10)


@settings(max_examples=60, deadline=None)
@given(st.lists(BODY_LINE, max_size=8), st.sampled_from(["'EOF'", '"EOF"', "'PATCH'"]),
       st.sampled_from(["", "cd sub && "]))
def test_heredoc_extraction_matches_bash(lines, delimiter, cd):
    """What patch_from_argv takes out of `bash -lc "apply_patch <<'EOF' ..."` is exactly what bash
    would feed to apply_patch on stdin (quoted delimiters: no expansion). One leniency of ours is
    left out: a delimiter line with trailing whitespace (or a CR) also ends our heredoc."""
    word = delimiter.strip("'\"")
    assume(all(line.rstrip() != word for line in lines))
    body = "\n".join(lines) + "\n" if lines else ""
    script = f"{cd}apply_patch <<{delimiter}\n{body}{word}\n"
    found = patch_from_argv(["bash", "-lc", script])
    assert found is not None
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "sub").mkdir()
        fed = subprocess.run(["bash", "-c", "apply_patch() { cat; }\n" + script], cwd=tmp,
                             capture_output=True, check=True).stdout.decode()
    assert found == (fed, "sub" if cd else None)
