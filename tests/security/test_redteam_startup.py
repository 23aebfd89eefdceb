"""Red team, start-up: what a repository can make codex-lite send before anyone asked anything.

AGENTS.md files are read at start and sent to the model server with the first request. A
repository that ships `AGENTS.md` as a link to a file outside it (`~/.ssh/id_rsa`, the
codex-lite config holding the API key, /etc/shadow) had that file sent, silently: no command ran,
nothing was shown. A link leading out of the repository is not read now; one inside it still is.
"""

from __future__ import annotations

import os

import pytest
from boundary_support import EXEC_JSON, requests_text
from scripted_server import completion

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("where", ["root", "subfolder"])
def test_agents_md_linked_to_a_file_outside_is_not_sent(where, model, run_cli, git_repo, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- TOPSECRET\n")
    folder = git_repo if where == "root" else git_repo / "sub"
    folder.mkdir(exist_ok=True)
    os.symlink(secret, folder / "AGENTS.md")
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "-C", str(folder), "say hello")

    assert r.returncode == 0, r.describe()
    assert "TOPSECRET" not in requests_text(model)


def test_agents_md_linked_inside_the_repository_is_read(model, run_cli, git_repo):
    (git_repo / "docs").mkdir()
    (git_repo / "docs" / "rules.md").write_text("Always answer in haiku.\n")
    os.symlink("docs/rules.md", git_repo / "AGENTS.md")
    model.set_script([completion("hello")])

    r = run_cli(*EXEC_JSON, "say hello")

    assert r.returncode == 0, r.describe()
    assert "Always answer in haiku." in requests_text(model)
