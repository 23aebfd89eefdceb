"""Issue 16, `notify = [...]`: the program runs with Codex's JSON when a turn completes, through
the real CLI, and learns no secret (not in its argument, not in its environment)."""

from __future__ import annotations

import json
import sys
import time

import pytest
from scripted_server import completion

pytestmark = pytest.mark.e2e

RECORDER = """import json, os, sys
with open(sys.argv[1], "w") as f:
    json.dump({"argv": sys.argv[2:], "env": dict(os.environ)}, f)
"""


def _wait_for(path, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"the notify program never wrote {path}")


def _configure(codex_home, tmp_path):
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    out = tmp_path / "notified.json"
    (codex_home / "config.toml").write_text(f"notify = {json.dumps([sys.executable, str(script), str(out)])}\n")
    return out


def test_notify_gets_codex_payload_after_the_turn(model, run_cli, git_repo, codex_home, tmp_path, proxy_key):
    out = _configure(codex_home, tmp_path)
    model.set_script([completion("All done, tests pass.")])
    r = run_cli("exec", "-m", "scripted", f"fix it (key {proxy_key})")
    assert r.returncode == 0, r.describe()
    seen = _wait_for(out)
    [payload] = seen["argv"]
    data = json.loads(payload)
    assert data["type"] == "agent-turn-complete"
    assert data["last-assistant-message"] == "All done, tests pass."
    assert data["cwd"] == str(git_repo)
    assert data["thread-id"] and data["turn-id"]
    assert data["input-messages"] == ["fix it (key [redacted])"]
    assert proxy_key not in payload
    assert proxy_key not in json.dumps(seen["env"])  # the commands' environment, not ours
    assert "LITELLM_API_KEY" not in seen["env"]


def test_a_failed_turn_does_not_notify(model, run_cli, codex_home, tmp_path):
    out = _configure(codex_home, tmp_path)
    model.set_script([completion(None, reasoning_content="hmm")] * 2)
    r = run_cli("exec", "-m", "scripted", "-c", "retry.wait_seconds=0", "-c", "retry.max_attempts=2", "go")
    assert r.returncode == 1, r.describe()
    time.sleep(1.0)
    assert not out.exists()


def test_a_missing_notify_program_is_one_warning_not_a_failure(model, run_cli, codex_home):
    (codex_home / "config.toml").write_text('notify = ["/nonexistent/notifier"]\n')
    model.set_script([completion("done")])
    r = run_cli("exec", "-m", "scripted", "go")
    assert r.returncode == 0, r.describe()
    assert r.stdout.strip() == "done"
    assert "notify program" in r.stderr and "Traceback" not in r.stderr


def test_notify_must_be_a_list_of_strings(model, run_cli, codex_home):
    (codex_home / "config.toml").write_text('notify = "termux-notification"\n')
    r = run_cli("exec", "-m", "scripted", "go")
    assert r.returncode == 1
    assert "'notify' must be a list of strings" in r.stderr
