"""Commands that print without end, in every mix of line lengths: the agent keeps a bounded head and
tail of bytes, so its peak RSS (VmHWM, from wait4) stays within bare python + 32 MiB, and the model
sees both ends with the omission marker."""

from __future__ import annotations

import pytest
from command_support import bare_python_peak_kb, shell_call, tool_result, workspace
from scripted_server import completion

pytestmark = pytest.mark.e2e
__all__ = ["workspace"]

BUDGET_KB = 32 * 1024

SHAPES = {
    "1e9 bytes of short lines": ("yes | head -c 1000000000", "y\n", "y\n"),
    "one endless line": ("head -c 200000000 /dev/zero | tr '\\0' x", "xxxx", "xxxx"),
    "long lines then short ones": (("{ yes \"$(head -c 5000 /dev/zero | tr '\\0' L)\" | head -c 100000000; "
                                    "yes | head -c 100000000; }"), "LLLL", "y\n"),
    "short lines then long ones": (("{ yes | head -c 100000000; "
                                    "yes \"$(head -c 70000 /dev/zero | tr '\\0' L)\" | head -c 100000000; }"),
                                   "y\n", "LLLL"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_endless_output_keeps_the_agent_flat(workspace, shape):
    script, head, tail = SHAPES[shape]
    workspace.model.set_script([shell_call(["sh", "-c", script], timeout_ms=300_000), completion("seen")])
    done = workspace.exec("print a lot").finish(timeout=240)
    assert done.code == 0 and done.stdout.strip() == "seen", done.stderr
    bare = bare_python_peak_kb(workspace.logs.parent)
    assert done.peak_rss_kb <= bare + BUDGET_KB, (
        f"peak RSS {done.peak_rss_kb // 1024} MiB, bare python {bare // 1024} MiB (+32 MiB allowed)")
    result = tool_result(workspace.model)
    output = result["output"]
    assert result["metadata"]["exit_code"] == 0
    assert "[... omitted " in output and len(output.encode()) <= 12 * 1024
    before, _, after = output.partition("[... omitted ")
    assert before.startswith(head) and after.rstrip("\n").endswith(tail.rstrip("\n"))
