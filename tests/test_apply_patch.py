"""Unit tests of the apply_patch engine's API: results, diffs, events, recognition of patches sent
through the shell tool, full access, the size cap, rollback when the disk fails, import cost."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codex_lite.events import FileChange
from codex_lite.tools import patch_fs
from codex_lite.tools.apply_patch import (
    BARE_PATCH_HINT,
    MAX_FILE_BYTES,
    PatchChange,
    PatchError,
    PatchResult,
    apply_patch,
    failed_event,
    looks_like_bare_patch,
    parse_patch,
    patch_from_arguments,
    patch_from_argv,
)
from codex_lite.tools.patch_invocation import patch_only
from codex_lite.tools.patch_parse import PatchSyntaxError

PATCH = "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-two\n+TWO\n*** End Patch\n"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("one\ntwo\nthree\n")
    return work


# ---- results ----------------------------------------------------------------------------------

def test_summary_is_codex_text(root: Path):
    patch = ("*** Begin Patch\n*** Add File: new.txt\n+n\n*** Update File: a.txt\n@@\n-one\n+1\n"
             "*** Delete File: new.txt\n*** End Patch")
    result = apply_patch(patch, str(root))
    assert result.summary() == "Success. Updated the following files:\nA new.txt\nM a.txt\nD new.txt"
    assert tree(root) == {"a.txt": b"1\ntwo\nthree\n"}


def test_update_change_has_unified_diff(root: Path):
    result = apply_patch(PATCH, str(root))
    assert result.changes == [PatchChange("a.txt", "update", None, result.changes[0].diff)]
    assert result.changes[0].diff == (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n")


def test_move_reports_destination_and_source(root: Path):
    patch = "*** Begin Patch\n*** Update File: a.txt\n*** Move to: b/c.txt\n@@\n-one\n+1\n*** End Patch"
    change = apply_patch(patch, str(root)).changes[0]
    assert (change.path, change.kind, change.move_from) == ("b/c.txt", "update", "a.txt")
    assert change.diff.startswith("--- a/a.txt\n+++ b/b/c.txt\n")
    assert tree(root) == {"b/c.txt": b"1\ntwo\nthree\n"}


def test_move_onto_itself_is_a_plain_update(root: Path):
    patch = "*** Begin Patch\n*** Update File: a.txt\n*** Move to: ./a.txt\n@@\n-one\n+1\n*** End Patch"
    change = apply_patch(patch, str(root)).changes[0]
    assert (change.path, change.move_from) == ("a.txt", None)
    assert tree(root) == {"a.txt": b"1\ntwo\nthree\n"}


def test_add_and_delete_diffs_use_dev_null(root: Path):
    patch = "*** Begin Patch\n*** Add File: n.txt\n+hi\n*** Delete File: a.txt\n*** End Patch"
    add, delete = apply_patch(patch, str(root)).changes
    assert add.diff.startswith("--- /dev/null\n+++ b/n.txt\n")
    assert delete.diff.startswith("--- a/a.txt\n+++ /dev/null\n")
    assert "-three\n" in delete.diff


def test_diff_marks_missing_final_newline(root: Path):
    (root / "f.txt").write_text("x\ny")
    patch = "*** Begin Patch\n*** Update File: f.txt\n@@\n x\n-y\n+z\n*** End Patch"
    diff = apply_patch(patch, str(root)).changes[0].diff
    assert "-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n" in diff
    assert (root / "f.txt").read_bytes() == b"x\nz"


def test_events(root: Path):
    result = apply_patch(PATCH, str(root))
    event = result.to_event("call_1")
    assert isinstance(event, FileChange)
    assert event.to_dict()["event"] == "file_change"
    assert (event.call_id, event.status, event.changes) == ("call_1", "completed",
                                                            [{"path": "a.txt", "kind": "update"}])
    assert event.diff == result.diff()
    failed = failed_event(PATCH, "call_2")
    assert (failed.status, failed.changes) == ("failed", [{"path": "a.txt", "kind": "update"}])
    assert failed_event("garbage").changes == []


def test_result_dataclass_defaults():
    assert PatchResult().changes == []
    assert PatchChange("p", "add").move_from is None


def test_file_mode_is_kept(root: Path):
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho a\n")
    script.chmod(0o755)
    apply_patch("*** Begin Patch\n*** Update File: run.sh\n@@\n-echo a\n+echo b\n*** End Patch", str(root))
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert script.read_text() == "#!/bin/sh\necho b\n"


def test_relative_root_and_unchanged_file(root: Path, monkeypatch):
    monkeypatch.chdir(root.parent)
    noop = "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n*** End Patch"
    assert apply_patch(noop, "work").summary().endswith("M a.txt")
    assert (root / "a.txt").read_text() == "one\ntwo\nthree\n"


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   \n", "*** Begin Patch\n*** End Patch"])
def test_empty_patches_are_errors(root: Path, text: str):
    with pytest.raises(PatchError, match="nothing was changed"):
        apply_patch(text, str(root))


def test_mismatch_error_names_operation_file_and_lines(root: Path):
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-TWO\n+2\n three\n*** End Patch"
    with pytest.raises(PatchError) as caught:
        apply_patch(patch, str(root))
    message = str(caught.value)
    assert "Operation 1 of 1, 'Update File: a.txt'" in message
    assert "  |TWO" in message                       # the lines that did not match
    assert "      1 |one\n!     2 |two\n      3 |three" in message  # closest lines, ! = differs


def test_closest_lines_found_without_any_shared_line(root: Path):
    (root / "c.py").write_text("def alpha():\n    return 1\n\ndef gamma():\n    return 3\n")
    patch = "*** Begin Patch\n*** Update File: c.py\n@@\n-def gama():\n+def g():\n*** End Patch"
    with pytest.raises(PatchError) as caught:
        apply_patch(patch, str(root))
    assert "!     4 |def gamma():" in str(caught.value)


def test_error_on_large_file_is_fast(root: Path):
    big = "".join(f"line number {i} of the file\n" for i in range(40000))
    (root / "big.txt").write_text(big)
    patch = ("*** Begin Patch\n*** Update File: big.txt\n@@\n" +
             "".join(f" line number {i} of the fyle\n" for i in range(100, 130)) + "+x\n*** End Patch")
    started = time.monotonic()
    with pytest.raises(PatchError, match="Closest lines"):
        apply_patch(patch, str(root))
    assert time.monotonic() - started < 10


# ---- parsing details ---------------------------------------------------------------------------

def test_parse_unified_diff_header_keeps_its_context():
    ops = parse_patch("*** Begin Patch\n*** Update File: f.py\n@@ -3,2 +3,2 @@ def f():\n-a\n+b\n*** End Patch")
    assert ops[0].chunks[0].context == "def f():"
    ops = parse_patch("*** Begin Patch\n*** Update File: f.py\n@@ -x is odd @@\n-a\n+b\n*** End Patch")
    assert ops[0].chunks[0].context == "-x is odd @@"


def test_parse_error_line_numbers_count_the_wrapper():
    text = "\n\n<<'EOF'\n*** Begin Patch\n*** Update File: x\n@@\nbad\n*** End Patch\nEOF\n"
    with pytest.raises(PatchSyntaxError, match="^line 7: unexpected line"):
        parse_patch(text)


def test_parse_add_file_content_and_binary_delete_diff(root: Path):
    ops = parse_patch("*** Begin Patch\n*** Add File: e.txt\n*** Add File: f.txt\n+a\n+\n*** End Patch")
    assert [op.content for op in ops] == ["", "a\n\n"]
    (root / "b.bin").write_bytes(b"\0\1")
    change = apply_patch("*** Begin Patch\n*** Delete File: b.bin\n*** End Patch", str(root)).changes[0]
    assert change.diff == "Binary file a/b.bin deleted\n"


def test_missing_root_is_an_error(tmp_path: Path):
    with pytest.raises(PatchError, match="is not an existing folder"):
        apply_patch(BODY, str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()


# ---- confinement and full access ---------------------------------------------------------------

def test_full_access_allows_paths_outside(root: Path):
    outside = root.parent / "outside.txt"
    patch = f"*** Begin Patch\n*** Add File: {outside}\n+o\n*** Add File: ../rel.txt\n+r\n*** End Patch"
    with pytest.raises(PatchError, match="absolute paths are not allowed"):
        apply_patch(patch, str(root))
    assert not outside.exists()
    result = apply_patch(patch, str(root), allow_outside=True)
    assert outside.read_text() == "o\n"
    assert (root.parent / "rel.txt").read_text() == "r\n"
    assert result.changes[0].path == str(outside)


def test_full_access_follows_symlinks_out(root: Path):
    (root.parent / "elsewhere").mkdir()
    os.symlink("../elsewhere", root / "link")
    patch = "*** Begin Patch\n*** Add File: link/x.txt\n+x\n*** End Patch"
    with pytest.raises(PatchError, match="symlink"):
        apply_patch(patch, str(root))
    apply_patch(patch, str(root), allow_outside=True)
    assert (root.parent / "elsewhere" / "x.txt").read_text() == "x\n"


def test_cwd_resolves_paths_but_root_confines_them(root: Path):
    (root / "sub").mkdir()
    patch = ("*** Begin Patch\n*** Add File: here.txt\n+h\n*** Update File: ../a.txt\n@@\n-one\n+1\n"
             "*** End Patch")
    result = apply_patch(patch, str(root), cwd=str(root / "sub"))
    assert [c.path for c in result.changes] == ["here.txt", "../a.txt"]
    assert tree(root) == {"a.txt": b"1\ntwo\nthree\n", "sub/here.txt": b"h\n"}
    escape = "*** Begin Patch\n*** Add File: ../../x.txt\n+x\n*** End Patch"
    with pytest.raises(PatchError, match="outside the workspace root"):
        apply_patch(escape, str(root), cwd="sub")           # relative cwd: against root
    with pytest.raises(PatchError, match="outside the workspace root"):
        apply_patch(BODY, str(root), cwd=str(root.parent))  # a cwd outside the root
    with pytest.raises(PatchError, match="not an existing folder"):
        apply_patch(BODY, str(root), cwd=str(root / "nope"))


def test_root_given_through_a_symlink(root: Path):
    alias = root.parent / "alias"
    os.symlink(root, alias)
    apply_patch(PATCH, str(alias))
    assert (root / "a.txt").read_text() == "one\nTWO\nthree\n"


# ---- size cap ---------------------------------------------------------------------------------

def test_size_cap_constant():
    assert MAX_FILE_BYTES == patch_fs.MAX_FILE_BYTES == 2 * 1024 * 1024


def test_file_over_size_cap_is_refused(root: Path, monkeypatch):
    monkeypatch.setattr(patch_fs, "MAX_FILE_BYTES", 10)
    (root / "a.txt").write_text("one\ntwo\nthree\n")
    with pytest.raises(PatchError, match="over the 10 byte limit"):
        apply_patch(PATCH, str(root))
    with pytest.raises(PatchError, match="would be 12 bytes, over the 10 byte limit"):
        apply_patch("*** Begin Patch\n*** Add File: b.txt\n+hello world\n*** End Patch", str(root))
    assert tree(root) == {"a.txt": b"one\ntwo\nthree\n"}


# ---- all or nothing when the disk fails --------------------------------------------------------

def test_failure_while_renaming_rolls_back(root: Path, monkeypatch):
    (root / "b.txt").write_text("b\n")
    before = tree(root)
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    patch = ("*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+1\n*** Delete File: b.txt\n"
             "*** Add File: new/dir/c.txt\n+c\n*** Add File: d.txt\n+d\n*** End Patch")
    with pytest.raises(PatchError, match="No space left on device"):
        apply_patch(patch, str(root))
    assert tree(root) == before
    assert sorted(os.listdir(root)) == ["a.txt", "b.txt"]  # no temp files, no new folders


def test_failure_while_writing_temp_files_changes_nothing(root: Path, monkeypatch):
    before = tree(root)
    real_fsync = os.fsync
    count = []

    def failing_fsync(fd):
        count.append(fd)
        if len(count) == 2:
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    patch = "*** Begin Patch\n*** Add File: x/y.txt\n+y\n*** Add File: z.txt\n+z\n*** End Patch"
    with pytest.raises(PatchError, match="Input/output error"):
        apply_patch(patch, str(root))
    assert tree(root) == before
    assert sorted(os.listdir(root)) == ["a.txt"]


def test_ctrl_c_while_renaming_rolls_back(root: Path, monkeypatch):
    (root / "b.txt").write_text("b\n")
    before = tree(root)
    real_replace = os.replace
    calls = []

    def interrupted_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_replace)
    patch = "*** Begin Patch\n*** Add File: a.txt\n+A\n*** Add File: b.txt\n+B\n*** End Patch"
    with pytest.raises(KeyboardInterrupt):
        apply_patch(patch, str(root))
    assert tree(root) == before
    assert sorted(os.listdir(root)) == ["a.txt", "b.txt"]


KILLED_HALF_WAY = """
import os, sys
from codex_lite.tools.apply_patch import apply_patch
real_replace = os.replace
calls = []
def dying_replace(src, dst):
    calls.append(dst)
    if len(calls) == 2:
        os._exit(9)          # killed between two renames: no rollback, no cleanup
    real_replace(src, dst)
os.replace = dying_replace
apply_patch(sys.argv[2], sys.argv[1], journal_dir=sys.argv[3])
"""


def test_process_killed_half_way_is_finished_by_the_next_patch(root: Path, tmp_path: Path):
    (root / "b.txt").write_text("b\n")
    (root / "c.txt").write_text("c\n")
    journals = tmp_path / "journals"
    patch = ("*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+1\n*** Add File: n/new.txt\n+new\n"
             "*** Delete File: b.txt\n*** End Patch")
    done = subprocess.run([sys.executable, "-c", KILLED_HALF_WAY, str(root), patch, str(journals)],
                          check=False, cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    assert os.path.exists(patch_fs.journal_path(str(journals), str(root)))
    assert not [p for p in os.listdir(root) if "journal" in p]  # never in the workspace
    assert (root / "a.txt").read_text() == "1\ntwo\nthree\n"   # half applied for now
    assert (root / "b.txt").exists()
    follow_up = "*** Begin Patch\n*** Update File: c.txt\n@@\n-c\n+C\n*** End Patch"
    apply_patch(follow_up, str(root), journal_dir=str(journals))
    assert tree(root) == {"a.txt": b"1\ntwo\nthree\n", "n/new.txt": b"new\n", "c.txt": b"C\n"}
    assert sorted(os.listdir(root)) == ["a.txt", "c.txt", "n"]
    assert os.listdir(journals) == []

def test_incomplete_journal_is_rolled_back(root: Path, tmp_path: Path):
    real = Path(os.path.realpath(root))
    tmp = real / ".a.txt.apply_patch.tmp"
    tmp.write_text("never renamed\n")
    journals = tmp_path / "journals"
    journals.mkdir()
    Path(patch_fs.journal_path(str(journals), str(root))).write_bytes(
        f"ROOT\0{real}\0\nR\0{tmp}\0{real / 'a.txt'}\0\nD\0{real / 'a.txt'}".encode())  # cut short: no END
    assert patch_fs.recover(str(root), str(journals)) is True
    assert tree(root) == {"a.txt": b"one\ntwo\nthree\n"}
    assert sorted(os.listdir(root)) == ["a.txt"]
    assert patch_fs.recover(str(root), str(journals)) is False


def test_a_journal_file_in_the_workspace_is_never_read(root: Path, tmp_path: Path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (root / ".codex-lite-patch.journal").write_bytes(f"D\0{outside}\0\nEND\0\n".encode())
    apply_patch("*** Begin Patch\n*** Add File: b.txt\n+b\n*** End Patch", str(root),
                journal_dir=str(tmp_path / "journals"))
    assert outside.read_text() == "keep\n"
    assert (root / ".codex-lite-patch.journal").exists()


def test_full_access_writes_outside_the_root_go_without_a_journal(root: Path, tmp_path: Path, monkeypatch):
    """recover would refuse paths outside the root, so none is written for them: the in-memory
    rollback still covers an error, only a killed process is not covered."""
    journals = tmp_path / "journals"
    written = []
    real_replace = os.replace

    def spy(src, dst):
        written.append(os.listdir(journals) if journals.exists() else [])
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    patch = (f"*** Begin Patch\n*** Add File: {tmp_path / 'elsewhere.txt'}\n+x\n*** Add File: in.txt\n+y\n"
             "*** End Patch")
    apply_patch(patch, str(root), allow_outside=True, journal_dir=str(journals))
    assert (tmp_path / "elsewhere.txt").read_text() == "x\n" and written == [[], []]
    apply_patch("*** Begin Patch\n*** Add File: in2.txt\n+y\n*** Add File: in3.txt\n+z\n*** End Patch",
                str(root), journal_dir=str(journals))
    assert written[-1] == [os.path.basename(patch_fs.journal_path(str(journals), str(root)))]


# ---- recognising patches sent through the shell tool -------------------------------------------

BODY = "*** Begin Patch\n*** Add File: x\n+x\n*** End Patch"


@pytest.mark.parametrize("argv, expected", [
    (["apply_patch", BODY], (BODY, None)),
    (["applypatch", BODY], (BODY, None)),
    (["bash", "-lc", f"apply_patch <<'EOF'\n{BODY}\nEOF\n"], (BODY + "\n", None)),
    (["bash", "-c", f"apply_patch <<EOF\n{BODY}\nEOF"], (BODY + "\n", None)),
    (["sh", "-c", f'apply_patch <<"PATCH"\n{BODY}\nPATCH\n'], (BODY + "\n", None)),
    (["ash", "-lc", f"applypatch <<-'END'\n{BODY}\n\tEND\n"], (BODY + "\n", None)),
    (["/bin/zsh", "-lc", f"apply_patch << 'EOF'\n{BODY}\nEOF"], (BODY + "\n", None)),
    (["bash", "-l", "-c", f"apply_patch <<'EOF'\n{BODY}\nEOF"], (BODY + "\n", None)),
    (["bash", "-lc", f"cd src && apply_patch <<'EOF'\n{BODY}\nEOF\n"], (BODY + "\n", "src")),
    (["bash", "-lc", f"cd 'my dir' && apply_patch <<'EOF'\n{BODY}\nEOF"], (BODY + "\n", "my dir")),
    (["bash", "-lc", f'cd "/abs/path"&&apply_patch <<EOF\n{BODY}\nEOF'], (BODY + "\n", "/abs/path")),
    (["bash", "-lc", f"  apply_patch '{BODY}'"], (BODY, None)),
    (["bash", "-lc", "apply_patch <<'EOF'\n*** Begin Patch\n@@\n EOF\n*** End Patch\nEOF\r\n"],
     ("*** Begin Patch\n@@\n EOF\n*** End Patch\n", None)),
])
def test_patch_from_argv_recognises(argv, expected):
    assert patch_from_argv(argv) == expected


@pytest.mark.parametrize("argv", [
    [], ["apply_patch"], ["ls", "-la"], ["bash", "-lc", "echo hi"], ["python3", "-c", BODY],
    ["bash", "-lc", f"apply_patch <<'EOF'\n{BODY}\nEOF\necho done"],  # does more than patch
    ["bash", "-lc", f"apply_patch <<'EOF'\n{BODY}\n"],                 # heredoc never closed
    ["bash", "-x", f"apply_patch <<'EOF'\n{BODY}\nEOF"],
    ["bash", "-lc", f"apply_patcher <<'EOF'\n{BODY}\nEOF"],
    ["bash", "-lc", f"cd && apply_patch <<'EOF'\n{BODY}\nEOF"],
    ["bash", "-lc", "apply_patch 'not a patch'"],
    "apply_patch", [1, 2],
])
def test_patch_from_argv_rejects(argv):
    assert patch_from_argv(argv) is None



@pytest.mark.parametrize("argv, expected", [
    (["apply_patch", BODY], BODY), (["applypatch", "  " + BODY], "  " + BODY), ([BODY], BODY),
    (["apply_patch", "not a patch"], None), ([BODY, "x"], None), (["ls"], None),
    (["bash", "-lc", f"apply_patch <<'EOF'\n{BODY}\nEOF"], None),  # the shell tool intercepts it
])
def test_patch_only_is_an_argv_that_is_nothing_but_a_patch(argv, expected):
    """What call normalisation turns into an apply_patch call when no workdir is given."""
    assert patch_only(argv) == expected

def test_recognised_patches_apply(root: Path):
    argv = ["bash", "-lc", f"cd sub && apply_patch <<'EOF'\n{BODY}\nEOF\n"]
    text, workdir = patch_from_argv(argv)
    (root / "sub").mkdir()
    apply_patch(text, str(root / workdir))
    assert (root / "sub" / "x").read_text() == "x\n"
    # GPT-4.1 style: the heredoc sent literally as the argument of apply_patch.
    text, _ = patch_from_argv(["apply_patch", f"<<'EOF'\n{BODY.replace('x', 'y')}\nEOF\n"])
    apply_patch(text, str(root))
    assert (root / "y").read_text() == "y\n"


@pytest.mark.parametrize("argv, bare", [
    ([BODY], True), (["  " + BODY], True), (BODY.split(), True),
    (["bash", "-lc", BODY], True), (["sh", "-c", "\n" + BODY], True),
    (["apply_patch", BODY], False), (["echo", BODY], False), ([], False), (["ls"], False),
    (["bash", "-lc", f"apply_patch <<'EOF'\n{BODY}\nEOF"], False),
])
def test_looks_like_bare_patch(argv, bare):
    assert looks_like_bare_patch(argv) is bare


@pytest.mark.parametrize("arguments, expected", [
    ({"input": BODY}, BODY), ({"patch": BODY}, BODY), (BODY, BODY), ({"whatever": BODY}, BODY),
    ({"input": 3}, None), ({}, None), (None, None), ({"a": BODY, "b": BODY}, None),
])
def test_patch_from_arguments(arguments, expected):
    assert patch_from_arguments(arguments) == expected


def test_bare_patch_hint_tells_how():
    assert "apply_patch" in BARE_PATCH_HINT and "not run" in BARE_PATCH_HINT


# ---- import cost (this runs on routers) ---------------------------------------------------------

def test_import_is_light():
    """difflib and shlex load only when needed; -S keeps site's own imports out of the picture
    (`re` comes with dataclasses, which the contract uses)."""
    code = ("import sys; import codex_lite.tools.apply_patch; "
            "print(sorted(m for m in ('difflib', 'shlex', 'tempfile', 'shutil') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"
