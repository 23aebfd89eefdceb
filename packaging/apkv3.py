"""apk-tools 3 packages (the `.apk` of OpenWrt 25.12+) written without apk-tools.

An apk v3 package is an ADB container (apk-tools' doc/apk-v3.5.scd, apk-package.5.scd):

    "ADBd" + raw deflate of:  "ADB." "pckg"  ADB block  DATA block per non-empty file ...

The ADB block is a little-endian tree of 32-bit values. A value's high 4 bits are its type and
the low 28 bits either the value itself (small ints, null) or the offset of its bytes inside the
block: blobs (a 1-, 2- or 4-byte length, then the bytes) and objects or arrays (a slot count,
then that many values; slot 0 is the count). The package object holds `info` (name, version,
depends...), `paths` (one object per folder with its files: name, mode, owner, size, mtime,
sha256) and `scripts`. Each DATA block carries one file's bytes, tagged with the 1-based indices
of its folder and file in `paths`, in that order. Blocks are padded to 8 bytes.

Unsigned packages install with `apk add --allow-untrusted`, as OpenWrt documents for local files.
Everything is written in a fixed order with fixed times, so the same tree gives the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field

# Value types (high 4 bits of a value).
_INT, _INT32, _INT64 = 0x1, 0x2, 0x3
_BLOB8, _BLOB16, _BLOB32 = 0x8, 0x9, 0xA
_ARRAY, _OBJECT = 0xD, 0xE
NULL = 0

# Block types (high 2 bits of a block header).
_BLOCK_ADB, _BLOCK_DATA = 0, 2
_ALIGN = 8
SCHEMA_PACKAGE = b"pckg"

# Slots of the objects we write (apk-tools src/apk_adb.h).
INFO_SLOTS = ("name", "version", "hashes", "description", "arch", "license", "origin", "maintainer",
              "url", "repo-commit", "build-time", "installed-size", "file-size", "provider-priority",
              "depends", "provides", "replaces", "install-if", "recommends", "layer", "tags")
SCRIPT_SLOTS = ("trigger", "pre-install", "post-install", "pre-deinstall", "post-deinstall",
                "pre-upgrade", "post-upgrade")
_PKG_INFO, _PKG_PATHS, _PKG_SCRIPTS = 1, 2, 3
_FILE_NAME, _FILE_ACL, _FILE_SIZE, _FILE_MTIME, _FILE_HASH = 1, 2, 3, 4, 5
_DIR_NAME, _DIR_ACL, _DIR_FILES = 1, 2, 3
_ACL_MODE, _ACL_USER, _ACL_GROUP = 1, 2, 3
UNIQUE_ID_BYTES = 20  # info.hashes: the package's identity, a truncated sha256 of the ADB block


class Writer:
    """Appends values to one ADB block. Identical byte strings are stored once, as apk does."""

    def __init__(self) -> None:
        self.buf = bytearray(8)  # struct adb_hdr: compat version 0, version 0, reserved, root
        self._stored: dict[bytes, int] = {}

    def _put(self, data: bytes, align: int, share: bool = True) -> int:
        offset = self._stored.get(data) if share else None
        if offset is not None and offset % align == 0:
            return offset
        self.buf += bytes(-len(self.buf) % align)
        offset = len(self.buf)
        self.buf += data
        if share:
            self._stored[data] = offset
        return offset

    def int(self, n: int) -> int:
        if n < 1 << 28:
            return _INT << 28 | n
        if n < 1 << 32:
            return _INT32 << 28 | self._put(struct.pack("<I", n), 4)
        return _INT64 << 28 | self._put(struct.pack("<Q", n), 4)

    def blob(self, data: bytes | str, share: bool = True) -> int:
        if isinstance(data, str):
            data = data.encode()
        if not data:
            return NULL
        if len(data) <= 0xFF:
            return _BLOB8 << 28 | self._put(struct.pack("<B", len(data)) + data, 1, share)
        if len(data) <= 0xFFFF:
            return _BLOB16 << 28 | self._put(struct.pack("<H", len(data)) + data, 2, share)
        return _BLOB32 << 28 | self._put(struct.pack("<I", len(data)) + data, 4, share)

    def object(self, slots: dict[int, int], kind: int = _OBJECT) -> int:
        """slots: index (1-based) -> value; trailing nulls are dropped, an empty object is null."""
        values = [slots.get(i, NULL) for i in range(1, max(slots, default=0) + 1)]
        while values and values[-1] == NULL:
            values.pop()
        if not values:
            return NULL
        return kind << 28 | self._put(struct.pack(f"<{len(values) + 1}I", len(values) + 1, *values), 4)

    def array(self, items: list[int]) -> int:
        return self.object({i: v for i, v in enumerate(items, 1)}, _ARRAY)

    def finish(self, root: int) -> bytes:
        struct.pack_into("<I", self.buf, 4, root)
        return bytes(self.buf)


@dataclass(frozen=True)
class File:
    name: str
    data: bytes
    mode: int = 0o644


@dataclass
class Folder:
    """One entry of `paths`: "" is the package root."""

    path: str
    files: list[File] = field(default_factory=list)
    mode: int = 0o755


def _acl(w: Writer, mode: int) -> int:
    return w.object({_ACL_MODE: w.int(mode), _ACL_USER: w.blob("root"), _ACL_GROUP: w.blob("root")})


def _depends(w: Writer, names: list[str]) -> int:
    """Plain package names (no version constraints), sorted and unique as apk keeps them."""
    return w.array([w.object({1: w.blob(name)}) for name in sorted(set(names), key=str.encode)])


def package_adb(info: dict[str, str | int | list[str]], folders: list[Folder], scripts: dict[str, str],
                mtime: int) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """(ADB block payload, [(folder index, file index, data)] for the DATA blocks)."""
    w = Writer()
    folders = sorted(folders, key=lambda f: f.path.encode())
    paths, data_blocks, installed = [], [], 0
    for d, folder in enumerate(folders, 1):
        entries = []
        for f, item in enumerate(sorted(folder.files, key=lambda x: x.name.encode()), 1):
            entries.append(w.object({_FILE_NAME: w.blob(item.name), _FILE_ACL: _acl(w, item.mode),
                                     _FILE_SIZE: w.int(len(item.data)), _FILE_MTIME: w.int(mtime),
                                     _FILE_HASH: w.blob(hashlib.sha256(item.data).digest())}))
            installed += len(item.data)
            if item.data:
                data_blocks.append((d, f, item.data))
        paths.append(w.object({_DIR_NAME: w.blob(folder.path), _DIR_ACL: _acl(w, folder.mode),
                               _DIR_FILES: w.array(entries)}))
    fields = {**info, "installed-size": max(installed, 1)}
    slots = {}
    for name, value in fields.items():
        index = INFO_SLOTS.index(name) + 1
        if isinstance(value, list):
            slots[index] = _depends(w, value)
        elif isinstance(value, int):
            slots[index] = w.int(value)
        else:
            slots[index] = w.blob(value)
    unique_id = w.blob(bytes(UNIQUE_ID_BYTES), share=False)
    slots[INFO_SLOTS.index("hashes") + 1] = unique_id
    script_slots = {SCRIPT_SLOTS.index(k) + 1: w.blob(v) for k, v in scripts.items()}
    root = w.object({_PKG_INFO: w.object(slots), _PKG_PATHS: w.array(paths),
                     _PKG_SCRIPTS: w.object(script_slots)})
    adb = bytearray(w.finish(root))
    at = (unique_id & 0x0FFFFFFF) + 1  # past the blob's 1-byte length
    adb[at:at + UNIQUE_ID_BYTES] = hashlib.sha256(adb).digest()[:UNIQUE_ID_BYTES]
    return bytes(adb), data_blocks


def _block(kind: int, payload: bytes) -> bytes:
    raw = 4 + len(payload)
    if raw >= 1 << 30:
        raise ValueError("block too large for a 30-bit size")
    return struct.pack("<I", kind << 30 | raw) + payload + bytes(-raw % _ALIGN)


def apk_bytes(info: dict[str, str | int | list[str]], folders: list[Folder], scripts: dict[str, str],
              mtime: int) -> bytes:
    """The whole .apk: deflate-compressed ADB container, unsigned."""
    adb, data_blocks = package_adb(info, folders, scripts, mtime)
    plain = [b"ADB.", SCHEMA_PACKAGE, _block(_BLOCK_ADB, adb)]
    plain += [_block(_BLOCK_DATA, struct.pack("<II", d, f) + data) for d, f, data in data_blocks]
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 8)
    return b"ADBd" + deflate.compress(b"".join(plain)) + deflate.flush()
