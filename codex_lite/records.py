"""`@dataclass` for codex-lite's own classes, without the standard library's start-up cost.

The standard `dataclasses` writes every generated method as source text and exec()s it, and
importing it loads inspect, ast, dis and tokenize. On a router's CPU (qemu-mipsel, see
bench/emulated.py) that is about 80 ms for the import plus 4 ms per class; one `codex-lite exec`
turn defines about 40 classes, so it was a fifth of the turn. Here the same methods are closures
made once per class, with no source text to compile.

Supported, with the standard library's behaviour: `@dataclass` and `@dataclass(frozen=True)`
(`__init__` with defaults and `field(default=..., default_factory=...)`, `__repr__`, `__eq__`,
`__hash__` as dataclasses sets it, `__post_init__`, inherited fields, ClassVar annotations
skipped, mutable defaults refused), `fields()`, `asdict()` and `replace()`. Any other option is
refused with a TypeError instead of being ignored. One difference: `asdict` copies records,
lists, tuples and dicts recursively and shares every other value (the standard one deep-copies
them); our records hold JSON-like data, where the two agree.
"""

from __future__ import annotations

from typing import Any

MISSING: Any = type("MISSING", (), {"__repr__": lambda self: "MISSING"})()
_FIELDS = "__record_fields__"


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    __slots__ = ("default", "default_factory", "name")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default, self.default_factory = default, default_factory

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r})")


def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    return Field(default, default_factory)


def dataclass(cls: type | None = None, /, *, frozen: bool = False, **unsupported: Any):
    if unsupported:
        raise TypeError(f"codex_lite.records.dataclass does not support {sorted(unsupported)}")
    if cls is None:
        return lambda c: _process(c, frozen)
    return _process(cls, frozen)


def fields(obj_or_cls: Any) -> tuple[Field, ...]:
    found = getattr(obj_or_cls, _FIELDS, None)
    if found is None:
        raise TypeError("must be called with a record type or instance")
    return tuple(found)


def asdict(obj: Any) -> dict[str, Any]:
    if not hasattr(type(obj), _FIELDS):
        raise TypeError("asdict() should be called on record instances")
    return _copy(obj)


def replace(obj: Any, /, **changes: Any) -> Any:
    for f in fields(obj):
        changes.setdefault(f.name, getattr(obj, f.name))
    return type(obj)(**changes)


def _copy(value: Any) -> Any:
    if hasattr(type(value), _FIELDS):
        return {f.name: _copy(getattr(value, f.name)) for f in getattr(type(value), _FIELDS)}
    if isinstance(value, (list, tuple)):
        items = [_copy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return type(value)((_copy(k), _copy(v)) for k, v in value.items())
    return value


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    import typing

    return annotation is typing.ClassVar or getattr(annotation, "__origin__", None) is typing.ClassVar


def _process(cls: type, frozen: bool) -> type:
    own: dict[str, Field] = {}
    annotations = cls.__dict__.get("__annotations__")
    if annotations is None:  # Python 3.14 without `from __future__ import annotations` (PEP 649)
        annotations = getattr(cls, "__annotations__", {})
    for name, annotation in annotations.items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        f.name = name
        if f.default is MISSING and name in cls.__dict__:
            delattr(cls, name)  # a default_factory field has no class attribute
        elif f.default is not MISSING:
            setattr(cls, name, f.default)
        own[name] = f
    merged: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        merged.update({f.name: f for f in getattr(base, _FIELDS, ())})
    merged.update(own)
    flist = tuple(merged.values())
    seen_default = False
    for f in flist:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default
    setattr(cls, _FIELDS, flist)
    if "__init__" not in cls.__dict__:
        cls.__init__ = _init(cls, flist, frozen)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr(flist)
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq(flist)
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
        cls.__setattr__, cls.__delattr__ = _frozen(cls, flist)
        if "__hash__" not in cls.__dict__:
            cls.__hash__ = lambda self: hash(tuple(getattr(self, f.name) for f in flist))
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # mutable and comparable: unhashable, as dataclasses makes it
    return cls


def _init(cls: type, flist: tuple[Field, ...], frozen: bool):
    names = tuple(f.name for f in flist)
    known = frozenset(names)
    qualname = f"{cls.__qualname__}.__init__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{qualname}() takes {len(names) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        for name in kwargs:
            if name not in known:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {name!r}")
            if names.index(name) < len(args):
                raise TypeError(f"{qualname}() got multiple values for argument {name!r}")
        for i, f in enumerate(flist):
            if i < len(args):
                value = args[i]
            elif f.name in kwargs:
                value = kwargs[f.name]
            elif f.default is not MISSING:
                value = f.default
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            else:
                raise TypeError(f"{qualname}() missing 1 required positional argument: {f.name!r}")
            object.__setattr__(self, f.name, value) if frozen else setattr(self, f.name, value)
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    __init__.__qualname__ = qualname
    return __init__


def _repr(flist: tuple[Field, ...]):
    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in flist)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(flist: tuple[Field, ...]):
    names = tuple(f.name for f in flist)

    def __eq__(self, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    return __eq__


def _frozen(cls: type, flist: tuple[Field, ...]):
    """__setattr__ and __delattr__ of a frozen record: no field of it, and nothing at all on an
    instance of exactly this class, may change (subclasses may add their own attributes)."""
    names = frozenset(f.name for f in flist)

    def __setattr__(self, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __setattr__, __delattr__
