"""Class 8: git plumbing. `--changed-since` reads NUL-separated names (any byte in a file
name) and refuses refs that look like options; `kb new --branch` is a transaction: a
failing hook, an existing branch or a kill leaves HEAD, the index and the branches as they
were, it commits only its own file (and its own router line), and parallel runs each branch
from the same base."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

GIT = ["git", "-c", "user.name=kb-test", "-c", "user.email=kb@test", "-c", "init.defaultBranch=main"]
ENV = {
    "GIT_AUTHOR_NAME": "kb-test",
    "GIT_AUTHOR_EMAIL": "kb@test",
    "GIT_COMMITTER_NAME": "kb-test",
    "GIT_COMMITTER_EMAIL": "kb@test",
}


def _git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout


def _repo(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _state(root: Path) -> tuple:
    return (
        _git(root, "symbolic-ref", "-q", "HEAD"),
        _git(root, "rev-parse", "HEAD"),
        _git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        _git(root, "ls-files", "-s"),
        _git(root, "diff", "--cached", "--name-status"),
    )


@pytest.mark.parametrize(
    "name", ["bäd.yaml", "naïve card.yaml", "tab\tname.yaml", 'quote"d.yaml', "日本.yaml", "new\nline.yaml"]
)
def test_changed_since_sees_every_file_name(tmp_path: Path, name: str):
    root = _repo(tmp_path)
    _git(root, "checkout", "-qb", "pr")
    (root / "cards" / name).write_text("id: [broken\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "pr")
    result = kb("check", "--changed-since", "main", cwd=root, env={**ENV, "KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode == 1, result.output
    assert "0 files checked" not in result.output


@pytest.mark.parametrize("ref", ["--octopus", "-p", "--output=/tmp/x", "-", "--all", "-h"])
def test_changed_since_refuses_option_like_refs(tmp_path: Path, ref: str):
    root = _repo(tmp_path)
    result = kb("check", f"--changed-since={ref}", cwd=root, env=ENV)
    no_traceback(result)
    assert result.returncode == 2, result.output
    assert ref in result.stderr


def _new_card(root: Path, card_id: str, *extra: str):
    return kb(
        "new",
        "card",
        "--title",
        card_id,
        "--id",
        card_id,
        "--rotation",
        "sre-primary",
        "--priority",
        "P2",
        "--owner",
        "team",
        "--alert",
        card_id.title().replace("-", "") + "Alert",
        "--branch",
        *extra,
        cwd=root,
        env=ENV,
    )


def test_a_failing_pre_commit_hook_leaves_everything_as_it_was(tmp_path: Path):
    root = _repo(tmp_path)
    hook = root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho refused by hook >&2\nexit 1\n")
    hook.chmod(0o755)
    before = _state(root)
    files_before = sorted(p.name for p in (root / "cards").iterdir())
    router_before = (root / "router.md").read_text()
    result = _new_card(root, "hooked")
    no_traceback(result)
    assert result.returncode != 0, result.output
    assert _state(root) == before
    assert sorted(p.name for p in (root / "cards").iterdir()) == files_before
    assert (root / "router.md").read_text() == router_before


def test_an_existing_branch_leaves_everything_as_it_was(tmp_path: Path):
    root = _repo(tmp_path)
    _git(root, "branch", "card/taken")
    before = _state(root)
    result = _new_card(root, "taken")
    no_traceback(result)
    assert result.returncode != 0 and _state(root) == before
    assert not (root / "cards/taken.yaml").exists()


def test_branch_never_commits_work_in_progress(tmp_path: Path):
    root = _repo(tmp_path)
    router = root / "router.md"
    router.write_text(router.read_text() + "- WIP line the user has not committed\n")
    card = root / "cards/queue-stuck.yaml"
    card.write_text(card.read_text() + "# wip\n")
    _git(root, "add", "cards/queue-stuck.yaml")  # staged work in progress too
    result = _new_card(root, "fresh-card")
    no_traceback(result)
    assert result.returncode == 0, result.output
    committed_router = _git(root, "show", "card/fresh-card:router.md")
    assert "WIP line" not in committed_router and "[fresh-card](cards/fresh-card.yaml)" in committed_router
    assert _git(root, "diff", "--name-only", "HEAD~1", "card/fresh-card").split() == [
        "cards/fresh-card.yaml",
        "router.md",
    ]
    assert "WIP line" in router.read_text() and "# wip" in card.read_text()
    assert "cards/queue-stuck.yaml" in _git(root, "diff", "--cached", "--name-only")


def test_parallel_branches_start_from_the_same_base(tmp_path: Path):
    root = _repo(tmp_path)
    base = _git(root, "rev-parse", "HEAD").strip()
    ids = [f"par-{i}" for i in range(4)]
    from kb.commands import new

    errors = []

    def run(card_id):
        code = new.card(
            card_id, card_id, "sre-primary", "P2", "team", [card_id.replace("-", "") + "Alert"], None, True, root
        )
        if code != 0:
            errors.append(card_id)

    old_env = dict(os.environ)
    os.environ.update(ENV)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    assert not errors
    for card_id in ids:
        assert _git(root, "rev-parse", f"card/{card_id}~1").strip() == base, card_id
        files = _git(root, "diff", "--name-only", base, f"card/{card_id}").split()
        assert files == [f"cards/{card_id}.yaml", "router.md"], (card_id, files)
