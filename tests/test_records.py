"""codex_lite.records against the standard library's dataclasses: the same class bodies decorated by
both must behave the same for every feature records claims (and refuse the others)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from codex_lite import records

REPO = Path(__file__).resolve().parent.parent


def make(impl):
    """The same little family of classes, built with one implementation."""

    @impl.dataclass
    class Base:
        kind: ClassVar[str] = "base"
        name: str
        size: int = 0
        tags: list[str] = impl.field(default_factory=list)

    @impl.dataclass
    class Child(Base):
        kind: ClassVar[str] = "child"
        extra: dict[str, Any] = impl.field(default_factory=dict)
        size: int = 7  # overridden default keeps its place

    @impl.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0

    @impl.dataclass
    class Checked:
        value: int = 1

        def __post_init__(self):
            if self.value < 0:
                raise ValueError("negative")

    return Base, Child, Point, Checked


STD, OURS = make(dataclasses), make(records)


def outcome(fn):
    """(value, None) or (None, exception type) of calling fn; both FrozenInstanceErrors count as
    the AttributeError they are."""
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - the type is the answer
        return None, AttributeError if isinstance(exc, AttributeError) else type(exc)


CASES = [
    lambda m, B, C, P, K: repr(B("a")),
    lambda m, B, C, P, K: repr(B("a", 2, ["x"])),
    lambda m, B, C, P, K: repr(C("c", extra={"k": 1})),
    lambda m, B, C, P, K: repr(C(name="c", tags=["t"], size=3)),
    lambda m, B, C, P, K: B("a") == B("a"),
    lambda m, B, C, P, K: B("a") == B("b"),
    lambda m, B, C, P, K: B("a") == C("a"),
    lambda m, B, C, P, K: B("a").tags is not B("a").tags,  # a fresh list each time
    lambda m, B, C, P, K: (B.kind, C.kind, B.size, C.size, hasattr(B, "tags")),
    lambda m, B, C, P, K: [f.name for f in m.fields(C)],
    lambda m, B, C, P, K: m.asdict(C("c", 1, ["t"], {"d": [1, 2]})),
    lambda m, B, C, P, K: B(),
    lambda m, B, C, P, K: B("a", 1, [], 3),
    lambda m, B, C, P, K: B("a", name="b"),
    lambda m, B, C, P, K: B("a", color="red"),
    lambda m, B, C, P, K: hash(P(1, 2)) == hash(P(1, 2)),
    lambda m, B, C, P, K: setattr(P(1), "x", 5),
    lambda m, B, C, P, K: setattr(P(1), "other", 5),
    lambda m, B, C, P, K: delattr(P(1), "x"),
    lambda m, B, C, P, K: hash(B("a")),
    lambda m, B, C, P, K: repr(m.replace(P(1, 2), y=5)),
    lambda m, B, C, P, K: K(-1),
    lambda m, B, C, P, K: K(3).value,
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_behaviour_as_dataclasses(case):
    expected = outcome(lambda: CASES[case](dataclasses, *STD))
    assert outcome(lambda: CASES[case](records, *OURS)) == expected


@pytest.mark.parametrize("impl", [dataclasses, records])
def test_refusals(impl):
    with pytest.raises(ValueError):
        impl.dataclass(type("Bad", (), {"__annotations__": {"items": "list"}, "items": []}))
    with pytest.raises(TypeError):
        impl.dataclass(type("Order", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))


def test_unsupported_options_are_refused_not_ignored():
    with pytest.raises(TypeError, match="order"):
        records.dataclass(order=True)


def test_codex_lite_never_imports_dataclasses():
    """The point of records: `exec` (and the REPL's modules) load without dataclasses and inspect."""
    code = ("import sys; import codex_lite.exec, codex_lite.session, codex_lite.repl, codex_lite.onboarding, "
            "codex_lite.approvals, codex_lite.stats; "
            "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
