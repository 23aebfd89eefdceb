"""Install each package into an empty root and run what got installed, as a device would.

Only the package's files plus an interpreter: a fresh venv with nothing in site-packages (psutil
copied in for the variants that have it), PYTHONPATH unset, no host environment. Each run is
capped at a router's 128 MB of address space (`prlimit --as`) and its peak RSS is checked. One
`codex-lite exec --json` turn goes to the scripted model server and runs a real shell command.
Python 3.10 to 3.14: every such interpreter found on the machine runs the .ipk (the current one
always does; pyenv's are picked up when installed).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support.git import make_git_repo
from scripted_server import completion
from test_packaging import TERMUX_PREFIX, build_packages_once, dpkg, make_stub_deb, read_ipk, termux_root

ROUTER_BYTES = 128 * 1024 * 1024
MAX_RSS_BYTES = 48 * 1024 * 1024  # exec measures ~27-29 MB; the router needs room for the commands it runs
RUN_TIMEOUT = 60.0
# OpenWrt's shell is BusyBox ash: the .ipk's launcher and scripts run under it. Termux has dash.
ASH = [shutil.which("busybox") or "/bin/busybox", "sh"]
DASH = ["sh"]


# --------------------------------------------------------------------------- interpreters


def base_python() -> str:
    """The interpreter under the test venv, not the venv (whose site-packages has everything)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def other_pythons() -> list[str]:
    """Python 3.10-3.14 interpreters on this machine other than the current one (pyenv or PATH)."""
    found = {}
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for minor in range(10, 15):
        if minor == sys.version_info[1]:
            continue
        candidates = [p for r in roots if r for p in sorted(glob.glob(f"{r}/versions/3.{minor}.*/bin/python3.{minor}"))]
        candidates.append(shutil.which(f"python3.{minor}") or "")
        for path in filter(None, candidates):
            if subprocess.run([path, "-c", "pass"], check=False, capture_output=True, timeout=30).returncode == 0:
                found[minor] = path
                break
    return list(found.values())


def make_clean_python(dest: Path, base: str, with_psutil: bool) -> Path:
    """A venv without pip or anything else; psutil (an abi3 build) copied in when asked."""
    subprocess.run([base, "-m", "venv", "--without-pip", str(dest)], check=True, timeout=120)
    python = dest / "bin" / "python3"
    if with_psutil:
        import psutil

        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        shutil.copytree(Path(psutil.__file__).parent, Path(purelib) / "psutil",
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return python


@pytest.fixture(scope="session")
def packages(tmp_path_factory) -> dict[str, Path]:
    return build_packages_once(tmp_path_factory)


@pytest.fixture(scope="session")
def pythons(tmp_path_factory) -> dict[str, Path]:
    """name -> clean interpreter: base with and without psutil, other minors with psutil."""
    folder = tmp_path_factory.mktemp("pythons")
    made = {"base-psutil": make_clean_python(folder / "base-psutil", base_python(), True),
            "base-nopsutil": make_clean_python(folder / "base-nopsutil", base_python(), False)}
    for path in other_pythons():
        made[Path(path).name] = make_clean_python(folder / Path(path).name, path, True)
    return made


# --------------------------------------------------------------------------- installing


def unpack_ipk(ipk: Path, root: Path) -> Path:
    """What opkg puts on disk: data.tar.gz of the outer gzip'd tar, extracted by GNU tar."""
    root.mkdir(parents=True)
    outer = root.parent / (root.name + "-outer")
    outer.mkdir()
    subprocess.run(["tar", "-xzf", str(ipk), "-C", str(outer)], check=True)
    subprocess.run(["tar", "-xzf", str(outer / "data.tar.gz"), "-C", str(root)], check=True)
    return root / "usr" / "bin" / "codex-lite"


def install_deb(deb: Path, root: Path) -> Path:
    """A real `dpkg --root` install (with stub python packages for Depends)."""
    termux_root(root)
    stubs = [make_stub_deb(root.parent, n) for n in ("python", "python-psutil")]
    assert dpkg(root, "-i", *map(str, stubs)).returncode == 0
    result = dpkg(root, "-i", str(deb))
    assert result.returncode == 0, result.stderr
    return root / TERMUX_PREFIX.lstrip("/") / "bin" / "codex-lite"


# --------------------------------------------------------------------------- running


def device_env(python: Path, home: Path, base_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Nothing from the host: the clean interpreter first on PATH, no PYTHONPATH."""
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(home), "CODEX_HOME": str(home / ".codex-lite"),
           "LITELLM_BASE_URL": base_url, "LITELLM_API_KEY": "test-key", "LANG": "C.UTF-8", "TERM": "dumb",
           "NO_COLOR": "1", "NO_PROXY": "127.0.0.1,localhost", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1", "CODEX_LITE_PYTHON": str(python)}
    env.update(extra or {})
    return env


def run_capped(launcher: Path, args: list[str], cwd: Path, env: dict[str, str],
               shell: list[str] = ASH) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS bytes) of `SHELL LAUNCHER ARGS` under a 128 MB cap."""
    cmd = ["prlimit", f"--as={ROUTER_BYTES}", "--", *shell, str(launcher), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        status, peak = _wait_peak(proc.pid, RUN_TIMEOUT)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), peak


def _wait_peak(pid: int, timeout: float) -> tuple[int, int]:
    """(wait status, peak RSS) of one process, polling its VmHWM until it exits. prlimit, sh and
    python exec one another, so the pid is the agent's. (wait4's ru_maxrss would not do: Linux
    counts the RSS the child had right after forking from this big pytest process.)"""
    deadline, peak = time.monotonic() + timeout, 0
    while True:
        peak = max(peak, vm_hwm(pid))
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, peak
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1], peak
        time.sleep(0.01)


def vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def one_exec_turn(launcher: Path, python: Path, model, tmp: Path, shell: list[str] = ASH) -> list[dict]:
    """`codex-lite exec --json` that runs `ls` and answers: the JSONL events, checked."""
    repo = make_git_repo(tmp / "repo")
    model.set_script([completion(tool_calls=[("shell", {"command": ["ls"]})]), completion("done")])
    code, out, err, rss = run_capped(launcher, ["exec", "--json", "list the files"], repo,
                                     device_env(python, tmp, model.base_url), shell)
    assert code == 0, f"exit {code}\n{out[-3000:]}\n{err[-3000:]}"
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    items = [e["item"] for e in events if e.get("type") == "item.completed"]
    commands = [i for i in items if i.get("type") == "command_execution"]
    assert commands and commands[0]["exit_code"] == 0 and "calc.py" in commands[0]["aggregated_output"]
    assert [i["text"] for i in items if i.get("type") == "agent_message"] == ["done"]
    assert events[-1]["type"] == "turn.completed"
    assert rss < MAX_RSS_BYTES, f"peak RSS {rss / 1e6:.1f} MB"
    return events


def check_version(launcher: Path, python: Path, tmp: Path, shell: list[str] = ASH) -> None:
    code, out, err, _ = run_capped(launcher, ["--version"], tmp, device_env(python, tmp, "http://127.0.0.1:9"),
                                   shell)
    assert (code, out.strip()) == (0, f"codex-lite {read_version()}"), err


def read_version() -> str:
    import pkgbuild

    return pkgbuild.version()


# --------------------------------------------------------------------------- the tests


def test_ipk_runs_on_every_python(packages, pythons, model, tmp_path):
    """The unpacked .ipk with each interpreter: 3.10 .. 3.14 as found, psutil present. Each one
    also compiles every installed file, so syntax newer than it fails even where nothing imports it."""
    launcher = unpack_ipk(packages["ipk"], tmp_path / "root")
    lib = tmp_path / "root" / "usr" / "lib" / "codex-lite"
    for name, python in pythons.items():
        if name == "base-nopsutil":
            continue
        work = tmp_path / name
        work.mkdir()
        compiled = subprocess.run([str(python), "-m", "compileall", "-q", str(lib)], capture_output=True,
                                  text=True, timeout=300, check=False)
        assert compiled.returncode == 0, f"{name}: {compiled.stdout[-3000:]}"
        check_version(launcher, python, work)
        one_exec_turn(launcher, python, model, work)
    assert not list((tmp_path / "root").rglob("python3.1*")), "a minor version crept into the tree"


def test_ipk_runs_without_psutil(packages, pythons, model, tmp_path):
    launcher = unpack_ipk(packages["ipk"], tmp_path / "root")
    python = pythons["base-nopsutil"]
    assert subprocess.run([str(python), "-c", "import psutil"], check=False, capture_output=True).returncode != 0
    check_version(launcher, python, tmp_path)
    one_exec_turn(launcher, python, model, tmp_path)


def test_ipk_postinst_compiles_then_prerm_cleans(packages, pythons, model, tmp_path):
    """postinst leaves legacy .pyc only (the feed package's layout); the agent runs from them;
    a second postinst is a no-op; prerm removes what opkg does not know about, and only then."""
    root = tmp_path / "root"
    launcher = unpack_ipk(packages["ipk"], root)
    _, control, _ = read_ipk(packages["ipk"])
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("postinst", "prerm"):
        (scripts / name).write_bytes(control[name][1])
    python = pythons["base-nopsutil"]
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "PKG_ROOT": str(root)}
    for _ in range(2):
        result = subprocess.run([*ASH, str(scripts / "postinst"), "configure"], check=False, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    lib = root / "usr" / "lib" / "codex-lite"
    assert not list(lib.rglob("*.py")) and not list(lib.rglob("__pycache__"))
    assert (lib / "codex_lite" / "cli.pyc").is_file() and (lib / "vendor" / "urllib3" / "__init__.pyc").is_file()
    assert (lib / ".compiled-on-device").is_file()
    one_exec_turn(launcher, python, model, tmp_path)
    assert not list(lib.rglob("__pycache__")), "sourceless: nothing new is written at run time"
    assert subprocess.run([*ASH, str(scripts / "prerm"), "remove"], check=False, env=env, timeout=60).returncode == 0
    assert not lib.exists()


@pytest.mark.parametrize("variant", ["base-psutil", "base-nopsutil"])
def test_deb_installed_by_dpkg_runs(packages, pythons, model, tmp_path, variant):
    """Termux: dpkg --root install, then the installed launcher with a clean python3."""
    launcher = install_deb(packages["deb"], tmp_path / "root")
    python = pythons[variant]
    check_version(launcher, python, tmp_path, DASH)
    one_exec_turn(launcher, python, model, tmp_path, DASH)


def test_launcher_ignores_the_workspace_and_user_site(packages, pythons, model, tmp_path):
    """A workspace with its own urllib3.py and codex_lite/ must not replace the package's."""
    launcher = unpack_ipk(packages["ipk"], tmp_path / "root")
    repo = make_git_repo(tmp_path / "repo", {"urllib3.py": "raise SystemExit('shadowed urllib3')\n",
                                             "codex_lite/__init__.py": "raise SystemExit('shadowed')\n",
                                             "calc.py": "x = 1\n"})
    model.set_script([completion("ok")])
    code, out, err, _ = run_capped(launcher, ["exec", "--json", "hi"], repo,
                                   device_env(pythons["base-nopsutil"], tmp_path, model.base_url))
    assert code == 0 and "shadowed" not in out + err, err


def test_prerm_leaves_a_bytecode_package_to_opkg(packages, tmp_path):
    """The SDK's package ships .pyc and no marker: prerm must not delete files opkg/apk own."""
    root = tmp_path / "root"
    unpack_ipk(packages["ipk"], root)
    _, control, _ = read_ipk(packages["ipk"])
    (tmp_path / "prerm").write_bytes(control["prerm"][1])
    result = subprocess.run([*ASH, str(tmp_path / "prerm"), "remove"], env={"PKG_ROOT": str(root),
                            "PATH": "/usr/bin:/bin"}, check=False, capture_output=True, timeout=60)
    assert result.returncode == 0
    assert (root / "usr" / "lib" / "codex-lite" / "codex_lite" / "cli.py").is_file()


def test_launcher_through_a_symlink(packages, pythons, tmp_path):
    """Someone links the launcher into ~/bin: it still finds its private folder."""
    launcher = unpack_ipk(packages["ipk"], tmp_path / "root")
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "codex-lite"
    link.symlink_to(launcher)
    check_version(link, pythons["base-nopsutil"], tmp_path)
