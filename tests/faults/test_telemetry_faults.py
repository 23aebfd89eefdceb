"""Telemetry in a shared folder (`telemetry.dir = "/tmp"`, a log folder other tools use too): it
prunes only the files it wrote itself (its own name pattern and its own marker inside), never a
file of someone else, even one that looks like its own, and it counts only its own files against
`max_total_bytes`."""

from __future__ import annotations

import json
import os

import pytest
from command_support import workspace
from scripted_server import completion

from codex_lite import events as ev
from codex_lite import telemetry

__all__ = ["workspace"]

FOREIGN = {  # files other programs keep in the same folder, some named like ours
    "debug-notes.txt": b"my notes\n",
    "usage-report.csv": b"month,usage\n" + b"jan,1\n" * 2000,
    "scratch.tmp": b"t" * 5000,
    "debug-20200101T000000Z-1.jsonl": b'{"event":"someone else\'s trace"}\n' * 300,
    "usage-abc.jsonl": b'{"type":"turn","from":"another tool"}\n' * 300,
    "usage-summary.json.bak": b"{}",
}


def plant(folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for age, (name, data) in enumerate(FOREIGN.items()):
        (folder / name).write_bytes(data)
        os.utime(folder / name, (1_000_000_000 + age, 1_000_000_000 + age))  # older than anything of ours
    (folder / "sub").mkdir()
    (folder / "sub" / "big.bin").write_bytes(b"b" * 100_000)


def assert_untouched(folder) -> None:
    for name, data in FOREIGN.items():
        assert (folder / name).read_bytes() == data, f"{name} was changed or deleted"
    assert (folder / "sub" / "big.bin").stat().st_size == 100_000


def own_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.iterdir()
               if p.is_file() and p.name not in FOREIGN)


@pytest.mark.e2e
def test_runs_in_a_shared_folder_leave_other_files_alone(workspace, tmp_path):
    shared = tmp_path / "shared"
    plant(shared)
    cap = 16 * 1024
    for i in range(6):
        workspace.model.set_script([completion(f"answer {i} " + "a" * 3000)])
        done = workspace.exec("--telemetry", "-c", f"telemetry.dir={json.dumps(str(shared))}",
                              "-c", f"telemetry.max_total_bytes={cap}", "-c", "telemetry.log_prompts=true",
                              f"prompt {i} " + "p" * 3000).finish(timeout=60)
        assert done.code == 0, done.stderr
        assert "nothing will be written" not in done.stderr, done.stderr  # others' files do not count
        assert_untouched(shared)
        assert own_bytes(shared) <= cap
    traces = [p for p in shared.glob("debug-*.jsonl") if p.name not in FOREIGN]
    assert traces, "telemetry wrote nothing"
    assert len(traces) < 6, "its own old traces were not pruned"


def test_prune_deletes_only_marked_files(tmp_path):
    """In process: files of our own name pattern without our marker stay, however old."""
    folder = tmp_path / "logs"
    plant(folder)
    config = type("C", (), {"codex_home": str(tmp_path), "telemetry": {"dir": str(folder),
                                                                        "max_total_bytes": 16 * 1024,
                                                                        "log_prompts": True}})()
    for i in range(8):
        tele = telemetry.start(config, f"s{i}")
        assert tele is not None
        tele(ev.TurnStarted(prompt="p" * 4000))
        tele(ev.AgentMessage(text="a" * 4000, final=True))
        tele(ev.TurnCompleted(input_tokens=1, output_tokens=1))
        tele.close()
        assert_untouched(folder)
        assert own_bytes(folder) <= 16 * 1024
