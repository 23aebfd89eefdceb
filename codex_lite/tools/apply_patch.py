"""The apply_patch engine: Codex's patch format, applied all or nothing inside the workspace.

    apply_patch(text, root, *, allow_outside=False, cwd=None, journal_dir=None) -> PatchResult
                                                  (raises PatchError)
    patch_from_argv(argv) -> tuple[str, str | None] | None
    looks_like_bare_patch(argv) -> bool          (the shell tool then answers BARE_PATCH_HINT)
    patch_from_arguments(arguments) -> str | None  (the function tool's {"input": PATCH}, leniently)
    PatchResult.to_event(call_id) / failed_event(text, call_id) -> events.FileChange
    MAX_FILE_BYTES    size cap (2 MiB) for files read or written; defined and documented in
                      patch_fs, whose value is the one used (change it there, e.g. in tests)

How a patch is applied:
1. Parse it (`patch_parse`): Add / Delete / Update [+ Move] operations, with Codex's leniency.
2. Verify every operation against a virtual view of the tree (`_Plan`): later operations see what
   earlier ones did, nothing touches the disk yet. Paths are confined to `root` (`patch_fs.resolve`),
   binary and oversized files are refused, chunks are located moving forward (`patch_match`).
3. Commit the final state of every touched file through temporary files and renames
   (`patch_fs.Commit`); on any error the files already replaced are restored.

Text is edited line by line, keeping each file's line endings (LF or CRLF, the majority wins for
lines the patch adds), its final-newline convention (a file without a final newline keeps having
none) and a UTF-8 byte order mark if it has one.

Modules: patch_parse (grammar), patch_match (locating chunks, error hints), patch_fs (confinement,
reading, atomic commit), patch_diff (unified diffs from the replacements), patch_invocation
(recognising patches sent through the shell tool).
"""

from __future__ import annotations

import os
from typing import Any

from codex_lite.records import dataclass, field
from codex_lite.tools.patch_diff import (
    Opcode,
    opcodes_from_replacements,
    split_final_lines,
    unified_diff,
    whole_file_opcodes,
)
from codex_lite.tools.patch_fs import (
    MAX_FILE_BYTES,
    Commit,
    FsError,
    check_size,
    check_writable_target,
    decode_text,
    read_bytes,
    recover,
    resolve,
)
from codex_lite.tools.patch_invocation import (
    BARE_PATCH_HINT,
    looks_like_bare_patch,
    patch_from_arguments,
    patch_from_argv,
)
from codex_lite.tools.patch_match import ChunkMismatch, apply_chunks, splice
from codex_lite.tools.patch_parse import Operation, PatchSyntaxError, parse_patch

__all__ = [
    "BARE_PATCH_HINT",
    "MAX_FILE_BYTES",
    "PatchChange",
    "PatchError",
    "PatchResult",
    "apply_patch",
    "failed_event",
    "looks_like_bare_patch",
    "parse_patch",
    "patch_from_arguments",
    "patch_from_argv",
]


class PatchError(Exception):
    """A patch that cannot be applied; the message is written for the model to act on. Nothing on
    disk was changed when this is raised."""


@dataclass
class PatchChange:
    path: str            # as written in the patch, relative to cwd or root (a move's destination)
    kind: str            # "add" | "delete" | "update"
    move_from: str | None = None
    diff: str = ""       # unified diff of this file, for the REPL's diff view


@dataclass
class PatchResult:
    changes: list[PatchChange] = field(default_factory=list)

    def summary(self) -> str:
        """Codex's success text: 'Success. Updated the following files:\\nA x\\nM y'."""
        letters = {"add": "A", "delete": "D", "update": "M"}
        lines = [f"{letters[c.kind]} {c.path}" for c in self.changes]
        return "Success. Updated the following files:\n" + "\n".join(lines)

    def diff(self) -> str:
        """All file diffs, in patch order, as one text."""
        return "".join(c.diff for c in self.changes)

    def event_changes(self) -> list[dict[str, Any]]:
        """The `changes` of a file_change event: [{"path", "kind"}], like `codex exec --json`."""
        return [{"path": c.path, "kind": c.kind} for c in self.changes]

    def to_event(self, call_id: str = "") -> Any:
        """A completed `events.FileChange` for this patch (the agent emits one per applied patch)."""
        from codex_lite.events import FileChange

        return FileChange(call_id=call_id, changes=self.event_changes(), status="completed",
                          diff=self.diff())


def failed_event(text: str, call_id: str = "") -> Any:
    """A failed `events.FileChange` for a patch that was refused, naming the files it tried to
    touch when the patch parses at all (the PatchError message itself goes to the model)."""
    from codex_lite.events import FileChange

    try:
        ops = parse_patch(text)
    except PatchSyntaxError:
        ops = []
    changes = [{"path": op.move_to or op.path, "kind": op.kind} for op in ops]
    return FileChange(call_id=call_id, changes=changes, status="failed", diff="")


_FAILED = "apply_patch failed; nothing was changed."


def apply_patch(text: str, root: str, *, allow_outside: bool = False,
                cwd: str | None = None, journal_dir: str | None = None,
                before_commit: Any = None) -> PatchResult:
    """Apply a Codex-format patch under the workspace `root` (absolute), all or nothing.

    Relative paths resolve against `cwd` when given (the folder of a `cd DIR && apply_patch`, or
    the shell call's workdir), else against `root`; either way they must stay inside `root`.
    `allow_outside=True` (sandbox danger-full-access) lifts the confinement to `root`.
    `journal_dir` (under $CODEX_HOME) holds the crash-recovery journals; without it a process killed
    in the middle of the renames leaves the patch half applied. `before_commit(previous)` is called
    with {absolute path: bytes before, or None when it did not exist} of every file about to change
    (the undo snapshots)."""
    if not isinstance(text, str) or not text.strip():
        raise PatchError(f"{_FAILED} The patch is empty; send '*** Begin Patch' ... '*** End Patch'.")
    try:
        ops = parse_patch(text)
    except PatchSyntaxError as exc:
        raise PatchError(f"{_FAILED} Invalid patch: {exc}") from None
    if not os.path.isdir(root):
        raise PatchError(f"{_FAILED} The workspace root {root} is not an existing folder.")
    recover(root, journal_dir)  # a patch interrupted by a killed process is finished first
    base = None if cwd is None else os.path.realpath(os.path.join(root, cwd))
    if base is not None and not os.path.isdir(base):
        raise PatchError(f"{_FAILED} The working folder {cwd} is not an existing folder.")
    plan = _Plan(os.path.realpath(root), allow_outside, base, journal_dir)
    plan.before_commit = before_commit
    for number, op in enumerate(ops, 1):
        try:
            plan.apply(op)
        except (FsError, ChunkMismatch) as exc:
            raise PatchError(f"{_FAILED}\n{_describe(op, number, len(ops))}: {exc}") from None
        except OSError as exc:  # anything the checks above did not foresee, still for the model
            raise PatchError(f"{_FAILED}\n{_describe(op, number, len(ops))}: {exc}") from None
    try:
        plan.commit()
    except FsError as exc:
        raise PatchError(f"{_FAILED} {exc}") from None
    return PatchResult(plan.changes)


def _describe(op: Operation, number: int, total: int) -> str:
    title = {"add": "Add File", "delete": "Delete File", "update": "Update File"}[op.kind]
    move = f" (Move to: {op.move_to})" if op.move_to else ""
    return f"Operation {number} of {total}, '{title}: {op.path}'{move}"


class _Plan:
    """The tree as the patch leaves it, built in memory: `state` maps an absolute path to its new
    text, or None once deleted; `originals` keeps the bytes each touched file had on disk."""

    def __init__(self, root: str, allow_outside: bool, cwd: str | None = None,
                 journal_dir: str | None = None):
        self.root = root
        self.journal_dir = journal_dir
        self.cwd = cwd
        self.allow_outside = allow_outside
        self.state: dict[str, str | None] = {}
        self.originals: dict[str, bytes] = {}
        self.changes: list[PatchChange] = []
        self.before_commit: Any = None

    def apply(self, op: Operation) -> None:
        full = resolve(self.root, op.path, self.allow_outside, self.cwd)
        if op.kind == "add":
            self._add(op, full)
        elif op.kind == "delete":
            self._delete(op, full)
        else:
            self._update(op, full)

    def _read(self, full: str, shown: str) -> str:
        """Current text of a file: as an earlier operation left it, else from disk."""
        if full in self.state:
            text = self.state[full]
            if text is None:
                raise FsError(f"{shown}: the file does not exist (an earlier operation of this "
                              "patch deleted or moved it)")
            return text
        data = read_bytes(full, shown)
        text = decode_text(data, shown)
        self.originals[full] = data
        return text

    def _current_or_none(self, full: str, shown: str) -> str | None:
        """Text of `full` if it exists (for diffs of overwritten files), None if it does not."""
        if full in self.state:
            return self.state[full]
        check_writable_target(full, shown)
        if not os.path.lexists(full):
            return None
        return self._read(full, shown)

    def _add(self, op: Operation, full: str) -> None:
        before = self._current_or_none(full, op.path)
        check_size(op.content, op.path)
        self.state[full] = op.content
        self.changes.append(PatchChange(op.path, "add", None, _diff(op.path, before, op.content)))

    def _delete(self, op: Operation, full: str) -> None:
        before = self._deletable(full, op.path)
        self.state[full] = None
        diff = (f"Binary file a/{op.path} deleted\n" if before is None
                else _diff(op.path, before, None))
        self.changes.append(PatchChange(op.path, "delete", None, diff))

    def _deletable(self, full: str, shown: str) -> str | None:
        """Text (for the diff) of a file about to be deleted, None for a binary one. Binary files
        may be deleted too, but must fit under the size cap: their bytes are kept in memory to
        undo the deletion."""
        if full in self.state:
            return self._read(full, shown)
        data = read_bytes(full, shown)
        self.originals[full] = data
        try:
            return decode_text(data, shown)
        except FsError:
            return None

    def _update(self, op: Operation, full: str) -> None:
        before = self._read(full, op.path)
        after, ops = update_with_opcodes(before, op)
        check_size(after, op.path)
        shown, moved_from = op.path, None
        if op.move_to:
            dest = resolve(self.root, op.move_to, self.allow_outside, self.cwd)
            if dest != full:
                check_writable_target(dest, op.move_to)
                if dest not in self.state and os.path.lexists(dest):
                    self._read(dest, op.move_to)  # keep its bytes for rollback
                self.state[full] = None
                full, shown, moved_from = dest, op.move_to, op.path
        self.state[full] = after
        diff = _diff(shown, before, after, old_name=op.path, ops=ops)
        self.changes.append(PatchChange(shown, "update", moved_from, diff))

    def commit(self) -> None:
        writes = {p: t.encode("utf-8") for p, t in self.state.items() if t is not None}
        deletes = [p for p, t in self.state.items() if t is None and os.path.lexists(p)]
        writes = {p: b for p, b in writes.items() if self.originals.get(p) != b}
        if self.before_commit is not None:
            self.before_commit({p: self.originals.get(p) for p in [*writes, *deletes]})
        Commit(writes, deletes, self.originals, self.root, self.journal_dir).run()


def update_text(text: str, op: Operation) -> str:
    """The text of a file after the chunks of an Update operation, keeping its conventions."""
    return update_with_opcodes(text, op)[0]


def update_with_opcodes(text: str, op: Operation) -> tuple[str, list[Opcode]]:
    """(new text, opcodes from the old lines to the new ones, for the diff)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines, endings = split_lines(text[len(bom):])
    eol = "\r\n" if endings.count("\r\n") > endings.count("\n") else "\n"
    final_newline = not endings or endings[-1] != ""
    replacements = apply_chunks(lines, op.chunks)
    pairs = splice(list(zip(lines, endings)),
                   [(s, n, [i if isinstance(i, int) else (i, eol) for i in new])
                    for s, n, new in replacements])
    out = [line + (ending or eol) for line, ending in pairs]
    if out and not final_newline:
        out[-1] = pairs[-1][0]
    return bom + "".join(out), opcodes_from_replacements(len(lines), replacements)


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """(line texts, line endings): each ending is "\\n", "\\r\\n", or "" for a last line without one."""
    parts = text.split("\n")
    tail = parts.pop()
    lines: list[str] = []
    endings: list[str] = []
    for part in parts:
        if part.endswith("\r"):
            lines.append(part[:-1])
            endings.append("\r\n")
        else:
            lines.append(part)
            endings.append("\n")
    if tail:
        lines.append(tail)
        endings.append("")
    return lines, endings


def _diff(path: str, before: str | None, after: str | None, old_name: str | None = None,
          ops: list[Opcode] | None = None) -> str:
    """A unified diff of one file (git style names, /dev/null for adds and deletes), from the
    opcodes of an update when there are some."""
    a, a_marked = _diff_lines(before)
    b, b_marked = _diff_lines(after)
    if ops is None or (ops and (ops[-1][2] != len(a) or ops[-1][4] != len(b))):
        ops = whole_file_opcodes(a, b)
    ops = split_final_lines(ops, len(a), len(b), a_marked, b_marked)
    from_name = "/dev/null" if before is None else "a/" + (old_name or path)
    to_name = "/dev/null" if after is None else "b/" + path
    return unified_diff(a, b, ops, from_name, to_name)


def _diff_lines(text: str | None) -> tuple[list[str], bool]:
    """(lines for the diff, each ending with a newline and without CR or BOM; whether the last one
    had no newline, which is then marked like diff does)."""
    if not text:
        return [], False
    lines, endings = split_lines(text.removeprefix("\ufeff"))
    out = [line + "\n" for line in lines]
    marked = bool(endings) and endings[-1] == ""
    if marked:
        out[-1] += "\\ No newline at end of file\n"
    return out, marked
