"""A router's and a phone's CPU for the tests: Debian roots of other architectures under qemu-user.

- `mipsel`: Debian bookworm for 32-bit MIPS (most OpenWrt routers), Python 3.11. /bin/sh is
  BusyBox ash and PATH holds only BusyBox's applets and python3 (no bash, no GNU grep or find).
  Each session's copy has its standard library trimmed to what OpenWrt's python3-light and the
  feed Makefile's DEPENDS provide, so an undeclared import fails here as on a router.
- `arm64`: Debian sid for 64-bit ARM (phones), Python 3.14 like Termux, python3-psutil like
  Termux's python-psutil, and Termux's prefix made real: /data/data/com.termux/files/usr with its
  bin/sh (dash, as Termux's) and bin/python3, PREFIX, TMPDIR and HOME under it.

Both are `debootstrap --variant=minbase` with python3-minimal, the stdlib package (Debian splits
it: tomllib is not in python3-minimal) and busybox-static. They are built once and cached in
$CODEX_LITE_ROOTS (default ~/.cache/codex-lite-roots; a few hundred MB each), rebuilt when the
recipe below changes. A fresh machine (CI) builds them on first use: a few minutes each.

The host needs root, debootstrap, qemu-user-static and binfmt-support (scripts/test installs them),
and binfmt_misc: the kernel then runs the foreign binaries through qemu, children included (a shell
command that the agent runs is a mipsel BusyBox). binfmt_misc is mounted and qemu's handlers
enabled here when they are not. Commands run chrooted in a private mount namespace (`unshare`)
with /proc and /dev mounted inside it, so nothing stays mounted when they end.

    python3 tests/emulated_roots.py ensure [NAME...]    build what is missing or stale, with timings
    python3 tests/emulated_roots.py sh NAME             a shell inside the cached root (debugging)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIRROR = os.environ.get("CODEX_LITE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
TERMUX_PREFIX = "/data/data/com.termux/files/usr"
OPENWRT_PATH = "/busybox"  # the mipsel root's PATH: BusyBox applets and python3, nothing else
STAMP = ".codex-lite-root.json"
HOST_PACKAGES = ("debootstrap", "qemu-user-static", "binfmt-support")


@dataclass(frozen=True)
class RootSpec:
    """What a root is made of; a change here rebuilds the cached root."""

    name: str
    arch: str
    suite: str
    qemu: str  # binfmt handler name
    include: tuple[str, ...]
    recipe: int = 1  # bump when finish() changes what it does

    def path(self) -> Path:
        return roots_dir() / self.name


ROOTS = {
    "mipsel": RootSpec("mipsel", "mipsel", "bookworm", "qemu-mipsel",
                       ("python3-minimal", "libpython3-stdlib", "busybox-static")),
    "arm64": RootSpec("arm64", "arm64", "sid", "qemu-aarch64",
                      ("python3-minimal", "libpython3-stdlib", "busybox-static", "python3-psutil")),
}


class RootError(RuntimeError):
    """A root cannot be built or used here; the message says why and what to install."""


def roots_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(os.environ.get("CODEX_LITE_ROOTS") or os.path.join(cache, "codex-lite-roots"))


# --------------------------------------------------------------------------- the host


def ensure_host(spec: RootSpec) -> None:
    """Root, the tools, and a binfmt_misc handler for the root's CPU; RootError when impossible."""
    if os.geteuid() != 0:
        raise RootError("emulated roots need root (chroot, mount namespaces, debootstrap)")
    tools = ("debootstrap", f"{spec.qemu}-static", "update-binfmts")
    missing = [pkg for pkg, exe in zip(HOST_PACKAGES, tools) if _host_tool(exe) is None]
    if missing:
        raise RootError(f"emulated roots need Debian packages: apt-get install {' '.join(missing)} "
                        "(scripts/test installs them)")
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "status").exists():
        _host(["mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt)], "mount binfmt_misc")
    handler = binfmt / spec.qemu
    if not handler.exists() or "enabled" not in handler.read_text():
        _host(["update-binfmts", "--enable", spec.qemu], f"enable the {spec.qemu} binfmt handler")
    if not handler.exists() or "enabled" not in handler.read_text():
        raise RootError(f"binfmt_misc has no enabled {spec.qemu} handler: this kernel cannot run "
                        f"{spec.arch} binaries through qemu")


def _host_tool(name: str) -> str | None:
    """A host program, also from the sbin folders that a non-login PATH may lack."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def _host(argv: list[str], what: str) -> None:
    argv = [_host_tool(argv[0]) or argv[0], *argv[1:]]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RootError(f"could not {what}: {' '.join(argv)}: {(done.stderr or done.stdout).strip()}")


# --------------------------------------------------------------------------- building


_failed: dict[str, RootError] = {}


def ensure(name: str, log=None) -> Path:
    """The cached root `name`, built first when it is missing or its recipe changed. A root that
    could not be built is not tried again by the same process (tests fail at once, saying why)."""
    import fcntl

    if name in _failed:
        raise _failed[name]

    spec = ROOTS[name]
    ensure_host(spec)
    root = spec.path()
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it: wait for that one
        if _stamp(root) != _recipe(spec):
            try:
                build(spec, log)
            except RootError as exc:
                _failed[name] = exc
                raise
    return root


def _recipe(spec: RootSpec) -> dict:
    return json.loads(json.dumps(asdict(spec)))  # as the stamp file gives it back (lists, not tuples)


def _stamp(root: Path) -> dict | None:
    try:
        return json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return None


def build(spec: RootSpec, log=None) -> float:
    """debootstrap + finish into a temporary folder, then swap it in. Returns the seconds taken."""
    started = time.monotonic()
    final = spec.path()
    tmp = final.with_name(final.name + ".building")
    for old in (tmp, final):
        if old.exists():
            remove_tree(old)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"building the {spec.name} root ({spec.suite}, {spec.arch}) in {final} ...")
    argv = [_host_tool("debootstrap") or "debootstrap", f"--arch={spec.arch}", "--variant=minbase",
            f"--include={','.join(spec.include)}", spec.suite, str(tmp), MIRROR]
    env = {**os.environ, "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=3600, env=env)
    if done.returncode != 0:
        detail = (done.stdout + done.stderr)[-3000:]
        debootstrap_log = tmp / "debootstrap" / "debootstrap.log"
        if debootstrap_log.exists():
            detail += "\n" + debootstrap_log.read_text(errors="replace")[-3000:]
        raise RootError(f"debootstrap of the {spec.name} root failed:\n{detail}")
    FINISH[spec.name](tmp)
    _prune(tmp)
    (tmp / STAMP).write_text(json.dumps(_recipe(spec)))
    tmp.rename(final)
    seconds = time.monotonic() - started
    if log:
        log(f"the {spec.name} root took {seconds:.0f} s ({_du(final) / 2**20:.0f} MB)")
    return seconds


def remove_tree(path: Path) -> None:
    """rm -rf that never crosses into another file system (a root has no mounts left: they live
    in the namespaces of the commands that made them)."""
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=True, timeout=600)


def _prune(root: Path) -> None:
    """Downloaded .debs, apt lists, docs, man pages and translations: not needed, ~100 MB."""
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                "usr/share/info", "usr/share/locale"):
        folder = root / sub
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                elif child.name != "lock":
                    child.unlink()


def _du(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())


def _finish_mipsel(root: Path) -> None:
    """BusyBox ash as /bin/sh; PATH = one folder of BusyBox applets plus python3."""
    (root / "bin" / "sh").unlink()
    (root / "bin" / "sh").symlink_to("busybox")
    applets = run_in(root, ["/bin/busybox", "--list"], {"PATH": "/usr/bin:/bin"}).stdout.split()
    folder = root / OPENWRT_PATH.lstrip("/")
    folder.mkdir()
    for applet in applets:
        (folder / applet).symlink_to("/bin/busybox")
    (folder / "python3").symlink_to("/usr/bin/python3")


def _finish_arm64(root: Path) -> None:
    """Termux's prefix: $PREFIX/bin/sh (dash, Termux's sh) and $PREFIX/bin/python3, tmp, home."""
    prefix = root / TERMUX_PREFIX.lstrip("/")
    for sub in ("bin", "tmp", "etc", "var/lib"):
        (prefix / sub).mkdir(parents=True)
    (prefix.parent / "home").mkdir()
    (prefix / "bin" / "sh").symlink_to("/usr/bin/dash")
    (prefix / "bin" / "python3").symlink_to("/usr/bin/python3")
    (prefix / "bin" / "python").symlink_to("python3")


FINISH = {"mipsel": _finish_mipsel, "arm64": _finish_arm64}


# --------------------------------------------------------------------------- using a root


def session_copy(name: str, dest: Path) -> Path:
    """A writable copy of the cached root for one test session (the cache stays pristine)."""
    source = ensure(name)
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(dest)], check=True, timeout=600)
    return dest


def trim_stdlib(root: Path, keep_packages: set[str]) -> list[str]:
    """Delete the stdlib modules that OpenWrt ships in python3-* packages other than keep_packages
    (and those OpenWrt does not package at all), and Debian's sitecustomize (an apport hook that
    OpenWrt's python3 does not run at start-up). Returns the module names removed."""
    from openwrt_stdlib import ABSENT, SPLIT_PACKAGES

    modules = [m for pkg, mods in SPLIT_PACKAGES.items() if pkg not in keep_packages for m in mods]
    modules += [*ABSENT, "sitecustomize"]
    stdlib = next((root / "usr" / "lib").glob("python3.[0-9]*"))
    for module in modules:
        for path in [stdlib / module, stdlib / f"{module}.py", *stdlib.glob(f"__pycache__/{module}.*.pyc"),
                     *stdlib.glob(f"lib-dynload/{module}.cpython-*.so")]:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_symlink() or path.exists():
                path.unlink()
    return modules


def install_ipk(root: Path, ipk: Path, dest: str = "/") -> subprocess.CompletedProcess:
    """What opkg does: data.tar.gz onto the root (or into its folder `dest`, as `opkg -d` would),
    then control's postinst run there (by BusyBox ash, its #!/bin/sh) with `configure` and
    PKG_ROOT=dest. Returns the postinst's run."""
    import tarfile

    with tarfile.open(ipk, "r:gz") as outer:
        parts = {m.name.removeprefix("./"): outer.extractfile(m).read() for m in outer if m.isfile()}
    with tarfile.open(fileobj=_bytes_io(parts["data.tar.gz"]), mode="r:gz") as data:
        data.extractall(root / dest.lstrip("/"), filter="tar")
    with tarfile.open(fileobj=_bytes_io(parts["control.tar.gz"]), mode="r:gz") as control:
        postinst = control.extractfile("./postinst").read()
    script = root / "tmp" / "codex-lite.postinst"
    script.write_bytes(postinst)
    script.chmod(0o755)
    try:
        return run_in(root, ["/tmp/codex-lite.postinst", "configure"],
                      device_env("mipsel", {"PKG_ROOT": dest}))
    finally:
        script.unlink()


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def chroot_argv(root: Path, argv: list[str], env: dict[str, str], cwd: str = "/") -> list[str]:
    """A host command line that runs argv inside root: a private mount namespace with /proc and
    /dev mounted, chroot, then `env -i` so only `env` reaches the program, in folder cwd."""
    inner = 'cd "$1" && shift && exec "$@"'
    setup = ('PATH="$PATH:/usr/sbin:/sbin"; mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && '
             'exec chroot "$0" "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", setup, str(root),
            "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()], "/bin/sh", "-c", inner, "sh", cwd,
            *argv]


def run_in(root: Path, argv: list[str], env: dict[str, str], cwd: str = "/", timeout: float = 600,
           check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    """Run argv inside root; output captured as text."""
    stdin = None if input is not None else subprocess.DEVNULL
    done = subprocess.run(chroot_argv(root, argv, env, cwd), check=False, capture_output=True, text=True,
                          timeout=timeout, input=input, stdin=stdin, start_new_session=True)
    if check and done.returncode != 0:
        raise RootError(f"{argv} in {root.name} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                        f"{done.stderr[-3000:]}")
    return done


def device_env(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a shell on the device gives: OpenWrt's root login, or Termux's."""
    if name == "mipsel":
        env = {"PATH": OPENWRT_PATH, "HOME": "/root", "SHELL": "/bin/ash"}
    else:
        home = TERMUX_PREFIX.rsplit("/", 1)[0] + "/home"
        env = {"PATH": f"{TERMUX_PREFIX}/bin:/usr/bin:/bin", "HOME": home, "PREFIX": TERMUX_PREFIX,
               "TMPDIR": f"{TERMUX_PREFIX}/tmp", "SHELL": f"{TERMUX_PREFIX}/bin/sh"}
    env.update({"LANG": "C.UTF-8", "TERM": "dumb"})
    env.update(extra or {})
    return env


def ensure_all(names: list[str]) -> list[str]:
    """ensure() every root, side by side (debootstrap waits on the network as much as on qemu).
    Returns the errors, one line per root that could not be built."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> str | None:
        started = time.monotonic()
        try:
            root = ensure(name, log=lambda m: print(f"emulated_roots: {m}", flush=True))
        except RootError as exc:
            return f"{name}: {exc}"
        print(f"emulated_roots: {name} ready after {time.monotonic() - started:.0f} s: {root}", flush=True)
        return None

    with ThreadPoolExecutor(len(names)) as pool:
        return [e for e in pool.map(one, names) if e]


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "ensure":
        errors = ensure_all(argv[1:] or list(ROOTS))
        for error in errors:
            print(f"emulated_roots: {error}", file=sys.stderr)
        return 1 if errors else 0
    if len(argv) == 2 and argv[0] == "sh":
        root = ensure(argv[1])
        return subprocess.call(chroot_argv(root, ["/bin/sh"], device_env(argv[1], {"TERM": "xterm"})))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main(sys.argv[1:]))
