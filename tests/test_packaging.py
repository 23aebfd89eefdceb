"""The device packages as their package managers read them.

The .ipk is read by a small reader written here from opkg's rules, not by the builder's tarfile
code: an outer gzip'd tar (not `ar`) holding debian-binary, data.tar.gz and control.tar.gz; tar
headers in GNU/ustar form with valid checksums and no PAX headers (opkg's untar rejects typeflags
`x` and `g`); a control file with the fields opkg needs. GNU `tar` and `file` look at it too.
The .deb is read by dpkg-deb and installed by a real `dpkg --root`.
"""

from __future__ import annotations

import ast
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "packaging"))

import pkgbuild
import slim

MAX_PACKAGE_BYTES = 600 * 1024
TERMUX_PREFIX = "/data/data/com.termux/files/usr"
OPKG_REQUIRED = ("Package", "Version", "Architecture", "Maintainer", "Description")


# --------------------------------------------------------------------------- fixtures


_BUILT: dict[str, Path] = {}


def build_packages_once(tmp_path_factory) -> dict[str, Path]:
    """The three packages, built once per session by the standalone builders (as CI and release
    do); shared by every test module that needs them."""
    if not _BUILT:
        out = tmp_path_factory.mktemp("dist")
        work = tmp_path_factory.mktemp("pkgwork")
        wheels = pkgbuild.fetch_wheels(pkgbuild.read_pins())
        _BUILT.update(ipk=pkgbuild.build_ipk(out, work, wheels), deb=pkgbuild.build_deb(out, work, wheels),
                      apk=pkgbuild.build_apk(out, work, wheels))
    return _BUILT


@pytest.fixture(scope="session")
def packages(tmp_path_factory) -> dict[str, Path]:
    return build_packages_once(tmp_path_factory)


# --------------------------------------------------------------------------- an opkg-style reader


class OpkgFormatError(ValueError):
    """What opkg would refuse."""


def read_tar(data: bytes) -> dict[str, tuple[str, bytes]]:
    """name -> (typeflag, content) of a tar stream, read header by header as opkg's untar does."""
    members, pos, long_name = {}, 0, None
    while pos + 512 <= len(data):
        header = data[pos:pos + 512]
        if header == b"\0" * 512:
            break
        _check_header(header)
        size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        flag = chr(header[156]) if header[156] else "0"
        body = data[pos + 512:pos + 512 + size]
        pos += 512 + (size + 511) // 512 * 512
        if flag in "xg":
            raise OpkgFormatError(f"PAX header (typeflag {flag}): opkg cannot read it")
        if flag == "L":  # GNU long name: the next header's name
            long_name = body.rstrip(b"\0").decode()
            continue
        name = long_name or _header_name(header)
        long_name = None
        members[name] = (flag, body)
    return members


def _check_header(header: bytes) -> None:
    if header[257:262] != b"ustar":
        raise OpkgFormatError(f"not a ustar/GNU tar header: magic {header[257:265]!r}")
    stored = int(header[148:156].strip(b"\0 ") or b"0", 8)
    if stored != sum(header[:148]) + 8 * 32 + sum(header[156:]):
        raise OpkgFormatError("tar header checksum mismatch")


def _header_name(header: bytes) -> str:
    name = header[:100].split(b"\0")[0].decode()
    prefix = header[345:500].split(b"\0")[0].decode() if header[257:263] == b"ustar\0" else ""
    return f"{prefix}/{name}" if prefix else name


def strip_dot(name: str) -> str:
    return name.removeprefix("./")


def parse_control(text: str) -> dict[str, str]:
    """Debian-style control fields; continuation lines start with a space."""
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and key:
            fields[key] += "\n" + line
        elif line.strip():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def read_ipk(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, bytes]], dict[str, tuple[str, bytes]]]:
    """(control fields, control members, data members) of an .ipk, checked the way opkg reads it."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        raise OpkgFormatError("outer container is not gzip (an `ar` .ipk is what opkg-lede rejects)")
    outer = {strip_dot(k): v for k, v in read_tar(gzip.decompress(raw)).items()}
    if set(outer) != {"debian-binary", "control.tar.gz", "data.tar.gz"}:
        raise OpkgFormatError(f"outer members {sorted(outer)}")
    if outer["debian-binary"][1] != b"2.0\n":
        raise OpkgFormatError("debian-binary is not 2.0")
    control_members = {strip_dot(k): v for k, v in read_tar(gzip.decompress(outer["control.tar.gz"][1])).items()}
    data_members = read_tar(gzip.decompress(outer["data.tar.gz"][1]))
    fields = parse_control(control_members["control"][1].decode())
    missing = [f for f in OPKG_REQUIRED if not fields.get(f)]
    if missing:
        raise OpkgFormatError(f"control lacks {missing}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", fields["Package"]):
        raise OpkgFormatError(f"bad package name {fields['Package']!r}")
    return fields, control_members, data_members


# --------------------------------------------------------------------------- the reader itself


def test_reader_rejects_pax_and_ar(tmp_path):
    """The reader is only worth something if it fails on what opkg fails on."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("./" + "x" * 120)
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(OpkgFormatError, match="PAX"):
        read_tar(buf.getvalue())
    ar = tmp_path / "old.ipk"
    ar.write_bytes(b"!<arch>\n")
    with pytest.raises(OpkgFormatError, match="gzip"):
        read_ipk(ar)


# --------------------------------------------------------------------------- the .ipk


def test_ipk_reads_like_opkg(packages):
    fields, control, data = read_ipk(packages["ipk"])
    assert fields["Package"] == "codex-lite"
    assert fields["Version"] == pkgbuild.version()
    assert fields["Architecture"] == "all"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert depends == ["libc", *pkgbuild.openwrt_depends()]
    assert "python3-light" in depends and "python3" not in depends  # not the whole python3
    assert int(fields["Installed-Size"]) > 1_000_000
    assert {"control", "postinst", "prerm"} <= set(control)
    assert control["postinst"][1].startswith(b"#!/bin/sh\n") and b"compileall" in control["postinst"][1]
    names = {strip_dot(n).rstrip("/") for n in data}
    assert {"usr/bin/codex-lite", "usr/lib/codex-lite/codex_lite/cli.py",
            "usr/lib/codex-lite/vendor/urllib3/__init__.py",
            "usr/lib/codex-lite/vendor/prompt_toolkit/__init__.py",
            "usr/lib/codex-lite/vendor/wcwidth/__init__.py",
            "usr/lib/codex-lite/vendor/tomli/__init__.py"} <= names
    assert all(n.startswith("./") and ".." not in n.split("/") for n in data)


def test_ipk_paths_carry_no_python_version(packages):
    """Python 3.10 to 3.14 on the devices: nothing installed may name a minor version."""
    _, _, data = read_ipk(packages["ipk"])
    assert not [n for n in data if re.search(r"python3\.\d+|cpython-3\d+|__pycache__|\.pyc$", n)]


def test_ipk_launcher_and_scripts_match_the_feed_makefile(packages):
    """The standalone .ipk runs the very postinst/prerm that openwrt/Makefile gives the SDK."""
    _, control, data = read_ipk(packages["ipk"])
    makefile = (REPO / "openwrt" / "Makefile").read_text()
    for name in ("postinst", "prerm"):
        body = re.search(rf"^define Package/codex-lite/{name}\n(.*?)^endef$", makefile, re.DOTALL | re.MULTILINE).group(1)
        assert control[name][1].decode() == body.replace("$$", "$")
    launcher = data["./usr/bin/codex-lite"][1].decode()
    assert launcher.startswith("#!/bin/sh\n") and "python3.1" not in launcher


def test_ipk_with_gnu_tar_and_file(packages):
    """Independent readers: GNU tar lists it, `file` calls it gzip."""
    listing = subprocess.run(["tar", "-tvzf", str(packages["ipk"])], capture_output=True, text=True,
                             check=True).stdout
    assert [line.split()[-1] for line in listing.splitlines()] == ["./debian-binary", "./data.tar.gz",
                                                                   "./control.tar.gz"]
    assert all(line.split()[1] == "root/root" for line in listing.splitlines())
    described = subprocess.run(["file", "-b", str(packages["ipk"])], capture_output=True, text=True,
                               check=True).stdout
    assert described.startswith("gzip compressed data")


def test_ipk_is_reproducible(tmp_path):
    """Same tree, same bytes: release sums can be checked by rebuilding. (Two fresh builds, back
    to back: the session's package may predate an edit to the working tree.)"""
    wheels = pkgbuild.fetch_wheels(pkgbuild.read_pins())
    first = pkgbuild.build_ipk(tmp_path / "a", tmp_path / "wa", wheels)
    second = pkgbuild.build_ipk(tmp_path / "b", tmp_path / "wb", wheels)
    assert first.read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------- the .deb


def _dpkg_deb(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True).stdout


def test_deb_info_and_contents(packages):
    deb = str(packages["deb"])
    fields = parse_control(_dpkg_deb("-f", deb))
    assert fields["Package"] == "codex-lite" and fields["Version"] == pkgbuild.version()
    assert fields["Architecture"] == "all"
    assert [d.strip() for d in fields["Depends"].split(",")] == ["python", "python-psutil"]
    info = _dpkg_deb("-I", deb)
    assert "postinst" in info and "prerm" in info
    names = [line.split()[-1] for line in _dpkg_deb("-c", deb).splitlines()]
    prefix = "." + TERMUX_PREFIX
    assert f"{prefix}/bin/codex-lite" in names
    assert f"{prefix}/lib/codex-lite/vendor/prompt_toolkit/__init__.py" in names
    assert all(n.startswith(prefix) or TERMUX_PREFIX.startswith(n[1:].rstrip("/")) for n in names)
    assert not [n for n in names if re.search(r"python3\.\d+|__pycache__|\.pyc$", n)]


def test_deb_launcher_is_termux_style(packages, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(packages["deb"]), str(tmp_path)], check=True)
    launcher = (tmp_path / TERMUX_PREFIX.lstrip("/") / "bin" / "codex-lite").read_text()
    assert launcher.startswith(f"#!{TERMUX_PREFIX}/bin/sh\n")
    assert f"{TERMUX_PREFIX}/bin/python3" in launcher
    assert "/usr/bin/env" not in launcher and "python3.1" not in launcher


def make_stub_deb(folder: Path, name: str) -> Path:
    """An empty package that satisfies a dependency in the test root (Termux's python lives on
    a phone; here the interpreter comes from the host)."""
    pkg = folder / f"stub-{name}"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 99\nArchitecture: all\nMaintainer: test <t@example.invalid>\n"
        f"Description: stub for tests\n")
    out = folder / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(out)], check=True,
                   capture_output=True)
    return out


def termux_root(root: Path) -> Path:
    """An empty root that dpkg can install into and chroot to for the maintainer scripts:
    dpkg's database, a static BusyBox as $PREFIX/bin/sh, and a python3 that records its call."""
    admin = root / "var" / "lib" / "dpkg"
    for sub in ("info", "updates", "triggers"):
        (admin / sub).mkdir(parents=True)
    (admin / "status").touch()
    bindir = root / TERMUX_PREFIX.lstrip("/") / "bin"
    bindir.mkdir(parents=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(busybox, bindir / "busybox")
    for applet in ("sh", "find", "rm", "echo"):
        os.symlink("busybox", bindir / applet)
    (bindir / "python3").write_text(f'#!{TERMUX_PREFIX}/bin/sh\necho "$@" > /python3-called\n')
    (bindir / "python3").chmod(0o755)
    return root


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{TERMUX_PREFIX}/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    return subprocess.run(["dpkg", f"--root={root}", "--log=/dev/null", *args], check=False,
                          capture_output=True,
                          text=True, env=env, timeout=120)


def test_deb_installs_and_removes_with_real_dpkg(packages, tmp_path):
    root = termux_root(tmp_path / "root")
    stubs = [make_stub_deb(tmp_path, n) for n in ("python", "python-psutil")]
    assert dpkg(root, "-i", *map(str, stubs)).returncode == 0
    result = dpkg(root, "-i", str(packages["deb"]))
    assert result.returncode == 0, result.stderr
    status = dpkg(root, "-s", "codex-lite").stdout
    assert "Status: install ok installed" in status
    lib = root / TERMUX_PREFIX.lstrip("/") / "lib" / "codex-lite"
    assert (lib / "codex_lite" / "cli.py").is_file()
    # postinst ran (chrooted) and byte-compiled with the root's python3
    assert (root / "python3-called").read_text().split() == ["-s", "-m", "compileall", "-q",
                                                              f"{TERMUX_PREFIX}/lib/codex-lite"]
    (lib / "codex_lite" / "__pycache__").mkdir()  # as if compileall had written it
    removed = dpkg(root, "-r", "codex-lite")
    assert removed.returncode == 0, removed.stderr
    assert not lib.exists()


def test_deb_missing_dependency_is_refused(packages, tmp_path):
    """Depends really is enforced: without python, dpkg leaves the package unconfigured."""
    root = termux_root(tmp_path / "root")
    result = dpkg(root, "-i", str(packages["deb"]))
    assert result.returncode != 0 and "python" in result.stderr


# --------------------------------------------------------------------------- sizes, pins, versions


@pytest.mark.parametrize("kind", ["ipk", "deb", "apk"])
def test_package_size_budget(packages, kind):
    size = packages[kind].stat().st_size
    assert size < MAX_PACKAGE_BYTES, f"{packages[kind].name}: {size} bytes"


def test_vendor_pins_are_pure_python_and_hashed():
    pins = pkgbuild.read_pins()
    assert {p.name for p in pins} == {"prompt_toolkit", "wcwidth", "urllib3", "tomli"}
    for pin in pins:
        assert pin.wheel.endswith("-none-any.whl") and f"-{pin.version}-" in pin.wheel
        assert pin.url.startswith("https://files.pythonhosted.org/packages/")
    for pin, path in zip(pins, pkgbuild.fetch_wheels(pins)):
        assert pkgbuild.sha256_file(path) == pin.sha256


def test_vendored_edits_apply_exactly_once():
    """LAZY_IMPORTS fails the build when a wheel no longer has the text it edits."""
    name, edits = next(iter(pkgbuild.LAZY_IMPORTS.items()))
    original = "".join(old for old, _ in edits).encode()
    edited = pkgbuild.edit_vendored(name, original).decode()
    assert all(new in edited for _, new in edits)
    with pytest.raises(RuntimeError, match="LAZY_IMPORTS"):
        pkgbuild.edit_vendored(name, b"# a new release of the file\n")
    assert pkgbuild.edit_vendored("other/module.py", b"x = 1\n") == b"x = 1\n"


def _without_docstrings(tree: ast.AST) -> str:
    """The AST as a string, with every docstring replaced by "" (what slim leaves)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0].value.value = ""
    return ast.dump(tree)


def test_slim_vendored_code_is_the_same_program_on_the_same_lines():
    """Every vendored module loses its comments and docstrings and nothing else: the same AST
    (docstrings emptied) on the same line numbers, so device tracebacks still match upstream."""
    slimmed = 0
    for wheel in pkgbuild.fetch_wheels(pkgbuild.read_pins()):
        with zipfile.ZipFile(wheel) as zf:
            for name in (n for n in zf.namelist() if n.endswith(".py")):
                text = zf.read(name).decode()
                out = slim.slim(text)
                assert out.count("\n") == text.count("\n"), name
                before, after = ast.parse(text), ast.parse(out)
                assert [getattr(n, "lineno", 0) for n in ast.walk(before)] == \
                       [getattr(n, "lineno", 0) for n in ast.walk(after)], name
                assert _without_docstrings(before) == _without_docstrings(after), name
                tokens = tokenize.generate_tokens(io.StringIO(out).readline)
                assert not [t for t in tokens if t.type == tokenize.COMMENT and t.start[0] > 2], name
                slimmed += len(out) < len(text)
    assert slimmed > 100
    assert slim.slim("def f(:\n  # broken\n") == "def f(:\n  # broken\n"


def test_termux_recipe_version_matches_setup_cfg():
    recipe = (REPO / "termux" / "build.sh").read_text()
    assert re.search(r'^TERMUX_PKG_VERSION="?([^"\n]+)"?$', recipe, re.MULTILINE).group(1) == pkgbuild.version()
    assert re.search(r'^TERMUX_PKG_DEPENDS="python, python-psutil"$', recipe, re.MULTILINE)
    assert "TERMUX_PKG_PLATFORM_INDEPENDENT=true" in recipe


def test_makefile_version_comes_from_the_package():
    """PKG_VERSION is read from codex_lite/__init__.py: one version for setup.cfg, SDK and us."""
    makefile = (REPO / "openwrt" / "Makefile").read_text()
    assert "PKG_VERSION:=$(shell sed" in makefile and "codex_lite/__init__.py" in makefile
    assert "include $(TOPDIR)/feeds/packages/lang/python/python3-package.mk" in makefile
    assert "$(eval $(call Py3Package,codex-lite))" in makefile


def test_release_script(tmp_path):
    """scripts/release: the five artifacts named by the version, and sums that check."""
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(REPO / "scripts" / "release"), str(tmp_path / "out")], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    ver = pkgbuild.version()
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    apk = f"codex-lite-{ver}-r{pkgbuild.openwrt_release()}.apk"
    assert names == sorted(["SHA256SUMS", f"codex-lite_{ver}_all.ipk", f"codex-lite_{ver}_all.deb", apk,
                            f"codex_lite-{ver}.tar.gz", f"codex_lite-{ver}-py3-none-any.whl"])
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "out", capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0 and check.stdout.count(": OK") == 5, check.stdout
    read_ipk(tmp_path / "out" / f"codex-lite_{ver}_all.ipk")
    assert (tmp_path / "out" / apk).read_bytes()[:4] == b"ADBd"


# --------------------------------------------------------------------------- the feed Makefile


STUB_RULES = "INCLUDE_DIR:=$(TOPDIR)/include\nDL_DIR:=$(TOPDIR)/dl\n"
STUB_PACKAGE_MK = r"""PKG_BUILD_DIR ?= $(TOPDIR)/build/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install
Download = $(eval $(Download/$(1)))$(file >>$(STUB_OUT)/downloads,$(1) $(FILE) $(URL) $(HASH))
define BuildPackage
$(eval $(Package/$(1)))
$(file >>$(STUB_OUT)/packages,$(1) $(PKG_VERSION)-r$(PKG_RELEASE) $(PKGARCH) $(strip $(DEPENDS)))
$(if $(Package/$(1)/postinst),$(file >$(STUB_OUT)/postinst,$(Package/$(1)/postinst)))
$(if $(Package/$(1)/prerm),$(file >$(STUB_OUT)/prerm,$(Package/$(1)/prerm)))
endef
.PHONY: stub-install
stub-install:
	$(Build/Install)
"""
STUB_PY3_MK = "HOST_PYTHON3_BIN ?= python3\nPy3Package = $(file >>$(STUB_OUT)/py3packages,$(1))\n"


def stub_sdk(top: Path) -> Path:
    """Just enough of an SDK for make to read openwrt/Makefile: the includes record what the
    feed package asks for (BuildPackage, Download, Py3Package) and run its Build/Install."""
    (top / "include").mkdir(parents=True)
    (top / "feeds/packages/lang/python").mkdir(parents=True)
    (top / "rules.mk").write_text(STUB_RULES)
    (top / "include" / "package.mk").write_text(STUB_PACKAGE_MK)
    (top / "feeds/packages/lang/python/python3-package.mk").write_text(STUB_PY3_MK)
    (top / "dl").mkdir()
    for wheel in pkgbuild.fetch_wheels(pkgbuild.read_pins()):
        shutil.copy(wheel, top / "dl")
    (top / "out").mkdir()
    return top


def test_feed_makefile_under_a_stub_sdk(packages, tmp_path):
    """The feed Makefile's DEPENDS, Downloads, scripts and Build/Install, read by GNU make."""
    top = stub_sdk(tmp_path / "sdk")
    result = subprocess.run(["make", "-s", "-C", str(REPO / "openwrt"), f"TOPDIR={top}", f"STUB_OUT={top / 'out'}",
                             f"HOST_PYTHON3_BIN={sys.executable}", f"PKG_BUILD_DIR={top / 'build'}",
                             "stub-install"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    out = top / "out"
    built = [line.split(" ", 3) for line in (out / "packages").read_text().splitlines()]
    assert [b[0] for b in built] == ["codex-lite", "codex-lite-src"]
    _, ver, arch, depends = built[0]
    assert (ver, arch) == (f"{pkgbuild.version()}-r1", "all")
    assert depends.split() == ["+" + d for d in pkgbuild.openwrt_depends()]
    assert (out / "py3packages").read_text().split() == ["codex-lite"]
    downloads = sorted(line.split() for line in (out / "downloads").read_text().splitlines())
    assert downloads == sorted([f"vendor-{p.name}", p.wheel, p.url.rsplit("/", 1)[0], p.sha256]
                               for p in pkgbuild.read_pins())
    _, control, data = read_ipk(packages["ipk"])
    for script in ("postinst", "prerm"):
        assert (out / script).read_text().rstrip("\n") == control[script][1].decode().rstrip("\n")
    staged = top / "build" / "ipkg-install" / "usr"
    assert (staged / "bin" / "codex-lite").read_bytes() == data["./usr/bin/codex-lite"][1]
    files = {"./usr/" + p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert files == {n for n, (flag, _) in data.items() if flag == "0"}
