"""Shell resolution, platform facts and the no-hard-coded-paths rule (issue 8)."""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import codex_lite
from codex_lite import context, platform_info
from codex_lite.tools import shells

BUSYBOX = shutil.which("busybox")
needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="apt-get install busybox-static")


@pytest.fixture
def bbpath(tmp_path):
    """A PATH folder holding only BusyBox applets, like an OpenWrt router."""
    if BUSYBOX is None:
        pytest.skip("apt-get install busybox-static")
    folder = tmp_path / "bb"
    folder.mkdir()
    for applet in subprocess.run([BUSYBOX, "--list"], check=False, capture_output=True, text=True).stdout.split():
        os.symlink(BUSYBOX, folder / applet)
    return str(folder)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    shells.reset_notes()
    monkeypatch.delenv("SHELL", raising=False)


# ----------------------------------------------------------------------------- shells


def test_script_index():
    assert shells.script_index(["bash", "-lc", "x"]) == 2
    assert shells.script_index(["bash", "-l", "-c", "x", "a0"]) == 3
    assert shells.script_index(["bash", "-e", "-o", "pipefail", "-c", "x"]) == 5
    assert shells.script_index(["sh", "script.sh"]) is None
    assert shells.script_index(["python3", "-c", "x"]) is None
    assert shells.script_index(["bash", "-c"]) is None


def test_bash_present_is_left_alone():
    if not shutil.which("bash"):
        pytest.skip("no bash")
    r = shells.resolve(["bash", "-lc", "echo hi"])
    assert r.argv == ["bash", "-lc", "echo hi"] and r.note is None


@needs_busybox
def test_missing_bash_runs_with_ash_without_login_and_says_so_once(bbpath):
    r = shells.resolve(["bash", "-lc", "echo hi"], path=bbpath)
    assert r.argv == [os.path.join(bbpath, "ash"), "-c", "echo hi"]
    assert r.asked == "bash" and "BusyBox ash" in r.note and "bash-only" in r.note
    again = shells.resolve(["bash", "-lc", "echo again"], path=bbpath)
    assert again.argv[0].endswith("ash") and again.note is None  # told once
    p = subprocess.run(r.argv, check=False, capture_output=True, text=True, env={"PATH": bbpath})
    assert p.stdout == "hi\n"


@needs_busybox
def test_env_bash_is_resolved_too(bbpath):
    r = shells.resolve(["env", "LC_ALL=C", "bash", "-lc", "echo hi"], path=bbpath)
    assert r.argv == ["env", "LC_ALL=C", os.path.join(bbpath, "ash"), "-c", "echo hi"]
    assert r.asked == "bash"
    p = subprocess.run(r.argv, check=False, capture_output=True, text=True, env={"PATH": bbpath})
    assert p.stdout == "hi\n"


@needs_busybox
def test_zsh_and_sh_fall_back_too(bbpath, tmp_path):
    r = shells.resolve(["zsh", "-lc", "echo z"], path=bbpath)
    assert os.path.basename(r.argv[0]) in ("ash", "sh") and r.argv[1:] == ["-c", "echo z"]
    only_ash = tmp_path / "onlyash"
    only_ash.mkdir()
    os.symlink(BUSYBOX, only_ash / "ash")
    r = shells.resolve(["sh", "-c", "echo s"], path=str(only_ash))
    assert r.argv == [str(only_ash / "ash"), "-c", "echo s"]


@needs_busybox
def test_user_shell_is_preferred_when_usable(bbpath, monkeypatch):
    monkeypatch.setenv("SHELL", os.path.join(bbpath, "sh"))
    r = shells.resolve(["bash", "-lc", "echo hi"], path=bbpath)
    assert r.argv[0] == os.path.join(bbpath, "sh")
    monkeypatch.setenv("SHELL", os.path.join(bbpath, "nologin-does-not-exist"))
    shells.reset_notes()
    assert shells.resolve(["bash", "-lc", "x"], path=bbpath).argv[0].endswith("ash")


@needs_busybox
def test_options_are_kept_but_login_flags_dropped(bbpath):
    r = shells.resolve(["bash", "--login", "-eu", "-o", "pipefail", "-lic", "echo x", "arg0"], path=bbpath)
    assert r.argv[1:] == ["-eu", "-o", "pipefail", "-c", "echo x", "arg0"]


@needs_busybox
@pytest.mark.parametrize("script", ["arr=(a b); echo ${arr[1]}", "cat <<< hello",
                                    "for ((i=0; i<3; i++)); do echo $i; done"])
def test_bash_only_script_gets_an_explanation_and_nothing_runs(bbpath, tmp_path, script):
    marker = tmp_path / "ran"
    r = shells.resolve(["bash", "-lc", f"touch {marker}; {script}"], path=bbpath)
    p = subprocess.run(r.argv, check=False, capture_output=True, text=True, env={"PATH": bbpath})
    assert p.returncode == 2  # not 127
    assert "bash is not installed here" in p.stderr and "Nothing was run" in p.stderr
    assert not marker.exists()


def test_explain_failure_for_runtime_bash_isms():
    r = shells.Resolved(["ash", "-c", "x"], None, "bash", "ash")
    hint = shells.explain_failure(r, 2, "ash: line 1: syntax error: bad substitution\n")
    assert "because bash is not installed" in hint and "POSIX sh" in hint
    assert shells.explain_failure(r, 0, "bad substitution") is None
    assert shells.explain_failure(r, 1, "grep: no match") is None
    assert shells.explain_failure(shells.Resolved(["bash"]), 2, "syntax error") is None


def test_missing_program_is_left_for_the_shell_tool():
    r = shells.resolve(["definitely-not-a-program-xyz", "a"])
    assert r.argv == ["definitely-not-a-program-xyz", "a"] and r.note is None


def test_missing_absolute_std_path_maps_through_path(tmp_path):
    """Termux has no /bin/bash or /usr/bin/env: use the one on PATH."""
    folder = tmp_path / "prefix-bin"
    folder.mkdir()
    fake = folder / "frobshell"
    fake.write_text("#!/bin/sh\n")  # content never runs
    fake.chmod(0o755)
    r = shells.resolve([os.path.join(os.sep + "usr", "bin", "frobshell"), "-c", "x"], path=str(folder))
    assert r.argv == [str(fake), "-c", "x"] and "PATH" in r.note


def test_script_shell_reports_bash_or_its_replacement(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert shells.script_shell(str(empty)).shell is None
    if shutil.which("bash"):
        assert shells.script_shell().note is None


# ----------------------------------------------------------------------------- platform facts


def test_mem_available_matches_proc():
    with open("/proc/meminfo") as f:
        line = next(x for x in f if x.startswith("MemAvailable:"))
    kb = int(line.split()[1])
    got = platform_info.mem_available_bytes()
    assert got is not None and abs(got - kb * 1024) < 256 * 1024 * 1024


def test_mem_available_without_proc_and_psutil(monkeypatch):
    def boom():
        raise OSError("no proc")

    monkeypatch.setattr(platform_info, "_meminfo", boom)
    monkeypatch.setitem(sys.modules, "psutil", None)
    assert platform_info.mem_available_bytes() is None


def test_temp_dir_honours_tmpdir(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert platform_info.temp_dir() == str(tmp_path)


def test_temp_dir_skips_unwritable_and_uses_prefix_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    monkeypatch.delenv("TMP", raising=False)
    monkeypatch.delenv("TEMP", raising=False)
    (tmp_path / "usr" / "tmp").mkdir(parents=True)
    monkeypatch.setenv("PREFIX", str(tmp_path / "usr"))
    assert platform_info.temp_dir() == str(tmp_path / "usr" / "tmp")


def test_openwrt_platform(monkeypatch):
    release = {"DISTRIB_ID": "OpenWrt", "DISTRIB_RELEASE": "23.05.3",
               "DISTRIB_DESCRIPTION": "OpenWrt 23.05.3 r23809-234f1a2efa", "DISTRIB_ARCH": "mips_24kc"}
    monkeypatch.setattr(platform_info, "_read_kv", lambda p: release if "openwrt" in p else {})
    kind, desc = platform_info.platform_name()
    assert kind == "openwrt" and desc == "OpenWrt 23.05.3 r23809-234f1a2efa (mips_24kc)"


def test_termux_platform(monkeypatch):
    monkeypatch.setattr(platform_info, "_read_kv", lambda p: {})
    monkeypatch.setattr(sys, "platform", "android")
    assert platform_info.platform_name()[0] == "termux"


def test_termux_environment_mentions_tmpdir(monkeypatch, tmp_path):
    monkeypatch.setattr(platform_info, "_read_kv", lambda p: {})
    monkeypatch.setattr(sys, "platform", "android")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    text = context.environment_text(str(tmp_path))
    assert "<platform>Termux on Android" in text and f"<temp_dir>{tmp_path} (use $TMPDIR" in text


def test_openwrt_release_file_parsing(tmp_path):
    f = tmp_path / "openwrt_release"
    f.write_text("DISTRIB_ID='OpenWrt'\nDISTRIB_DESCRIPTION='OpenWrt 24.10.0 r28427'\n")
    assert platform_info._read_kv(str(f))["DISTRIB_DESCRIPTION"] == "OpenWrt 24.10.0 r28427"


@needs_busybox
def test_environment_text_on_a_busybox_device(bbpath, monkeypatch, tmp_path):
    monkeypatch.setattr(platform_info, "_read_kv", lambda p: {
        "DISTRIB_DESCRIPTION": "OpenWrt 23.05.3 r23809", "DISTRIB_ARCH": "mips_24kc"} if "openwrt" in p else {})
    text = context.environment_text(str(tmp_path), wrap=True, path=bbpath)
    assert text.startswith("<environment_context>") and text.endswith("</environment_context>")
    assert "<platform>OpenWrt 23.05.3 r23809 (mips_24kc)</platform>" in text
    assert "<shell>ash (BusyBox); bash is not installed" in text
    assert "<tools>rg: no, git: no, python3: no</tools>" in text
    assert "<memory_available>" in text and " MB in the workspace</disk_free>" in text
    d = context.describe(str(tmp_path), path=bbpath)
    assert d["disk_free_bytes"] > 0 and d["busybox"] and d["shell"] == "ash"


def test_environment_text_here():
    text = context.environment_text(os.getcwd())
    assert "<cwd>" in text and "<tools>" in text and "<environment_context>" not in text


def test_platform_info_import_stays_light():
    """The environment block (platform_info's facts and the shell) imports nothing heavy."""
    code = ("import sys; import codex_lite.context as c; c.environment_text('.');"
            "bad = {'psutil', 'platform', 'tempfile', 'urllib3', 'prompt_toolkit'} & set(sys.modules);"
            "print(sorted(bad))")
    out = subprocess.run([sys.executable, "-S", "-c", code], check=False, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(codex_lite.__file__)))
    assert out.stdout.strip() == "[]", out.stderr


# ----------------------------------------------------------------------------- no hard-coded paths

_BANNED = ("/bin/sh", "/bin/bash", "/usr/bin/env")


def _runtime_strings(tree: ast.AST):
    """String constants that are not docstrings (docstrings may talk about these paths)."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


def _tmp_literal(text: str) -> bool:
    i = text.find("/tmp")
    while i >= 0:
        before = text[i - 1] if i else " "
        after = text[i + 4] if i + 4 < len(text) else "/"
        if not (before.isalnum() or before in "_$}.") and not (after.isalnum() or after == "_"):
            return True
        i = text.find("/tmp", i + 1)
    return False


def test_no_hard_coded_shell_or_tmp_paths_in_the_package():
    root = pathlib.Path(codex_lite.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "_vendor" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _runtime_strings(tree):
            if any(b in node.value for b in _BANNED) or _tmp_literal(node.value):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:60]!r}")
    assert not offenders, "hard-coded paths on run-time code paths:\n" + "\n".join(offenders)


def test_the_static_check_catches_offenders():
    tree = ast.parse('"""Docs may say /bin/sh and /tmp."""\nX = "/tmp/x"\nY = ["/bin/bash", "-c"]\n'
                     'Z = "$PREFIX/tmp"\n')
    found = [n.value for n in _runtime_strings(tree)
             if any(b in n.value for b in _BANNED) or _tmp_literal(n.value)]
    assert found == ["/tmp/x", "/bin/bash"]


# ----------------------------------------------------------------------------- bash-isms at run time


@pytest.mark.parametrize("script,used", [
    ("[[ -f x ]] && echo y", {"[["}),
    ("if [[ $a == b ]]; then source x; fi", {"[[", "source"}),
    ("echo ${x/a/b} ${x:-d} ${#x} ${x%.py} ${x:=1}", {"subst"}),
    ("echo {1..3} {a,b}", {"brace"}),
    ("find . -exec echo {} +; awk '{print $1,$2}' f; echo '{a,b}'", set()),
    ("echo ${!v} ${x^^} ${a[1]} ${s:2:3}", {"indirect", "casemod", "array", "substring"}),
    ('echo "[[ not a command"; echo source', set()),
    ("case $x in a) echo ;; esac", set()),  # not parsed: left to sh -n and the note
])
def test_bashisms(script, used):
    assert shells.bashisms(script) == used


@needs_busybox
def test_shell_features_probe(bbpath):
    have = shells.shell_features(os.path.join(bbpath, "ash"))
    assert "brace" not in have and "array" not in have
    if shutil.which("bash"):
        assert {"[[", "brace", "array", "indirect"} <= shells.shell_features(shutil.which("bash"))


def test_which_answers_like_shutil_which(tmp_path, monkeypatch):
    """platform_info.which replaces shutil.which on the start-up path (shutil loads bz2 and lzma)."""
    a, b, c = (tmp_path / n for n in "abc")
    for folder in (a, b, c):
        folder.mkdir()
    (a / "tool").write_text("")  # not executable
    (b / "tool").write_text("#!/bin/sh\n")
    (b / "tool").chmod(0o755)
    (c / "tool").mkdir()  # a folder is not a program
    (tmp_path / "local").write_text("#!/bin/sh\n")
    (tmp_path / "local").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    paths = [f"{a}:{b}", f"{c}:{a}", f"{a}::{b}", "", ":", f"{b}:{b}", str(tmp_path)]
    names = ["tool", "local", "./local", str(b / "tool"), str(a / "tool"), "missing", "sh"]
    for path in [*paths, None]:
        for name in names:
            assert platform_info.which(name, path=path) == shutil.which(name, path=path), (name, path)
    monkeypatch.delenv("PATH")
    assert platform_info.which("sh") == shutil.which("sh")


@needs_busybox
def test_shell_features_are_remembered_per_binary(bbpath, tmp_path, monkeypatch):
    """The probe forks the shell seven times (~150 ms on a router): a later run reads the answer
    from $CODEX_HOME/shell-features.json, until the shell binary changes."""
    calls = tmp_path / "calls"
    shell = tmp_path / "ash"  # a real ash that counts how often it is started
    shell.write_text(f'#!{BUSYBOX} sh\necho x >> {calls}\nexec {BUSYBOX} sh "$@"\n')
    shell.chmod(0o755)
    monkeypatch.setattr(shells, "_features_cache", {})
    monkeypatch.setattr(shells, "_features_file", None)
    store = tmp_path / "home" / "shell-features.json"
    shells.remember_features_in(str(store))
    first = shells.shell_features(str(shell))
    assert calls.read_text().count("x") == 1 and "array" not in first
    assert first == shells.shell_features(os.path.join(bbpath, "ash"))
    shells._features_cache.clear()  # a new run
    assert shells.shell_features(str(shell)) == first
    assert calls.read_text().count("x") == 1 and store.is_file()
    shell.write_text(shell.read_text() + "# upgraded\n")  # another binary: probed again
    shells._features_cache.clear()
    assert shells.shell_features(str(shell)) == first
    assert calls.read_text().count("x") == 2
    store.write_text("not json")  # a damaged file is probed over, never trusted
    shells._features_cache.clear()
    assert shells.shell_features(str(shell)) == first and calls.read_text().count("x") == 3


@needs_busybox
@pytest.mark.parametrize("script,hint", [
    ("touch MARK; for i in {1..3}; do echo $i; done", "brace expansion"),
    ("touch MARK; x=abc; echo ${x^^}", "use tr"),
    ("touch MARK; v=x; echo ${!v}", "use eval"),
])
def test_runtime_bashisms_are_explained_before_running(bbpath, tmp_path, script, hint):
    r = shells.resolve(["bash", "-lc", script], path=bbpath)
    p = subprocess.run(r.argv, check=False, capture_output=True, text=True, cwd=tmp_path,
                       env={"PATH": bbpath})
    assert p.returncode == 2 and hint in p.stderr and "Nothing was run" in p.stderr
    assert not (tmp_path / "MARK").exists()


@needs_busybox
def test_features_the_fallback_has_still_run(bbpath, tmp_path):
    have = shells.shell_features(os.path.join(bbpath, "ash"))
    script = "x=abc; [ -n \"$x\" ] && echo ok" + ("; [[ -n $x ]] && echo ok2" if "[[" in have else "")
    r = shells.resolve(["bash", "-lc", script], path=bbpath)
    p = subprocess.run(r.argv, check=False, capture_output=True, text=True, env={"PATH": bbpath})
    assert p.returncode == 0 and p.stdout.startswith("ok")
