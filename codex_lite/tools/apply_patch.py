"""The apply_patch engine (issue: "The apply_patch engine"). CONTRACT STUB.

The helper building this module replaces the body, keeping these names and signatures:

    apply_patch(text, root, *, allow_outside=False) -> PatchResult   (raises PatchError)
    patch_from_argv(argv) -> tuple[str, str | None] | None
    looks_like_bare_patch(argv) -> bool
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PatchError(Exception):
    """A patch that cannot be applied; the message is written for the model to act on."""


@dataclass
class PatchChange:
    path: str            # relative to root, as written in the patch (the destination for a move)
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


def apply_patch(text: str, root: str, *, allow_outside: bool = False) -> PatchResult:
    raise PatchError("apply_patch engine not built yet")


def patch_from_argv(argv: list[str]) -> tuple[str, str | None] | None:
    """(patch_text, workdir_or_None) when argv is ["apply_patch", PATCH] or a shell script
    `[cd DIR &&] apply_patch <<'EOF' ... EOF`; else None."""
    if len(argv) == 2 and argv[0] in ("apply_patch", "applypatch"):
        return argv[1], None
    return None


def looks_like_bare_patch(argv: list[str]) -> bool:
    return bool(argv) and argv[0].lstrip().startswith("*** Begin Patch")
