"""Issue 16, the modules behind the REPL's prompt: history.jsonl, custom prompts, the @ path scan."""

from __future__ import annotations

import json
import os
import stat

from codex_lite import custom_prompts, path_scan, prompt_history
from codex_lite.security.redact import Redactor

# --------------------------------------------------------------------------- history.jsonl


def test_history_lines_are_codex_format_private_and_redacted(tmp_path):
    secret = "sk-live-0123456789"
    prompt_history.append(str(tmp_path), "sess-1", f"use {secret} please", redact=Redactor([secret]).text)
    prompt_history.append(str(tmp_path), "sess-1", "second")
    path = tmp_path / "history.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [sorted(line) for line in lines] == [["session_id", "text", "ts"]] * 2
    assert lines[0]["text"] == "use [redacted] please" and lines[0]["session_id"] == "sess-1"
    assert isinstance(lines[0]["ts"], int)
    assert secret not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert prompt_history.entries(str(tmp_path)) == ["use [redacted] please", "second"]


def test_history_is_trimmed_to_the_newest_lines_under_max_bytes(tmp_path):
    for n in range(200):
        prompt_history.append(str(tmp_path), "s", f"prompt number {n}", max_bytes=4000)
    size = (tmp_path / "history.jsonl").stat().st_size
    assert size <= 4000
    texts = prompt_history.entries(str(tmp_path))
    assert texts[-1] == "prompt number 199"
    assert "prompt number 0" not in texts
    assert all(t.startswith("prompt number") for t in texts)  # whole lines only


def test_a_huge_prompt_does_not_evict_the_history(tmp_path):
    prompt_history.append(str(tmp_path), "s", "keep me", max_bytes=1000)
    prompt_history.append(str(tmp_path), "s", "x" * 5000, max_bytes=1000)
    assert prompt_history.entries(str(tmp_path)) == ["keep me"]


def test_damaged_history_lines_are_skipped(tmp_path):
    (tmp_path / "history.jsonl").write_text('{"text": "good"}\nnot json\n[1]\n{"text": 3}\n')
    assert prompt_history.entries(str(tmp_path)) == ["good"]


def test_history_settings():
    class C:
        history = {"persistence": "none"}
    assert prompt_history.settings(C())[0] is False
    C.history = {}
    assert prompt_history.settings(C()) == (True, prompt_history.DEFAULT_MAX_BYTES)


# --------------------------------------------------------------------------- custom prompts


def test_custom_prompts_are_discovered_and_expanded_like_codex(tmp_path):
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "review-pr.md").write_text('---\ndescription: "Review a PR"\nargument-hint: [n] [prio]\n---\n'
                                         "Review PR #$1 with priority $2. All: $ARGUMENTS. Cost: $$5\n")
    (folder / "init.md").write_text("shadowing a built-in")
    (folder / "notes.txt").write_text("not markdown")
    found = custom_prompts.discover(str(tmp_path), reserved={"init"})
    assert list(found) == ["review-pr"]
    prompt = found["review-pr"]
    assert prompt.description == "Review a PR" and prompt.argument_hint == "[n] [prio]"
    text = custom_prompts.expand(prompt, '456 "very high" extra')
    assert text == "Review PR #456 with priority very high. All: 456 very high extra. Cost: $5"
    assert custom_prompts.expand(prompt, "") == "Review PR # with priority . All: . Cost: $5"
    assert custom_prompts.lookup(found, "/prompts:review-pr") is prompt
    assert custom_prompts.lookup(found, "/review-pr") is prompt


def test_a_prompt_link_leading_out_of_the_folder_is_ignored(tmp_path):
    folder = tmp_path / "prompts"
    folder.mkdir()
    secret = tmp_path / "secret.md"
    secret.write_text("private")
    os.symlink(secret, folder / "leak.md")
    assert custom_prompts.discover(str(tmp_path)) == {}


def test_excerpt_without_description():
    p = custom_prompts.parse("x", "# Fix the `bug` in $1 quickly and carefully please\nmore")
    assert custom_prompts.excerpt(p) == "Fix the bug in quickly ..."


# --------------------------------------------------------------------------- @ path scan


def test_scan_skips_heavy_folders_and_symlinked_folders(tmp_path):
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / "main.py").write_text("")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "index.js").write_text("")
    (tmp_path / ".git").mkdir()
    os.symlink("/", tmp_path / "rootlink")
    paths = path_scan.scan(str(tmp_path))
    assert "src/deep/main.py" in paths and "src/" in paths
    assert not any(p.startswith(("node_modules", ".git")) for p in paths)
    assert "rootlink" in paths and not any(p.startswith("rootlink/") for p in paths)


def test_scan_is_bounded(tmp_path):
    for i in range(50):
        (tmp_path / f"d{i}").mkdir()
        for j in range(50):
            (tmp_path / f"d{i}" / f"f{j}").write_text("")
    assert len(path_scan.scan(str(tmp_path), max_entries=300)) == 300
    deep = tmp_path / "a"
    for _ in range(20):
        deep = deep / "a"
    deep.mkdir(parents=True)
    assert max(p.count("/") for p in path_scan.scan(str(tmp_path), max_depth=5)) <= 5


def test_fuzzy_prefers_file_name_matches():
    paths = ["docs/readme_old.txt", "src/repl.py", "tests/test_repl.py", "codex_lite/repl/__init__.py"]
    assert path_scan.fuzzy("repl.py", paths)[0] == "src/repl.py"
    assert path_scan.fuzzy("zzz", paths) == []
    assert path_scan.fuzzy("", paths, limit=2) == paths[:2]
