"""`kb check --changed-since` and `kb check PATH` re-check what memberships/, schedules/ and
runs/ cause elsewhere, as a full check does (outside review, finding 1)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, Ran, complete_drill

from kb.analysis.changes import with_dependents
from kb.commands import check as check_command
from kb.commands import run as run_verb
from kb.load.loader import load_kb


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def committed(root: Path) -> Path:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def findings(out: str, code: str) -> list[str]:
    return sorted(line for line in out.splitlines() if f" {code} " in line)


def same_as_full(call: Callable[..., Ran], root: Path, code: str, path: Path | None = None) -> list[str]:
    """The findings of `code` a full check reports, which --changed-since (and `kb check PATH`) must report too."""
    full = findings(call(check_command.run, select=[code], root=root).stdout, code)
    assert full, f"the change causes no {code}: the scenario is wrong"
    assert findings(call(check_command.run, select=[code], changed_since="HEAD", root=root).stdout, code) == full
    if path is not None:
        assert findings(call(check_command.run, [path], select=[code], root=root).stdout, code) == full
    return full


def test_a_membership_export_edit_rejudges_oncall(base_kb: Path, call: Callable[..., Ran]) -> None:
    (base_kb / "memberships").mkdir()
    export = base_kb / "memberships" / "sre.json"
    export.write_text('[{"login": "alice"}, {"login": "bob"}]')
    oncall = base_kb / "oncall.yaml"
    text = oncall.read_text().replace(
        "    grants: [queue:*]", "    grants: [queue:*]\n    members_from: memberships/sre.json"
    )
    oncall.write_text(text.replace("{groups: [sre],", "{aliases: [alice], groups: [sre],", 1))
    committed(base_kb)
    export.write_text('[{"login": "alice"}]')  # bob leaves sre
    assert any("bob" in line for line in same_as_full(call, base_kb, "KB319", export))


def test_schedules_and_memberships_select_oncall_cards_and_run_logs(base_kb: Path) -> None:
    kb = load_kb(base_kb)
    for changed in ("schedules/sre.ics", "memberships/sre.json"):
        selected = with_dependents(kb, {changed}, [])
        assert selected is not None and {"oncall.yaml", "cards/queue-stuck.yaml", changed} <= selected


def start_run(root: Path, step: str = "resume") -> None:
    def act(**action: object) -> int:
        return run_verb.run("queue-stuck", "alice", False, False, None, run_verb.Action(**action), root)

    assert act(start=True) == 0
    assert act(step=step, done=True, evidence="ok") == 0


def test_a_card_edit_rejudges_its_run_logs(base_kb: Path, call: Callable[..., Ran]) -> None:
    start_run(base_kb)
    committed(base_kb)
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("  - id: resume", "  - id: resume-consumers"))  # the log names 'resume'
    same_as_full(call, base_kb, "KB805", card)


def test_an_oncall_edit_rejudges_run_logs(base_kb: Path, call: Callable[..., Ran]) -> None:
    start_run(base_kb)
    committed(base_kb)
    oncall = base_kb / "oncall.yaml"
    oncall.write_text(re.sub(r"\balice\b", "alicia", oncall.read_text()))  # the log's actor is no longer a person
    same_as_full(call, base_kb, "KB807", oncall)


def test_a_deleted_drill_log_rejudges_its_card(base_kb: Path, call: Callable[..., Ran]) -> None:
    day = complete_drill(base_kb, "queue-stuck")  # and stamps last_drilled
    assert f"last_drilled: {day}" in (base_kb / "cards" / "queue-stuck.yaml").read_text()
    committed(base_kb)
    assert call(check_command.run, root=base_kb).stdout.count("KB811") == 0
    for log in (base_kb / "runs").glob("*.jsonl"):
        log.unlink()
    same_as_full(call, base_kb, "KB811")


def test_the_pre_commit_hook_runs_on_oncall_inputs_and_run_logs() -> None:
    import yaml

    (hook,) = [h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "kb-check"]
    for path in ("memberships/sre.json", "ops/kb/schedules/sre.ics", "runs/2026-11-30-queue-stuck-1.jsonl"):
        assert re.search(hook["files"], path), path
