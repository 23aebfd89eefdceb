#!/usr/bin/env python3
"""Build the device packages without an SDK: the OpenWrt `.ipk` and `.apk`, and the Termux `.deb`.

    python3 packaging/pkgbuild.py ipk [--out dist]     (also: make -C openwrt ipk)
    python3 packaging/pkgbuild.py apk [--out dist]     (also: make -C openwrt apk)
    python3 packaging/pkgbuild.py deb [--out dist]     (also: termux/build-deb.sh)

All three hold the same private tree, `<prefix>/lib/codex-lite/{codex_lite,vendor}`, plus a
launcher `<prefix>/bin/codex-lite`. The vendored wheels are the pinned, hash-checked ones from
packaging/vendor.txt, downloaded from PyPI into build/wheels/ (never committed).

Why our own writer for the .ipk: opkg reads a gzip'd tar (not `ar`) whose members are GNU tar
(opkg rejects the PAX headers that Python's tarfile writes by default). Everything is written
with fixed owners and SOURCE_DATE_EPOCH times so the same commit gives the same bytes.
The .apk (apk-tools 3, OpenWrt 25.12+) is written by packaging/adb.py, again without apk-tools.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import apkv3
from slim import slim

ROOT = Path(__file__).resolve().parent.parent
VENDOR_TXT = ROOT / "packaging" / "vendor.txt"
OPENWRT_MAKEFILE = ROOT / "openwrt" / "Makefile"
WHEEL_CACHE = ROOT / "build" / "wheels"
NAME = "codex-lite"
MAINTAINER = "codex-lite developers <codex-lite@users.noreply.github.com>"
HOMEPAGE = "https://github.com/codex-lite/codex-lite"
SUMMARY = "Small coding agent for routers, phones and SSH boxes"
DESCRIPTION = (" A small coding agent that talks to a LiteLLM proxy: runs shell commands and applies\n"
               " patches in the current folder. `codex-lite exec` is the headless mode.")
TERMUX_PREFIX = "/data/data/com.termux/files/usr"

# Parts of the vendored wheels that nothing can import here: they need packages we do not ship
# (asyncssh, PySocks, pyOpenSSL) or a browser (emscripten). Dropping them keeps the .ipk small.
PRUNE = (  # never imported on Linux or by codex-lite (Windows consoles, servers, grammars)
    "prompt_toolkit/contrib",
    "prompt_toolkit/eventloop/win32.py",
    "prompt_toolkit/input/win32.py",
    "prompt_toolkit/input/win32_pipe.py",
    "prompt_toolkit/output/conemu.py",
    "prompt_toolkit/output/win32.py",
    "prompt_toolkit/output/windows10.py",
    "urllib3/contrib/emscripten",
    "urllib3/contrib/pyopenssl.py",
    "urllib3/contrib/socks.py",
)

# Build-time edits of vendored files (path -> [(text, replacement)]) that move an import to where
# it is used. Each text must be found exactly once, so a new wheel version fails the build here
# instead of shipping unedited. urllib3.connection imports urllib3.http2 for its small probe
# cache, and that package's __init__ imports importlib.metadata (zipfile, pathlib, csv...: about
# 50-90 ms on a router's CPU) only for inject_into_urllib3(), an opt-in HTTP/2 mode that needs h2,
# which no package of ours ships.
LAZY_IMPORTS = {
    "urllib3/http2/__init__.py": [
        ("from importlib.metadata import version\n", ""),
        ("    # First check if h2 version is valid\n",
         ("    from importlib.metadata import version  # moved here by codex-lite's packaging\n\n"
          "    # First check if h2 version is valid\n")),
    ],
}


@dataclass(frozen=True)
class Pin:
    """One vendored wheel: `name==version --hash=sha256:HEX  # url: URL` in vendor.txt."""

    name: str
    version: str
    sha256: str
    url: str

    @property
    def wheel(self) -> str:
        return self.url.rsplit("/", 1)[1]


def read_pins(path: Path = VENDOR_TXT) -> list[Pin]:
    pins = []
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})\s+#\s*url:\s*(https://\S+\.whl)\s*$",
                     line)
        if m:
            pins.append(Pin(*m.groups()))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise ValueError(f"{path}: cannot read {line!r}")
    return pins


def version() -> str:
    """The version setup.cfg resolves to (`attr: codex_lite.__version__`)."""
    text = (ROOT / "codex_lite" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time: reproducible archive timestamps."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                             check=False, capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def openwrt_depends(makefile: Path = OPENWRT_MAKEFILE) -> list[str]:
    """DEPENDS of `Package/codex-lite` in openwrt/Makefile: one list for the SDK and for us."""
    text = makefile.read_text().replace("\\\n", " ")
    block = re.search(r"define Package/codex-lite\n(.*?)\nendef", text, re.DOTALL).group(1)
    line = re.search(r"^\s*DEPENDS\s*:?=(.*)$", block, re.MULTILINE).group(1)
    return [d.lstrip("+") for d in line.split()]


# --------------------------------------------------------------------------- wheels


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def fetch_wheels(pins: list[Pin], cache: Path = WHEEL_CACHE) -> list[Path]:
    """The pinned wheels, downloaded once by pip (which checks the hashes), checked again here."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [p for p in pins if not (cache / p.wheel).is_file() or sha256_file(cache / p.wheel) != p.sha256]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
                        "--python-version", "3.10", "--require-hashes", "-r", str(VENDOR_TXT),
                        "-d", str(cache)], check=True)
    paths = []
    for p in pins:
        path = cache / p.wheel
        if sha256_file(path) != p.sha256:
            raise RuntimeError(f"{path.name}: sha256 does not match packaging/vendor.txt")
        paths.append(path)
    return paths


def unpack_wheel(wheel: Path, vendor: Path) -> None:
    """Unzip a wheel into vendor/, dropping metadata, tests and PRUNE; keep its license files."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or name.endswith(("py.typed", ".pyc")):
                continue
            parts = name.split("/")
            if parts[0].endswith(".dist-info"):
                if "licenses" in parts or parts[-1].upper().startswith(("LICENSE", "COPYING")):
                    dest = vendor / "licenses" / parts[0][:-len(".dist-info")] / parts[-1]
                else:
                    continue
            elif any(name == p or name.startswith(p + "/") for p in PRUNE) or {"tests", "test"} & set(parts):
                continue
            else:
                dest = vendor / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(edit_vendored(name, zf.read(info)))


def edit_vendored(name: str, data: bytes) -> bytes:
    """Apply LAZY_IMPORTS to one file of a wheel, then drop its comments and docstrings (slim.py)."""
    for old, new in LAZY_IMPORTS.get(name, []):
        text = data.decode()
        if text.count(old) != 1:
            raise RuntimeError(f"{name}: expected {old!r} once; update LAZY_IMPORTS for this wheel")
        data = text.replace(old, new).encode()
    return slim(data.decode()).encode() if name.endswith(".py") else data


# --------------------------------------------------------------------------- the private tree


LAUNCHER = """#!{shell}
# codex-lite launcher: runs the package's private copy (lib/codex-lite: codex_lite + vendor) with
# the python3 {which}. No Python minor version in any path, so Python upgrades need no rebuild.
# CODEX_LITE_PYTHON overrides the interpreter.
self=$(readlink -f "$0" 2>/dev/null) || self=$0  # a symlink to this file still finds lib/
lib=$(cd "$(dirname "$self")/../lib/codex-lite" && pwd) || exit 1
exec "${{CODEX_LITE_PYTHON:-{python}}}" -s -c '
import sys
lib = sys.argv.pop(1)
sys.path[0:1] = [lib, lib + "/vendor"]  # replaces "" (the cwd): a workspace cannot shadow modules
sys.argv[0] = "codex-lite"
from codex_lite.cli import main
sys.exit(main())
' "$lib" "$@"
"""


def launcher(shell: str, python: str, which: str) -> str:
    return LAUNCHER.format(shell=shell, python=python, which=which)


def stage_tree(root: Path, prefix: str, wheels: list[Path], launcher_text: str) -> Path:
    """<root><prefix>/lib/codex-lite/{codex_lite,vendor} and <root><prefix>/bin/codex-lite.

    Only what it creates gets its mode set: root may be "/" inside a Termux build container."""
    base = root / prefix.lstrip("/")
    lib = base / "lib" / NAME
    shutil.rmtree(lib, ignore_errors=True)  # a rebuild in the same SDK folder starts clean
    shutil.copytree(ROOT / "codex_lite", lib / "codex_lite",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    for wheel in wheels:
        unpack_wheel(wheel, lib / "vendor")
    exe = base / "bin" / NAME
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(launcher_text)
    exe.chmod(0o755)
    for path in [lib, *lib.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return lib


def flavour_launcher(flavour: str, prefix: str) -> str:
    """OpenWrt: the python3 on PATH. Termux: $PREFIX/bin/python3, a $PREFIX/bin/sh shebang."""
    if flavour == "termux":
        return launcher(f"{prefix}/bin/sh", f"{prefix}/bin/python3", f"of Termux ({prefix}/bin/python3)")
    return launcher("/bin/sh", "python3", "on PATH (OpenWrt: /usr/bin/python3)")


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- archives


def _tarinfo(name: str, epoch: int, mode: int, kind: bytes, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, epoch
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def targz_bytes(members: list[tuple[str, bytes | None, int]], epoch: int) -> bytes:
    """A gzip'd GNU-format tar (no PAX headers) of (name, data or None for a folder, mode)."""
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch, compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in members:
            if data is None:
                tar.addfile(_tarinfo(name, epoch, mode, tarfile.DIRTYPE))
            else:
                tar.addfile(_tarinfo(name, epoch, mode, tarfile.REGTYPE, len(data)), io.BytesIO(data))
    return raw.getvalue()


def tree_members(root: Path) -> list[tuple[str, bytes | None, int]]:
    """Every folder and file under root as ./relative names, sorted, with their modes."""
    members: list[tuple[str, bytes | None, int]] = [("./", None, 0o755)]
    for path in sorted(root.rglob("*")):
        name = "./" + path.relative_to(root).as_posix()
        if path.is_dir():
            members.append((name + "/", None, 0o755))
        else:  # modes normalised: the builder's umask must not leak into the package
            members.append((name, path.read_bytes(), 0o755 if path.stat().st_mode & 0o111 else 0o644))
    return members


def control_text(fields: list[tuple[str, str]]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in fields)


# --------------------------------------------------------------------------- .ipk


def makefile_script(name: str, makefile: Path = OPENWRT_MAKEFILE) -> str:
    """`define Package/codex-lite/<name>` from openwrt/Makefile (`$$` is make's `$`): the SDK's
    package and ours run the same postinst and prerm."""
    text = makefile.read_text()
    body = re.search(rf"^define Package/codex-lite/{name}\n(.*?)^endef$", text, re.DOTALL | re.MULTILINE).group(1)
    return body.replace("$$", "$")


def build_ipk(out_dir: Path, work: Path, wheels: list[Path]) -> Path:
    """codex-lite_<ver>_all.ipk: outer tar.gz of debian-binary, data.tar.gz, control.tar.gz."""
    ver, epoch = version(), source_date_epoch()
    data = work / "ipk-data"
    shutil.rmtree(data, ignore_errors=True)
    stage_tree(data, "/usr", wheels, flavour_launcher("openwrt", "/usr"))
    fields = [("Package", NAME), ("Version", ver), ("Depends", ", ".join(["libc", *openwrt_depends()])),
              ("Source", "openwrt/Makefile"), ("SourceName", NAME), ("License", "Apache-2.0"),
              ("Section", "devel"), ("SourceDateEpoch", str(epoch)), ("URL", HOMEPAGE),
              ("Maintainer", MAINTAINER), ("Architecture", "all"),
              ("Installed-Size", str(tree_size(data))), ("Description", SUMMARY + "\n" + DESCRIPTION)]
    control = targz_bytes([("./", None, 0o755), ("./control", control_text(fields).encode(), 0o644),
                           ("./postinst", makefile_script("postinst").encode(), 0o755),
                           ("./prerm", makefile_script("prerm").encode(), 0o755)], epoch)
    outer = targz_bytes([("./debian-binary", b"2.0\n", 0o644),
                         ("./data.tar.gz", targz_bytes(tree_members(data), epoch), 0o644),
                         ("./control.tar.gz", control, 0o644)], epoch)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}_{ver}_all.ipk"
    path.write_bytes(outer)
    return path


# --------------------------------------------------------------------------- .apk (OpenWrt 25.12+)


def openwrt_release(makefile: Path = OPENWRT_MAKEFILE) -> str:
    """PKG_RELEASE of openwrt/Makefile: the `-rN` of the version apk shows."""
    return re.search(r"^PKG_RELEASE\s*:?=\s*(\d+)\s*$", makefile.read_text(), re.MULTILINE).group(1)


def apk_folders(root: Path) -> list[apkv3.Folder]:
    """Every folder under root (the root itself as "") with its files, modes normalised."""
    folders = []
    for path in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        files = [apkv3.File(p.name, p.read_bytes(), 0o755 if p.stat().st_mode & 0o111 else 0o644)
                 for p in sorted(path.iterdir()) if p.is_file()]
        folders.append(apkv3.Folder("" if path == root else path.relative_to(root).as_posix(), files))
    return folders


def stage_apk(work: Path, wheels: list[Path]) -> Path:
    """The .apk's file tree: the .ipk's, plus the list of its files that the SDK adds to every
    package (/lib/apk/packages/NAME.list, read by OpenWrt's scripts and tools)."""
    data = work / "apk-data"
    shutil.rmtree(data, ignore_errors=True)
    stage_tree(data, "/usr", wheels, flavour_launcher("openwrt", "/usr"))
    listed = f"/lib/apk/packages/{NAME}.list"
    files = sorted([*("/" + p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()), listed])
    (data / listed.lstrip("/")).parent.mkdir(parents=True)
    (data / listed.lstrip("/")).write_text("".join(f"{p}\n" for p in files))
    return data


def apk_info(epoch: int) -> dict[str, str | int | list[str]]:
    """The package info, as the SDK's `apk mkpkg --info` gives it (build-time added)."""
    return {"name": NAME, "version": f"{version()}-r{openwrt_release()}",
            "description": " ".join(DESCRIPTION.split()), "arch": "noarch", "license": "Apache-2.0",
            "origin": NAME, "maintainer": MAINTAINER, "url": HOMEPAGE, "build-time": epoch,
            "depends": ["libc", *openwrt_depends()]}


def apk_scripts() -> dict[str, str]:
    """openwrt/Makefile's postinst and prerm. apk runs post-upgrade instead of post-install on an
    upgrade (it compiles the new sources the same way), and pre-deinstall only on a removal."""
    postinst = makefile_script("postinst")
    return {"post-install": postinst, "post-upgrade": postinst, "pre-deinstall": makefile_script("prerm")}


def build_apk(out_dir: Path, work: Path, wheels: list[Path]) -> Path:
    """codex-lite-<ver>-r<release>.apk for apk-tools 3 (OpenWrt 25.12+): same files, depends and
    scripts as the .ipk, written by packaging/apkv3.py (unsigned: apk add --allow-untrusted)."""
    epoch = source_date_epoch()
    info = apk_info(epoch)
    data = stage_apk(work, wheels)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}-{info['version']}.apk"
    path.write_bytes(apkv3.apk_bytes(info, apk_folders(data), apk_scripts(), epoch))
    return path


# --------------------------------------------------------------------------- .deb (Termux)


DEB_POSTINST = """#!{prefix}/bin/sh
# Byte-compile into __pycache__ for the installed python3: Termux moves to new Python versions
# often, and Python recompiles by itself after an upgrade because the sources stay.
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ]; then
\t"{prefix}/bin/python3" -s -m compileall -q "${{DPKG_ROOT:-}}{prefix}/lib/codex-lite" || true
fi
exit 0
"""

DEB_PRERM = """#!{prefix}/bin/sh
# __pycache__ is not in dpkg's file list: remove it so the folder goes with the package.
if [ "$1" != "upgrade" ]; then
\tfind "${{DPKG_ROOT:-}}{prefix}/lib/codex-lite" -name __pycache__ -type d -prune -exec rm -rf {{}} +
fi
exit 0
"""


def write_debscripts(folder: Path, prefix: str) -> None:
    """postinst and prerm for Termux (termux/build.sh calls this too: one source)."""
    for name, text in (("postinst", DEB_POSTINST), ("prerm", DEB_PRERM)):
        (folder / name).write_text(text.format(prefix=prefix))
        (folder / name).chmod(0o755)


def build_deb(out_dir: Path, work: Path, wheels: list[Path], prefix: str = TERMUX_PREFIX) -> Path:
    """codex-lite_<ver>_all.deb for Termux, built by dpkg-deb from a staged $PREFIX tree."""
    ver = version()
    stage = work / "deb-root"
    shutil.rmtree(stage, ignore_errors=True)
    stage_tree(stage, prefix, wheels, flavour_launcher("termux", prefix))
    for path in [stage, *stage.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    size_kib = (tree_size(stage) + 1023) // 1024
    debian = stage / "DEBIAN"
    debian.mkdir()
    fields = [("Package", NAME), ("Version", ver), ("Architecture", "all"), ("Maintainer", MAINTAINER),
              ("Installed-Size", str(size_kib)), ("Depends", "python, python-psutil"),
              ("Section", "devel"), ("Priority", "optional"), ("Homepage", HOMEPAGE),
              ("Description", SUMMARY + "\n" + DESCRIPTION)]
    (debian / "control").write_text(control_text(fields))
    write_debscripts(debian, prefix)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}_{ver}_all.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())}
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z9", "--build", str(stage), str(path)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["ipk", "apk", "deb", "tree", "debscripts", "version"],
                        help="tree: stage <root><prefix>/{bin,lib} only (the SDK and termux/build.sh use "
                             "it); debscripts: write Termux's postinst and prerm into --out")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="dist folder, or the root for tree")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pkg")
    parser.add_argument("--wheels", type=Path, default=WHEEL_CACHE, help="wheel cache folder")
    parser.add_argument("--prefix", default=None, help="tree/deb/debscripts: install prefix")
    parser.add_argument("--flavour", choices=["openwrt", "termux"], default="openwrt", help="tree: launcher kind")
    args = parser.parse_args(argv)
    if args.kind == "version":
        print(version())
        return 0
    if args.kind == "debscripts":
        args.out.mkdir(parents=True, exist_ok=True)
        write_debscripts(args.out, args.prefix or TERMUX_PREFIX)
        return 0
    wheels = fetch_wheels(read_pins(), args.wheels)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.kind == "ipk":
        print(build_ipk(args.out, args.work, wheels))
    elif args.kind == "apk":
        print(build_apk(args.out, args.work, wheels))
    elif args.kind == "deb":
        print(build_deb(args.out, args.work, wheels, args.prefix or TERMUX_PREFIX))
    else:
        default = TERMUX_PREFIX if args.flavour == "termux" else "/usr"
        prefix = args.prefix or default
        print(stage_tree(args.out, prefix, wheels, flavour_launcher(args.flavour, prefix)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
