"""codex-lite on a router's and a phone's CPU: the packages installed into emulated Debian roots
(tests/emulated_roots.py: mipsel with BusyBox and OpenWrt's stdlib, arm64 with Python 3.14 and
Termux's prefix), driven through a chroot against the scripted model behind the real LiteLLM proxy
on the host.

- mipsel: the .ipk unpacked as opkg does and its postinst run by BusyBox ash; the .apk installed,
  run and removed by apk-tools 3 (its scripts run inside the root as well).
- arm64: the Termux .deb installed by the root's own dpkg (postinst byte-compiles with Python 3.14).
Each device then runs `--version`, one `exec --json` turn (BusyBox or GNU grep -rn that must skip
.git and node_modules, the same from a glob in a shell script, a patch, a tool call leaked as a raw
harmony envelope, the final answer), `stats`, and the REPL once under tmux.

The roots are built on first use and cached (a few minutes each; scripts/test builds them before
pytest). Without root, qemu-user-static or binfmt_misc these tests fail and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import emulated_roots as er
import pytest
from support.git import make_git_repo
from scripted_server import completion
from test_apk import apk, stub_packages
from test_packaging import build_packages_once, make_stub_deb, pkgbuild
from support.tmux import Tmux

pytestmark = pytest.mark.e2e

TIMEOUT = 300.0  # one command under emulation, generously (an exec turn takes a few seconds)
PATCH = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n*** End Patch\n"
ENVELOPE = ('<|channel|>commentary to=functions.shell <|constrain|>json<|message|>'
            '{"command":["cat","calc.py"]}<|call|>')


@dataclass
class Device:
    name: str
    root: Path
    launcher: str  # path inside the root
    home: str  # $HOME inside the root
    install_log: str

    def env(self, proxy, extra: dict[str, str] | None = None) -> dict[str, str]:
        return er.device_env(self.name, {"CODEX_HOME": f"{self.home}/.codex-lite", "NO_COLOR": "1",
                                         "LITELLM_BASE_URL": proxy.url, "LITELLM_API_KEY": proxy.master_key,
                                         **(extra or {})})

    def run(self, args: list[str], proxy, cwd: str = "/") -> subprocess.CompletedProcess:
        return er.run_in(self.root, [self.launcher, *args], self.env(proxy), cwd=cwd, timeout=TIMEOUT,
                         check=False)

    def host_path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")


@pytest.fixture(scope="session")
def packages(tmp_path_factory) -> dict[str, Path]:
    return build_packages_once(tmp_path_factory)


def _root(name: str, tmp_path_factory) -> Path:
    try:
        return er.session_copy(name, tmp_path_factory.mktemp(name) / "root")
    except er.RootError as exc:
        pytest.fail(f"the emulated {name} root is not available: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def mipsel(packages, tmp_path_factory) -> Device:
    """A router: BusyBox userland, Python 3.11 with only python3-light and DEPENDS; the .ipk."""
    root = _root("mipsel", tmp_path_factory)
    er.trim_stdlib(root, set(pkgbuild.openwrt_depends()))
    done = er.install_ipk(root, packages["ipk"])
    yield Device("mipsel", root, "/usr/bin/codex-lite", "/root", done.stdout + done.stderr)
    er.remove_tree(root)


@pytest.fixture(scope="session")
def arm64(packages, tmp_path_factory) -> Device:
    """A phone: Python 3.14 and Termux's prefix; the .deb installed by dpkg (stub python packages
    stand for Termux's `python` and `python-psutil`)."""
    root = _root("arm64", tmp_path_factory)
    incoming = root / "tmp" / "incoming"
    incoming.mkdir()
    debs = [make_stub_deb(incoming, n) for n in ("python", "python-psutil")]
    shutil.copy(packages["deb"], incoming)
    names = [f"/tmp/incoming/{p.name}" for p in [*debs, packages["deb"]]]
    done = er.run_in(root, ["dpkg", "-i", *names], {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, timeout=TIMEOUT)
    home = er.TERMUX_PREFIX.rsplit("/", 1)[0] + "/home"
    yield Device("arm64", root, f"{er.TERMUX_PREFIX}/bin/codex-lite", home, done.stdout + done.stderr)
    er.remove_tree(root)


@pytest.fixture(params=["mipsel", "arm64"])
def device(request) -> Device:
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------- the roots themselves


def test_the_roots_are_what_they_claim(mipsel, arm64):
    """mipsel: 32-bit MIPS, BusyBox ash as /bin/sh, nothing but BusyBox and python3 on PATH, and an
    undeclared stdlib package (sqlite3, ssl) missing; arm64: aarch64 and Python 3.14."""
    probe = ("import platform, sys, importlib.util as u; print(platform.machine(), sys.version_info[:2], "
             "[m for m in ('sqlite3', 'ssl', 'asyncio', 'logging', 'email', 'xml') "
             "if u.find_spec(m) is None])")
    out = er.run_in(mipsel.root, ["python3", "-c", probe], er.device_env("mipsel")).stdout
    assert out.strip() == "mips (3, 11) ['sqlite3', 'ssl']"
    path = er.run_in(mipsel.root, ["/bin/sh", "-c", "which bash grep find python3; readlink /bin/sh"],
                         er.device_env("mipsel"))
    assert path.stdout.split() == ["/busybox/grep", "/busybox/find", "/busybox/python3", "busybox"]
    out = er.run_in(arm64.root, ["python3", "-c", probe], er.device_env("arm64")).stdout
    assert out.startswith("aarch64 (3, 14) ")
    script = 'echo "$PREFIX|$TMPDIR"; command -v sh; command -v python3'
    prefix = er.run_in(arm64.root, ["/bin/sh", "-c", script], er.device_env("arm64")).stdout.split()
    assert prefix == [f"{er.TERMUX_PREFIX}|{er.TERMUX_PREFIX}/tmp", f"{er.TERMUX_PREFIX}/bin/sh",
                      f"{er.TERMUX_PREFIX}/bin/python3"]


def test_packages_installed_and_compiled_on_the_device(mipsel, arm64):
    """The .ipk's postinst (BusyBox ash, the router's python3) left bytecode only; the .deb's
    postinst (Termux's sh, Python 3.14) compiled into __pycache__."""
    lib = mipsel.host_path("/usr/lib/codex-lite")
    assert (lib / ".compiled-on-device").is_file() and (lib / "codex_lite" / "cli.pyc").is_file()
    assert not list(lib.rglob("*.py")), mipsel.install_log
    lib = arm64.host_path(f"{er.TERMUX_PREFIX}/lib/codex-lite")
    assert list((lib / "codex_lite" / "__pycache__").glob("cli.cpython-314.pyc")), arm64.install_log


# --------------------------------------------------------------------------- using the agent


def test_version(device, litellm_proxy):
    done = device.run(["--version"], litellm_proxy)
    assert (done.returncode, done.stdout.strip()) == (0, f"codex-lite {pkgbuild.version()}"), done.stderr


def make_workspace(device: Device, name: str) -> str:
    """A git repository inside the root with TODOs where a search must not go."""
    inside = f"/work/{name}"
    repo = make_git_repo(device.host_path(inside), {
        "calc.py": "def add(a, b):\n    # TODO: fix the sign\n    return a - b\n",
        "README.md": "# calc\n",
        "node_modules/pkg/index.js": "// TODO: never searched\n",
    })
    (repo / ".git" / "TODO-notes").write_text("TODO: never searched\n")
    return inside


def test_exec_turn_then_stats(device, litellm_proxy, model):
    cwd = make_workspace(device, "exec")
    model.set_script([
        completion(tool_calls=[("shell", {"command": ["grep", "-rn", "TODO", "."]})]),
        completion(tool_calls=[("shell", {"command": ["sh", "-c", "grep -rn TODO *"]})]),
        completion(tool_calls=[("apply_patch", {"input": PATCH})]),
        completion(ENVELOPE),
        completion("Fixed: add() adds now."),
    ])
    done = device.run(["exec", "--json", "-m", "scripted", "fix calc.py"], litellm_proxy, cwd=cwd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "<|" not in done.stdout + done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    items = [e["item"] for e in events if e["type"] == "item.completed"]
    commands = [i for i in items if i["type"] == "command_execution"]
    assert [c["exit_code"] for c in commands] == [0, 0, 0], commands
    for search in commands[:2]:
        assert "calc.py:2:" in search["aggregated_output"], search
        assert "never searched" not in search["aggregated_output"], search
    assert "return a + b" in commands[2]["aggregated_output"]  # the envelope's `cat`, after the patch
    assert [i["status"] for i in items if i["type"] == "file_change"] == ["completed"]
    assert [i["text"] for i in items if i["type"] == "agent_message"] == ["Fixed: add() adds now."]
    assert events[-1]["type"] == "turn.completed"
    assert "return a + b" in device.host_path(f"{cwd}/calc.py").read_text()
    assert len(model.chat_requests()) == 5
    if device.name == "mipsel":  # no bash: the probe of ash's features is kept for the next run
        assert device.host_path(f"{device.home}/.codex-lite/shell-features.json").is_file()

    stats = device.run(["stats", "--json"], litellm_proxy, cwd=cwd)
    assert stats.returncode == 0, stats.stderr
    totals = json.loads(stats.stdout)["all_time"]
    assert (totals["turns"], totals["requests"], totals["tool_calls"]) == (1, 5, 4)


def test_repl_once_under_tmux(device, litellm_proxy, model, tmp_path):
    cwd = make_workspace(device, "repl")
    model.set_script([completion("pong from the model")])
    env = device.env(litellm_proxy, {"TERM": "xterm-256color"})
    env.pop("NO_COLOR")
    term = Tmux({"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm-256color"}, tmp_path)
    try:
        term.start(er.chroot_argv(device.root, [device.launcher, "-m", "scripted"], env, cwd=cwd),
                   width=100, height=30)
        term.wait_for("/help for commands", timeout=TIMEOUT)
        term.type("ping")
        term.wait_for("pong from the model", timeout=TIMEOUT)
        term.type("/quit")
        assert term.wait_dead(timeout=TIMEOUT) == "0", term.screen()
    finally:
        term.close()


# --------------------------------------------------------------------------- the .apk on the router


def test_apk_on_the_router(packages, tmp_path_factory, litellm_proxy):
    """apk-tools 3 installs the .apk into the mipsel root: post-install compiles with the router's
    python3 under BusyBox ash (apk runs it chrooted), the agent runs, `apk del` leaves nothing."""
    root = _root("mipsel", tmp_path_factory)
    try:
        er.trim_stdlib(root, set(pkgbuild.openwrt_depends()))
        stubs = stub_packages(root.parent / "stubs", ["libc", *pkgbuild.openwrt_depends()])
        added = apk("--root", str(root), "--initdb", "--allow-untrusted", "--no-network", "add", *stubs,
                    str(packages["apk"]))
        assert added.returncode == 0, added.stdout + added.stderr
        lib = root / "usr" / "lib" / "codex-lite"
        assert (lib / ".compiled-on-device").is_file() and not list(lib.rglob("*.py")), added.stdout
        router = Device("mipsel", root, "/usr/bin/codex-lite", "/root", added.stdout)
        done = router.run(["--version"], litellm_proxy)
        assert done.stdout.strip() == f"codex-lite {pkgbuild.version()}", done.stderr
        removed = apk("--root", str(root), "--no-network", "del", "codex-lite")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert not lib.exists() and not (root / "usr" / "bin" / "codex-lite").exists()
        assert not (root / "lib" / "apk" / "packages" / "codex-lite.list").exists()
    finally:
        er.remove_tree(root)
