"""config.toml on disk: read it (the TOML parser is imported here only), and edit it as text.

    read(path) -> dict                 the parsed file, {} when it does not exist; ReadError naming the
                                       file and line otherwise (config.py turns it into a ConfigError)
    value_or_text(raw) -> Any          a `-c key=value` value: TOML when it parses as TOML, else the text
    write_config(path, top, tables)    set (or with None remove) top-level keys and keys of tables
    update_toml_text(text, top, tables) -> str; check_toml(text, top, tables)  the two halves of it
    ConfigWriteError                   the edit could not be made safely; the message says what to add

Why one module: the file was read in config.py and written in onboarding.py, each with its own
`tomllib`/`tomli` fallback. Reading imports the parser lazily: a run without config.toml and without
-c skips it (about 70 ms of imports and regex compiling on a router's CPU). Writing edits the text
(top-level `key = value` lines and whole tables only), so the user's other keys and comments
survive; the result is parsed back and must say what we meant, or nothing is written. The file is
written through a temporary file and gets mode 0600, because it may hold the API key.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from codex_lite.errors import UserError


class ReadError(Exception):
    """config.toml exists but cannot be read or parsed; the message names the file (and line)."""


class ConfigWriteError(UserError):
    """config.toml could not be edited safely; the message says what to add by hand."""


def toml():
    """The TOML parser (tomllib, or tomli before Python 3.11), imported on first use."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def read(path: str) -> dict[str, Any]:
    """The parsed file, {} when it does not exist; a ReadError naming file and line otherwise."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ReadError(f"{path}: cannot read: {exc}") from None
    tomllib = toml()
    try:
        with f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ReadError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(f"{path}: cannot read: {exc}") from None


def value_or_text(raw: str) -> Any:
    """`raw` as a TOML value when it parses as one (`3`, `true`, `"x"`, `[1, 2]`), else `raw` itself."""
    tomllib = toml()
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


# -- editing ----------------------------------------------------------------------------------------


def write_config(path: str, top: dict[str, str | None], tables: dict[str, dict[str, str | None]] | None = None
                 ) -> None:
    """Set (or with None remove) top-level keys and keys of tables, keeping everything else."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    new = update_toml_text(text, top, tables or {})
    check_toml(new, top, tables or {})
    _write_private(path, new)


def update_toml_text(text: str, top: dict[str, str | None], tables: dict[str, dict[str, str | None]]) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key, value in top.items():
        start, end = _region(lines, None)
        _set_key(lines, start, end, key, value)
    for table, values in tables.items():
        for key, value in values.items():
            region = _region(lines, table)
            if region is None:
                if value is None:
                    continue
                if lines and lines[-1].strip():
                    lines.append("\n")
                lines.append(f"[{table}]\n")
                region = (len(lines), len(lines))
            _set_key(lines, region[0], region[1], key, value)
    return "".join(lines)


HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
VALUE_LINE = re.compile(r'^(\s*[A-Za-z0-9_"\'.-]+\s*=\s*)("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^#\s]+)(\s*#.*)?$')


def _region(lines: list[str], table: str | None) -> tuple[int, int] | None:
    """Body lines [start, end) of the top level (table None) or of `[table]`."""
    start = 0 if table is None else None
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m:
            continue
        name = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
        if start is not None:
            return start, i
        if name == table and not line.lstrip().startswith("[["):
            start = i + 1
    return (start, len(lines)) if start is not None else None


def _set_key(lines: list[str], start: int, end: int, key: str, value: str | None) -> None:
    pattern = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=')
    for i in range(start, end):
        if pattern.match(lines[i]):
            if value is None:
                del lines[i]
            else:
                m = VALUE_LINE.match(lines[i].rstrip("\n"))
                comment = m.group(3) if m and m.group(3) else ""
                lines[i] = f"{key} = {_toml_string(value)}{comment}\n"
            return
    if value is None:
        return
    at = end
    while at > start and not lines[at - 1].strip():
        at -= 1
    lines.insert(at, f"{key} = {_toml_string(value)}\n")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def check_toml(text: str, top: dict[str, str | None], tables: dict[str, dict[str, str | None]]) -> None:
    """The edited text must parse and say exactly what we set; else nothing is written."""
    tomllib = toml()
    wanted = "\n".join(f"{k} = {_toml_string(v)}" for k, v in top.items() if v is not None)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigWriteError(f"config.toml would not parse after the edit ({exc}); add by hand:\n"
                               f"{wanted}") from None
    checks = [(data, k, v) for k, v in top.items()]
    for table, values in tables.items():
        node: Any = data
        for part in table.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        checks += [(node, k, v) for k, v in values.items()]
    for node, key, value in checks:
        if (node.get(key) if isinstance(node, dict) else None) != value:
            raise ConfigWriteError(f"config.toml has a layout this editor does not handle ('{key}'); "
                                   f"add by hand:\n{wanted}")


def _write_private(path: str, text: str) -> None:
    """Write via a temporary file in the same folder (a full flash never leaves half a config),
    mode 0600 since it may hold the API key."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)
