"""Offline openai-harmony for the envelope round-trip tests.

openai-harmony downloads its o200k vocabulary at first use, which fails without internet (CI
sandboxes, routers' build hosts). The quicktok-v1 wheel ships the same vocabulary in a binary form:
a little-endian u32 count, then per token a u16 length, the token's bytes and a u32 rank. Written
as tiktoken's text format ("base64 rank" lines) it is byte-identical to o200k_base.tiktoken, which
the sha256 check proves; TIKTOKEN_ENCODINGS_BASE pointing at it makes openai-harmony work offline.
This is the same conversion as ../shared/tools/o200k_from_quicktok.py, kept here so CI, which only
has the repository, needs nothing else. Imported by tests/test_envelope_harmony.py (tests/conftest.py
belongs to another module).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import struct
from pathlib import Path

import pytest

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def write_o200k(out_dir: Path) -> Path:
    """Rebuild o200k_base.tiktoken from quicktok-v1's data file into out_dir."""
    spec = importlib.util.find_spec("quicktok")
    if spec is None or spec.origin is None:
        raise RuntimeError("quicktok-v1 is not installed (it is in the project's test extra)")
    data = (Path(spec.origin).parent / "data" / "o200k.vocab").read_bytes()
    (count,) = struct.unpack_from("<I", data, 0)
    off, ranked = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, off)
        token = data[off + 2:off + 2 + length]
        (rank,) = struct.unpack_from("<I", data, off + 2 + length)
        off += 6 + length
        ranked.append((rank, token))
    text = "".join(f"{base64.b64encode(t).decode()} {r}\n" for r, t in sorted(ranked)).encode()
    if hashlib.sha256(text).hexdigest() != O200K_SHA256:
        raise RuntimeError("quicktok's vocabulary does not rebuild o200k_base byte for byte")
    path = out_dir / "o200k_base.tiktoken"
    path.write_bytes(text)
    return path


@pytest.fixture(scope="session")
def harmony_encoding(tmp_path_factory):
    """The gpt-oss harmony encoding, loaded from a vocabulary rebuilt offline."""
    base = os.environ.get("TIKTOKEN_ENCODINGS_BASE")
    if not base or not (Path(base) / "o200k_base.tiktoken").is_file():
        out = tmp_path_factory.mktemp("o200k")
        write_o200k(out)
        os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(out)
    import openai_harmony as oh
    return oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
