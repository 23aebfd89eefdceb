"""The shell runner and the shell tool, with real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from codex_lite import events as ev
from codex_lite.tools.shell import BoundedOutput, ShellSettings, clip_for_model, run_command
from codex_lite.tools.toolbox import ApprovalDecision, ToolBox


def toolbox(tmp_path, **kw):
    seen: list[ev.Event] = []
    box = ToolBox(cwd=str(tmp_path), emit=seen.append, shell=ShellSettings(**kw))
    return box, seen


def shell(box, **args):
    return box.run("call_1", "shell", args)


def test_runs_argv_and_reports_exit_code(tmp_path):
    box, seen = toolbox(tmp_path)
    out = json.loads(shell(box, command=["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert out["metadata"]["exit_code"] == 3
    assert "out" in out["output"] and "err" in out["output"]
    assert isinstance(out["metadata"]["duration_seconds"], float)
    started = [e for e in seen if isinstance(e, ev.CommandStarted)]
    result = [e for e in seen if isinstance(e, ev.ToolResult)][-1]
    assert started[0].command == "sh -c 'echo out; echo err >&2; exit 3'"
    assert result.metadata["exit_code"] == 3 and not result.ok
    assert result.metadata["peak_rss_kb"] > 0


def test_string_command_runs_through_a_shell(tmp_path):
    box, _ = toolbox(tmp_path)
    out = json.loads(shell(box, command="echo $((2+3))"))
    assert out["output"].strip() == "5"


def test_workdir_relative_to_session_and_missing_workdir(tmp_path):
    (tmp_path / "sub").mkdir()
    box, _ = toolbox(tmp_path)
    out = json.loads(shell(box, command=["pwd"], workdir="sub"))
    assert out["output"].strip() == str(tmp_path / "sub")
    message = shell(box, command=["pwd"], workdir="nope")
    assert "workdir does not exist" in message


def test_missing_program_is_a_clear_error(tmp_path):
    box, seen = toolbox(tmp_path)
    message = shell(box, command=["definitely-not-a-program-xyz"])
    assert "program not found: definitely-not-a-program-xyz" in message
    assert seen[-1].metadata["exit_code"] == 127


@pytest.mark.parametrize("args, hint", [
    ({"command": []}, "non-empty list of strings"),
    ({"command": [1, 2]}, "non-empty list of strings"),
    ({}, "non-empty list of strings"),
    ({"command": ["true"], "timeout_ms": -1}, "timeout_ms must be a positive number"),
    ({"command": ["true"], "workdir": 5}, "workdir must be a string"),
])
def test_bad_arguments_go_back_to_the_model(tmp_path, args, hint):
    box, seen = toolbox(tmp_path)
    assert hint in box.run("c", "shell", args)
    assert isinstance(seen[-1], ev.ToolResult) and not seen[-1].ok


def test_unknown_tool_lists_the_tools_with_an_example_each(tmp_path):
    box, _ = toolbox(tmp_path)
    answer = box.run("c", "browser", {})
    assert "no tool named 'browser'" in answer
    assert '{"command": ["bash", "-lc", "ls -la"]}' in answer and "*** Begin Patch" in answer
    assert '"plan"' in answer


def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    box, seen = toolbox(tmp_path)
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    out = json.loads(shell(box, command=["sh", "-c", script], timeout_ms=500))
    assert time.monotonic() - started < 10
    assert out["metadata"]["exit_code"] == 124
    assert "timed out" in out["output"]
    child = int(pidfile.read_text())
    assert _gone(child), "the background child survived the timeout"


def _gone(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(") ")[1].startswith("Z"):
                return True
        time.sleep(0.1)
    return False


def test_huge_output_keeps_memory_flat_and_marks_omission(tmp_path):
    """200 MB of output: the runner keeps head and tail only, and the agent's RSS stays small."""
    code = textwrap.dedent(f"""
        import json, resource, sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
        from codex_lite.tools.shell import ShellSettings, run_command
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = run_command(["sh", "-c", "yes line-of-output | head -c 200000000"], ".", ShellSettings())
        print(json.dumps({{"growth": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                          "len": len(r.output), "marked": "[... omitted " in r.output,
                          "head": r.output[:30]}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    data = json.loads(proc.stdout)
    assert data["growth"] < 8 * 1024, f"RSS grew by {data['growth']} KiB for 200 MB of output"
    assert data["len"] < 1_100_000
    assert data["head"].startswith("line-of-output\n")
    assert data["marked"]


def test_model_sees_head_and_tail_with_marker():
    text = "".join(f"line {i}\n" for i in range(1000))
    clipped = clip_for_model(text)
    assert clipped.startswith("line 0\n") and clipped.endswith("line 999\n")
    assert "[... omitted 744 of 1000 lines ...]" in clipped
    assert clip_for_model("short\n") == "short\n"


def test_a_line_longer_than_the_budget_is_cut_not_dropped():
    clipped = clip_for_model("a" * 6000 + "b" * 6000)
    head, _, tail = clipped.partition("\n[... omitted ")
    assert head == "a" * 5120 and tail.endswith("b" * 5120)
    assert "omitted 1760 of 12000 bytes ...]" in clipped


def test_clipping_never_splits_a_character():
    clipped = clip_for_model("é" * 20000)
    assert "\ufffd" not in clipped and len(clipped.encode()) <= 10 * 1024 + 100


def test_clipping_bytes_matches_lines_for_short_lines():
    out = BoundedOutput(limit=64 * 1024)
    for i in range(100_000):
        out.add(f"line {i}\n".encode())
    clipped = out.for_model()
    assert clipped.startswith("line 0\nline 1\n") and clipped.endswith("line 99999\n")
    assert "[... omitted 99744 of 100000 lines ...]" in clipped


def test_model_output_redacts_before_it_cuts():
    """A secret anywhere, across the kept head's end or the tail's start included, never reaches
    the model, not even in part."""
    from codex_lite.security.redact import Redactor

    key = "sk-live-0123456789abcdefghijkl"
    redactor = Redactor([key])
    for position in (0, 500, 1000 - len(key) // 2, 5100, 20000 - 1000 - 3, 30000):
        out = BoundedOutput(2000, redactor.longest_bytes)
        stream = b"a\n" * (position // 2) + key.encode() + b"b\n" * 20000
        for i in range(0, len(stream), 4096):
            out.add(stream[i:i + 4096])
        clipped = out.for_model(redactor)
        assert key[:8] not in clipped and key[-8:] not in clipped, position


def test_bounded_output_counts_everything():
    out = BoundedOutput(limit=20)
    for _ in range(100):
        out.add(b"abcdefghi\n")
    assert out.total_bytes == 1000 and out.total_lines == 100
    assert len(out.head) == 10 and len(out.tail) == 10
    assert "omitted 98 of 100 lines" in out.text()


def test_memory_limit_applies_to_children(tmp_path):
    box, _ = toolbox(tmp_path, memory_limit_mb=64)
    hog = [sys.executable, "-c", "x = bytearray(200 * 1024 * 1024); print('allocated')"]
    out = json.loads(shell(box, command=hog))
    assert out["metadata"]["exit_code"] != 0
    assert "MemoryError" in out["output"]


def test_children_run_at_lower_priority(tmp_path):
    box, _ = toolbox(tmp_path, nice=7)
    out = json.loads(shell(box, command=[sys.executable, "-c", "import os; print(os.nice(0))"]))
    assert int(out["output"]) == os.nice(0) + 7


def test_ctrl_c_kills_the_running_command(tmp_path):
    """SIGINT to the agent while a command runs: the command's process group is gone."""
    pidfile = tmp_path / "pid"
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r})
        from codex_lite.tools.shell import ShellSettings, run_command
        try:
            run_command(["sh", "-c", "sleep 60 & echo $! > {pidfile}; wait"], ".", ShellSettings())
        except KeyboardInterrupt:
            print("interrupted")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "interrupted" in out
    assert _gone(int(pidfile.read_text()))


def test_declined_command_is_not_run(tmp_path):
    box, _ = toolbox(tmp_path)
    box.approver = lambda req: ApprovalDecision(False, "use make test instead")
    marker = tmp_path / "ran"
    message = shell(box, command=["touch", str(marker)])
    assert "declined" in message and "use make test instead" in message
    assert not marker.exists()


def test_update_plan_emits_event(tmp_path):
    box, seen = toolbox(tmp_path)
    plan = [{"step": "read", "status": "completed"}, {"step": "edit", "status": "in_progress"}]
    assert box.run("p", "update_plan", {"plan": plan, "explanation": "why"}) == "Plan updated"
    update = next(e for e in seen if isinstance(e, ev.PlanUpdate))
    assert update.plan == plan and update.explanation == "why"
    assert "update_plan needs" in box.run("p", "update_plan", {"plan": [{"step": "x", "status": "?"}]})


def test_run_command_direct(tmp_path):
    result = run_command(["printf", "a\\nb"], str(tmp_path), ShellSettings())
    assert result.exit_code == 0 and result.output == "a\nb"


def test_patch_through_shell_after_cd_resolves_from_there_but_stays_in_the_workspace(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.txt").write_text("old\n")
    box, seen = toolbox(tmp_path)
    patch = "*** Begin Patch\n*** Update File: ../top.txt\n@@\n-old\n+new\n*** End Patch"
    script = f"cd sub && apply_patch <<'EOF'\n{patch}\nEOF"
    assert box.run("p1", "shell", {"command": ["bash", "-lc", script]}).startswith("Success.")
    assert (tmp_path / "top.txt").read_text() == "new\n"
    change = next(e for e in seen if isinstance(e, ev.FileChange))
    assert change.status == "completed" and change.changes[0]["kind"] == "update"
    escape = "*** Begin Patch\n*** Add File: ../../outside.txt\n+x\n*** End Patch"
    message = box.run("p2", "shell", {"command": ["bash", "-lc", f"cd sub && apply_patch <<'EOF'\n{escape}\nEOF"]})
    assert "outside" in message and not (tmp_path.parent / "outside.txt").exists()
    failed = [e for e in seen if isinstance(e, ev.FileChange)][-1]
    assert failed.status == "failed"


def test_bare_patch_as_a_command_gets_a_hint(tmp_path):
    box, _ = toolbox(tmp_path)
    message = box.run("b", "shell", {"command": ["*** Begin Patch\n*** Add File: a\n+x\n*** End Patch"]})
    assert "apply_patch" in message and not (tmp_path / "a").exists()


def test_read_only_sandbox_refuses_patches(tmp_path):
    box, _ = toolbox(tmp_path)
    box.sandbox_mode = "read-only"
    message = box.run("r", "apply_patch", {"input": "*** Begin Patch\n*** Add File: a\n+x\n*** End Patch"})
    assert "read-only" in message and not (tmp_path / "a").exists()
