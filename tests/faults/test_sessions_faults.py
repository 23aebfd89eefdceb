"""Session files are read line by line with a line-length cap on resume: a damaged line is skipped
with one note and the rest of the session still resumes, in bounded memory. A full disk on the
first session write is one warning and the run goes on (README promises it)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from request_faults import bad_server_fixture, bare_python_peak_mb, fault_cli_fixture  # noqa: F401

DAMAGED = {
    "deep": '{"event": "history_append", "message": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "message_string": '{"event": "history_append", "message": "a string"}',
    "message_no_role": '{"event": "history_append", "message": {"content": 5}}',
    "rewind_string": '{"event": "history_rewind", "length": "x"}',
    "rewind_float": '{"event": "history_rewind", "length": 1.5}',
    "usage_string": '{"event": "usage", "input_tokens": "many", "output_tokens": [1]}',
    "text_number": '{"event": "agent_message", "text": 5}',
    "plan_string": '{"event": "plan_update", "plan": "do it"}',
    "repair_counts_string": '{"event": "envelope_repair", "recovered": {"harmony": "many"}}',
    "meta_cwd_list": '{"event": "session_resumed", "cwd": ["/"], "model": {"a": 1}}',
    "not_json": '{"event": "agent_mess',
}


def _first_session(fault_cli, url: str):
    run = fault_cli("exec", "-m", "bad", "first", base_url=url)
    assert run.returncode == 0, run.describe()
    sessions = list((fault_cli.home / "sessions").rglob("*.jsonl"))
    assert len(sessions) == 1
    return sessions[0]


def _resumed_history(path) -> list[dict]:
    """The messages the resumed run sent: replayed from its own session file."""
    history: list[dict] = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("event") == "history_append" \
                and isinstance(record.get("message"), dict):
            history.append(record["message"])
    return history


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_a_damaged_line_is_skipped_with_one_note(bad_server, fault_cli, kind):
    url = bad_server.url("ok")
    path = _first_session(fault_cli, url)
    with open(path, "a") as f:
        f.write(DAMAGED[kind] + "\n")
    run = fault_cli("exec", "resume", "--last", "again", base_url=url)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.describe()
    assert len(run.err_lines) == 1, run.describe()
    assert "skipped 1 damaged line" in run.err_lines[0]  # on the line that says where it resumes
    assert "Traceback" not in run.stderr
    # the good part of the session was resumed: the first prompt was sent again with the new one
    users = [m.get("content") for m in _resumed_history(path) if m.get("role") == "user"]
    assert users[-2:] == ["first", "again"], users


def test_a_300_mb_line_is_skipped_in_bounded_memory(bad_server, fault_cli, tmp_path):
    url = bad_server.url("ok")
    path = _first_session(fault_cli, url)
    with open(path, "a") as f:
        f.write('{"event": "agent_message", "text": "')
        f.writelines("x" * (1 << 20) for _ in range(300))
        f.write('"}\n')
    run = fault_cli("exec", "resume", "--last", "again", base_url=url, timeout=180)
    try:
        assert run.returncode == 0 and run.stdout.strip() == "ok", run.describe()
        assert len(run.err_lines) == 1 and "skipped 1 damaged line" in run.err_lines[0], run.describe()
        bare = bare_python_peak_mb(tmp_path)
        assert run.peak_mb is not None and run.peak_mb < bare + 64, run.describe()
    finally:
        path.unlink()


def _full_disk_wrapper(mountpoint) -> list[str]:
    """argv prefix that runs a command with a full 256 KiB tmpfs mounted on `mountpoint`, in a
    private mount namespace (a user namespace when we are not root)."""
    script = ('mount -t tmpfs -o size=256k tmpfs "$0" && '
              '{ head -c 1000000 /dev/zero > "$0/fill" 2>/dev/null; true; } && exec "$@"')
    for prefix in (["unshare", "--user", "--map-root-user", "--mount"], ["unshare", "--mount"]):
        probe = subprocess.run([*prefix, "sh", "-c", script, str(mountpoint), "true"],
                               capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return [*prefix, "sh", "-c", script, str(mountpoint)]
    pytest.fail("cannot mount a tmpfs in a private namespace here (unshare), so a full disk "
                "cannot be simulated: " + probe.stderr.decode(errors="replace"))


def test_a_full_disk_on_the_first_session_write_is_one_warning(bad_server, fault_cli, tmp_path):
    assert shutil.which("unshare"), "util-linux unshare is needed (scripts/test installs it)"
    home = tmp_path / "full_home"
    home.mkdir()
    wrap = _full_disk_wrapper(home)
    run = fault_cli("exec", "--no-telemetry", "-m", "bad", "hi", base_url=bad_server.url("ok"),
                    env={"CODEX_HOME": str(home)}, wrap=wrap)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.describe()
    assert len(run.err_lines) == 1, run.describe()
    line = run.err_lines[0]
    assert "warning" in line and "session" in line and "No space left" in line, run.describe()
    assert "Traceback" not in run.stderr
