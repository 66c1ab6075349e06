"""Round-trip edits keep every comment and only change the edited line."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from conftest import REPO, run_kb


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_followups_done_changes_one_line_and_is_idempotent(repo_kb: Path) -> None:
    path = repo_kb / "postmortems" / "PM-2026-011-rotation-could-not-roll-back.yaml"
    before = path.read_text()
    result = run_kb("followups", "done", "PM-2026-011", "R2", cwd=repo_kb)
    assert result.returncode == 0, result.stderr
    after = path.read_text()
    assert changed_lines(before, after) == ["-    status: open", "+    status: done"]
    assert [l for l in before.splitlines() if "#" in l] == [l for l in after.splitlines() if "#" in l]
    again = run_kb("followups", "done", "PM-2026-011", "R2", cwd=repo_kb)
    assert "(already)" in again.stdout and path.read_text() == after


def test_wont_do_needs_why_and_writes_it(repo_kb: Path) -> None:
    path = repo_kb / "postmortems" / "PM-2026-012-ops-agent-deployed-during-freeze.yaml"
    before = path.read_text()
    assert run_kb("followups", "wont-do", "PM-2026-012", "R1", "--why", "", cwd=repo_kb).returncode == 1
    assert path.read_text() == before
    result = run_kb("followups", "wont-do", "PM-2026-012", "R1", "--why", "Credential removed instead", cwd=repo_kb)
    assert result.returncode == 0
    assert "rules/ no longer matches the postmortems: run kb emit" in result.stdout  # the gate leaves gates.yml
    diff = changed_lines(before, path.read_text())
    assert diff[:2] == ["-    status: open", "+    status: wont_do"]
    assert diff[2] == "+    why: Credential removed instead"
    assert "KB601" in run_kb("check", cwd=repo_kb).stdout
    assert run_kb("emit", cwd=repo_kb).returncode == 0
    assert run_kb("check", cwd=repo_kb).returncode == 0


def test_card_stamps_keep_the_file(repo_kb: Path) -> None:
    card = repo_kb / "cards" / "watchdog-heartbeat-missing.yaml"
    before = card.read_text()
    drilled = run_kb("card", "drilled", "watchdog-heartbeat-missing", cwd=repo_kb)  # no drill log: refused (#19)
    assert drilled.returncode == 1 and "no completed drill log" in drilled.stderr
    assert card.read_text() == before
    assert run_kb("card", "verified", "watchdog-heartbeat-missing", cwd=repo_kb).returncode == 0
    diff = changed_lines(before, card.read_text())
    assert len(diff) == 2 and diff[0] == "-last_verified: 2026-11-14"
    assert diff[1].startswith("+last_verified: ")


def test_edit_refuses_rather_than_reformat(repo_kb: Path) -> None:
    card = repo_kb / "cards" / "queue-stuck.yaml"
    odd = (
        card.read_text()
        .replace("triggers:\n  alerts:", "triggers:\n      alerts:")
        .replace('  symptoms:\n    - "jobs pending', '      symptoms:\n        - "jobs pending')
        .replace('    - "queue depth rises', '        - "queue depth rises')
    )
    card.write_text(odd)
    assert run_kb("check", "--select", "KB1", cwd=repo_kb).returncode == 0  # still valid YAML, oddly indented
    result = run_kb("card", "verified", "queue-stuck", cwd=repo_kb)
    assert result.returncode == 1 and "would also reformat" in result.stderr
    assert card.read_text() == odd


def test_edit_refuses_a_broken_file(repo_kb: Path) -> None:
    path = repo_kb / "postmortems" / "PM-2026-011-rotation-could-not-roll-back.yaml"
    path.write_text(path.read_text() + "\tbroken: tab\n")
    broken = path.read_bytes()
    result = run_kb("followups", "done", "PM-2026-011", "R2", cwd=repo_kb)
    assert result.returncode == 1 and "tab character" in result.stderr
    assert path.read_bytes() == broken


def test_crlf_files_stay_crlf(repo_kb: Path) -> None:
    card = repo_kb / "cards" / "queue-stuck.yaml"
    card.write_bytes(card.read_bytes().replace(b"\n", b"\r\n"))
    assert run_kb("card", "verified", "queue-stuck", cwd=repo_kb).returncode == 0
    data = card.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_followups_listing_sorting_and_fail_overdue(repo_kb: Path) -> None:
    items = json.loads(run_kb("followups", "--format", "json", "--sort", "due", cwd=repo_kb).stdout)
    assert [(i["postmortem"], i["id"]) for i in items] == [
        ("PM-2026-011", "R2"),
        ("PM-2026-012", "R1"),
        ("PM-2026-012", "R2"),
    ]
    assert run_kb("followups", "--fail-overdue", cwd=repo_kb).returncode == 0
    config = repo_kb / "mkdocs.yml"
    config.write_text(
        config.read_text().replace("      router_budget: 40\n", "      router_budget: 40\n      today: 2026-12-20\n")
    )
    result = run_kb("followups", "--fail-overdue", "--sort", "overdue", cwd=repo_kb)
    assert result.returncode == 1
    assert "PM-2026-012 R1   gate   due 2026-12-15  OVERDUE 5d" in result.stdout
    assert "3 open follow-ups, 3 overdue." in result.stdout
    assert json.loads(run_kb("followups", "--owner", "nobody", "--format", "json", cwd=repo_kb).stdout) == []


def test_unknown_targets_are_clear(repo_kb: Path) -> None:
    for args, fragment in (
        (["followups", "done", "PM-2026-099", "R1"], "no postmortem PM-2026-099"),
        (["followups", "done", "PM-2026-011", "R9"], "has no reinforcement R9 (it has: R1, R2)"),
        (["card", "verified", "nope"], "no card nope"),
    ):
        result = run_kb(*args, cwd=repo_kb)
        assert result.returncode == 1 and fragment in result.stderr


def test_init_makes_a_valid_kb_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "new-kb"
    result = run_kb("init", str(target))
    assert result.returncode == 0, result.stderr
    assert run_kb("check", cwd=target).stdout.startswith("All good")
    assert (target / "templates" / "postmortem.yaml.j2").read_text() == (
        REPO / "templates" / "postmortem.yaml.j2"
    ).read_text()
    assert run_kb("new", "postmortem", "--title", "First", "--priority", "P2", cwd=target).returncode == 0
    before = (target / "mkdocs.yml").read_bytes()
    again = run_kb("init", str(target))
    assert again.returncode == 1 and "never overwrites" in again.stderr
    assert (target / "mkdocs.yml").read_bytes() == before
