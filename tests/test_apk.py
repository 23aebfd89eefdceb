"""The OpenWrt 25.12+ `.apk` as apk-tools 3 itself reads it.

The oracle is apk-tools 3.0.6 (static x86-64 build, shared/tools/apk beside the repository; see
apk_tool()): `apk adbdump` shows what we wrote, `apk mkpkg` builds the same tree for comparison,
`apk extract` unpacks it (checking every file's sha256), and `apk add --root` installs it into an
empty root whose /bin/sh is BusyBox ash, running the scripts there; `apk del` removes it.
The package is built by packaging/apkv3.py, never by apk-tools.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_packaging import build_packages_once, pkgbuild, read_ipk

REPO = Path(__file__).resolve().parent.parent
APK_ENV = "CODEX_LITE_APK_TOOL"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def apk_tool() -> str:
    """apk-tools 3: $CODEX_LITE_APK_TOOL, else shared/tools/apk beside the repository or beside one
    of its parent folders (a clone in /work/main and a worktree in /work/wt/NAME both find
    /work/shared). Missing is a failure that says where it looked, never a skip."""
    if os.environ.get(APK_ENV):
        path = Path(os.environ[APK_ENV])
        if not os.access(path, os.X_OK):
            pytest.fail(f"{APK_ENV}={path} is not an executable apk-tools binary", pytrace=False)
        return str(path)
    looked = [parent / "shared" / "tools" / "apk" for parent in REPO.parents]
    for path in looked:
        if os.access(path, os.X_OK):
            return str(path)
    pytest.fail(f"apk-tools 3 (the test oracle for the .apk) not found: set {APK_ENV}, or put it at "
                f"one of {', '.join(map(str, looked[:3]))}", pytrace=False)


def apk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([apk_tool(), *args], capture_output=True, text=True, timeout=300, check=False,
                          env=env)


@pytest.fixture(scope="session")
def packages(tmp_path_factory) -> dict[str, Path]:
    return build_packages_once(tmp_path_factory)


def adbdump(path: Path) -> str:
    done = apk("adbdump", str(path))
    assert done.returncode == 0, done.stderr
    return done.stdout


def info_fields(dump: str) -> dict[str, str | list[str]]:
    """The `info:` section of adbdump's YAML: scalars, and lists for depends."""
    section = dump.split("\ninfo:\n", 1)[1].split("\npaths:", 1)[0]
    out: dict[str, str | list[str]] = {}
    key = ""
    for line in section.splitlines():
        if line.startswith("    - "):
            out.setdefault(key, []).append(line[6:])  # type: ignore[union-attr]
        elif line.startswith("  ") and not line.startswith("   "):
            key, _, value = line[2:].partition(":")
            value = value.split(" #", 1)[0].strip()
            if value and value != "|":
                out[key] = value
        elif line.startswith("    ") and key:
            out[key] = line.strip()  # a one-line block scalar (description: |)
    return out


def scripts_of(dump: str) -> dict[str, str]:
    """The `scripts:` section: name -> text (block scalars indented by four)."""
    section = dump.split("\nscripts:\n", 1)[1]
    out, name = {}, None
    for line in section.splitlines():
        if re.match(r"^  [a-z-]+: \|", line):
            name = line.strip().split(":")[0]
            out[name] = ""
        elif name and (line.startswith("    ") or not line.strip()):
            out[name] += line[4:] + "\n"
        else:
            break
    return {k: v.rstrip("\n") + "\n" for k, v in out.items()}


# --------------------------------------------------------------------------- format and contents


def test_adbdump_reads_our_metadata(packages):
    dump = adbdump(packages["apk"])
    info = info_fields(dump)
    assert dump.startswith("#%SCHEMA: 676B6370")  # "pckg"
    assert info["name"] == "codex-lite"
    assert info["version"] == f"{pkgbuild.version()}-r{pkgbuild.openwrt_release()}"
    assert info["arch"] == "noarch" and info["license"] == "Apache-2.0"
    assert info["depends"] == sorted(["libc", *pkgbuild.openwrt_depends()])
    assert "python3-light" in info["depends"] and "python3" not in info["depends"]
    assert int(info["installed-size"]) > 1_000_000
    assert packages["apk"].name == f"codex-lite-{info['version']}.apk"
    scripts = scripts_of(dump)
    assert scripts == {"post-install": pkgbuild.makefile_script("postinst"),
                       "pre-deinstall": pkgbuild.makefile_script("prerm"),
                       "post-upgrade": pkgbuild.makefile_script("postinst")}


def test_same_as_apk_mkpkg_builds_from_the_same_tree(tmp_path):
    """apk-tools' own writer, given the staged tree, the info and the scripts, makes a package
    whose every field, folder, file, mode, size, time and hash adbdump shows alike. Only the
    package's identity (a hash of the metadata block, whose byte layout may differ) is left out."""
    wheels = pkgbuild.fetch_wheels(pkgbuild.read_pins())
    ours = pkgbuild.build_apk(tmp_path / "ours", tmp_path / "work", wheels)
    data = pkgbuild.stage_apk(tmp_path / "work", wheels)
    epoch = pkgbuild.source_date_epoch()
    args = []
    for key, value in pkgbuild.apk_info(epoch).items():
        args += ["--info", f"{key}:{' '.join(value) if isinstance(value, list) else value}"]
    for name, text in pkgbuild.apk_scripts().items():
        (tmp_path / name).write_text(text)
        args += ["--script", f"{name}:{tmp_path / name}"]
    theirs = tmp_path / "theirs.apk"
    made = apk("mkpkg", "--files", str(data), *args, "--output", str(theirs),
               env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})
    assert made.returncode == 0, made.stderr

    def comparable(dump: str) -> list[str]:
        return [line for line in dump.splitlines()
                if not line.startswith(("# ADB block", "  hashes:"))]

    assert comparable(adbdump(ours)) == comparable(adbdump(theirs))


def test_extracts_to_the_ipks_files(packages, tmp_path):
    """`apk extract` checks every file against its sha256: the tree is the .ipk's, byte for byte
    and mode for mode, plus the file list the SDK adds."""
    dest = tmp_path / "x"
    dest.mkdir()
    done = apk("extract", "--allow-untrusted", "--destination", str(dest), str(packages["apk"]))
    assert done.returncode == 0, done.stderr
    got = {"./" + p.relative_to(dest).as_posix(): p for p in dest.rglob("*") if p.is_file()}
    _, _, data = read_ipk(packages["ipk"])
    want = {name: body for name, (flag, body) in data.items() if flag == "0"}
    listing = "./lib/apk/packages/codex-lite.list"
    assert set(got) == set(want) | {listing}
    for name, body in want.items():
        assert got[name].read_bytes() == body, name
        assert os.access(got[name], os.X_OK) == (name == "./usr/bin/codex-lite"), name
    assert got[listing].read_text().splitlines() == sorted(n[1:] for n in got)


def test_is_reproducible(tmp_path):
    wheels = pkgbuild.fetch_wheels(pkgbuild.read_pins())
    first = pkgbuild.build_apk(tmp_path / "a", tmp_path / "wa", wheels)
    second = pkgbuild.build_apk(tmp_path / "b", tmp_path / "wb", wheels)
    assert first.read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------- installing


def stub_packages(folder: Path, names: list[str]) -> list[str]:
    """Empty packages made by `apk mkpkg` that stand in for OpenWrt's (libc, python3-light, ...)."""
    folder.mkdir(exist_ok=True)
    out = []
    for name in names:
        path = folder / f"{name}.apk"
        done = apk("mkpkg", "--info", f"name:{name}", "--info", "version:1.0-r1", "--info", "arch:noarch",
                   "--output", str(path))
        assert done.returncode == 0, done.stderr
        out.append(str(path))
    return out


def ash_root(root: Path) -> Path:
    """An empty root where the scripts can run: BusyBox as /bin/sh (ash, as on OpenWrt) with its
    applets, and a python3 that records how it was called (postinst compiles with it)."""
    bindir = root / "bin"
    bindir.mkdir(parents=True)
    shutil.copy(BUSYBOX, bindir / "busybox")
    for applet in ("sh", "rm", "echo", "cat", "touch", "mkdir", "find"):
        (bindir / applet).symlink_to("busybox")
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3").write_text('#!/bin/sh\necho "$@" >> /python3-calls\n'
                                                  'echo "--" >> /python3-calls\n'
                                                  'touch /usr/lib/codex-lite/.compiled-on-device\n')
    (root / "usr" / "bin" / "python3").chmod(0o755)
    return root


def owned_by_us(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if "codex-lite" in p.as_posix() or p.as_posix().endswith("codex_lite"))


def test_installs_runs_scripts_and_del_removes_every_file(packages, tmp_path):
    root = ash_root(tmp_path / "root")
    stubs = stub_packages(tmp_path / "stubs", ["libc", *pkgbuild.openwrt_depends()])
    added = apk("--root", str(root), "--initdb", "--allow-untrusted", "--no-network", "add", *stubs,
                str(packages["apk"]))
    assert added.returncode == 0, added.stdout + added.stderr
    assert "codex-lite-" in added.stdout and "post-install" in added.stdout
    lib = root / "usr" / "lib" / "codex-lite"
    assert (lib / "codex_lite" / "cli.py").is_file() and (root / "usr" / "bin" / "codex-lite").is_file()
    calls = (root / "python3-calls").read_text().split("\n--\n")
    assert len(calls) == 2 and calls[0].startswith("-s -c") and "compileall" in calls[0]
    assert calls[0].endswith(" /usr/lib/codex-lite")  # PKG_ROOT is unset: apk runs scripts chrooted
    listed = apk("--root", str(root), "--no-network", "info", "-L", "codex-lite")
    assert "usr/lib/codex-lite/codex_lite/cli.py" in listed.stdout
    (lib / "codex_lite" / "cli.pyc").write_bytes(b"made on the device")  # as postinst leaves it
    removed = apk("--root", str(root), "--no-network", "del", "codex-lite")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "pre-deinstall" in removed.stdout
    assert owned_by_us(root) == []


def test_upgrade_runs_post_upgrade(packages, tmp_path, monkeypatch):
    """A newer release over an installed one: apk runs post-upgrade (the postinst again), which
    compiles the new sources; pre-deinstall is not run."""
    root = ash_root(tmp_path / "root")
    stubs = stub_packages(tmp_path / "stubs", ["libc", *pkgbuild.openwrt_depends()])
    assert apk("--root", str(root), "--initdb", "--allow-untrusted", "--no-network", "add", *stubs,
               str(packages["apk"])).returncode == 0
    monkeypatch.setattr(pkgbuild, "openwrt_release", lambda: "99")
    wheels = pkgbuild.fetch_wheels(pkgbuild.read_pins())
    newer = pkgbuild.build_apk(tmp_path / "newer", tmp_path / "work", wheels)
    upgraded = apk("--root", str(root), "--allow-untrusted", "--no-network", "add", str(newer))
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "post-upgrade" in upgraded.stdout and "pre-deinstall" not in upgraded.stdout
    assert (root / "python3-calls").read_text().splitlines().count("--") == 2  # install, then upgrade
    listed = apk("--root", str(root), "--no-network", "list", "--installed", "codex-lite").stdout
    assert listed.startswith(f"codex-lite-{pkgbuild.version()}-r99 noarch ")


def test_missing_dependency_is_refused(packages, tmp_path):
    """depends really is enforced: without python3-light (and the others) apk installs nothing."""
    root = ash_root(tmp_path / "root")
    done = apk("--root", str(root), "--initdb", "--allow-untrusted", "--no-network", "add",
               str(packages["apk"]))
    assert done.returncode != 0 and "python3-light" in done.stdout + done.stderr
    assert owned_by_us(root) == []
