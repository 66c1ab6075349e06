"""Every command in every git state: not a repository, a shallow clone, a detached HEAD, a
dirty tree. Each either works or says exactly what it needs, with no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB, copy_kb

from kb.commands import access, check, emit, followups, new, route

GIT = ["git", "-c", "user.name=kb-test", "-c", "user.email=kb@test", "-c", "init.defaultBranch=main"]


def _git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout


def _committed(root: Path) -> Path:
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "kb")
    card = root / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text() + "\n")
    _git(root, "commit", "-qam", "second")
    return root


def make_state(state: str, tmp_path: Path) -> Path:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    if state == "no-git":
        return root
    _committed(root)
    if state == "detached":
        _git(root, "checkout", "-q", "--detach", "HEAD")
    elif state == "dirty":
        (root / "cards" / "queue-stuck.yaml").write_text((root / "cards" / "queue-stuck.yaml").read_text() + "# wip\n")
        (root / "untracked.txt").write_text("x")
    elif state == "shallow":
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True)
        return clone
    return root


COMMANDS = {  # name -> (verb, positional arguments, options, allowed exit codes)
    "check": (check.run, [], {}, {0, 1}),
    "check-changed-since": (check.run, [], {"changed_since": "HEAD~1"}, {0, 1, 2}),
    "new-postmortem": (
        new.postmortem,
        [],
        {"title": "Git state probe", "priority": "P3", "started_at": "2026-11-21T03:00:00+00:00"},
        {0},
    ),
    "new-postmortem-branch": (
        new.postmortem,
        [],
        {"title": "Branch probe", "priority": "P3", "started_at": "2026-11-21T03:00:00+00:00", "branch": True},
        {0, 1, 2},
    ),
    "emit-check": (emit.run, [], {"check_only": True}, {0}),
    "route": (route.run, ["AgentRunCrashed"], {}, {0}),
    "followups": (followups.run, [], {}, {0}),
    "access": (access.run, ["queue-stuck"], {"rotation": "sre-primary"}, {0}),
}
# What a refusal must name, when a command cannot work in that state.
NEEDS = {
    ("check-changed-since", "no-git"): "needs a git repository",
    ("check-changed-since", "shallow"): "shallow clone",
    ("new-postmortem-branch", "no-git"): "git",
    ("new-postmortem-branch", "detached"): "detached",
}


@pytest.mark.parametrize("state", ["no-git", "shallow", "detached", "dirty"])
def test_every_command_in_every_git_state(tmp_path: Path, call, monkeypatch, state: str) -> None:
    root = make_state(state, tmp_path)
    monkeypatch.chdir(root)  # each verb finds the KB from where it runs, as on the command line
    for name, (verb, args, options, allowed) in COMMANDS.items():
        result = call(verb, *args, **options)
        output = result.stdout + result.stderr
        assert "Traceback" not in output, f"{name} in {state}:\n{output}"
        assert result.returncode in allowed, f"{name} in {state}: exit {result.returncode}\n{output}"
        if result.returncode != 0 and name != "check":
            need = NEEDS.get((name, state))
            assert need is not None, f"{name} refused in {state}, where it must work:\n{output}"
            assert need in output, f"{name} in {state} must say what it needs:\n{output}"
    if state == "dirty":
        assert "# wip" in (root / "cards" / "queue-stuck.yaml").read_text(), "a dirty edit was lost"
