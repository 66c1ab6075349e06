"""Round-trip edits keep every comment and only change the edited line."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from conftest import REPO

from kb.commands import card, check, emit, followups, init, new


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_followups_done_changes_one_line_and_is_idempotent(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "postmortems" / "PM-2026-011-rotation-could-not-roll-back.yaml"
    before = path.read_text()
    result = call(followups.set_item, "PM-2026-011", "R2", "done", root=snapshot_kb)
    assert result.returncode == 0, result.stderr
    after = path.read_text()
    assert changed_lines(before, after) == ["-    status: open", "+    status: done"]
    assert [l for l in before.splitlines() if "#" in l] == [l for l in after.splitlines() if "#" in l]
    again = call(followups.set_item, "PM-2026-011", "R2", "done", root=snapshot_kb)
    assert "(already)" in again.stdout and path.read_text() == after


def test_wont_do_needs_why_and_writes_it(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "postmortems" / "PM-2026-012-ops-agent-deployed-during-freeze.yaml"
    before = path.read_text()
    assert call(followups.set_item, "PM-2026-012", "R1", "wont_do", "", root=snapshot_kb).returncode == 1
    assert path.read_text() == before
    result = call(followups.set_item, "PM-2026-012", "R1", "wont_do", "Credential removed instead", root=snapshot_kb)
    assert result.returncode == 0
    assert "rules/ no longer matches the postmortems: run kb emit" in result.stdout  # the gate leaves gates.yml
    diff = changed_lines(before, path.read_text())
    assert diff[:2] == ["-    status: open", "+    status: wont_do"]
    assert diff[2] == "+    why: Credential removed instead"
    assert "KB601" in call(check.run, root=snapshot_kb).stdout
    assert call(emit.run, root=snapshot_kb).returncode == 0
    assert call(check.run, root=snapshot_kb).returncode == 0


def test_card_stamps_keep_the_file(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "cards" / "watchdog-heartbeat-missing.yaml"
    before = path.read_text()
    drilled = call(card.run, "drilled", "watchdog-heartbeat-missing", root=snapshot_kb)  # no drill log: refused (#19)
    assert drilled.returncode == 1 and "no completed drill log" in drilled.stderr
    assert path.read_text() == before
    assert call(card.run, "verified", "watchdog-heartbeat-missing", root=snapshot_kb).returncode == 0
    diff = changed_lines(before, path.read_text())
    assert len(diff) == 2 and diff[0] == "-last_verified: 2026-11-14"
    assert diff[1].startswith("+last_verified: ")


def test_edit_refuses_rather_than_reformat(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "cards" / "queue-stuck.yaml"
    odd = (
        path.read_text()
        .replace("triggers:\n  alerts:", "triggers:\n      alerts:")
        .replace('  symptoms:\n    - "jobs pending', '      symptoms:\n        - "jobs pending')
        .replace('    - "queue depth rises', '        - "queue depth rises')
    )
    assert odd != path.read_text()
    path.write_text(odd)
    assert call(check.run, select=["KB1"], root=snapshot_kb).returncode == 0  # still valid YAML, oddly indented
    result = call(card.run, "verified", "queue-stuck", root=snapshot_kb)
    assert result.returncode == 1 and "would also reformat" in result.stderr
    assert path.read_text() == odd


def test_edit_refuses_a_broken_file(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "postmortems" / "PM-2026-011-rotation-could-not-roll-back.yaml"
    path.write_text(path.read_text() + "\tbroken: tab\n")
    broken = path.read_bytes()
    result = call(followups.set_item, "PM-2026-011", "R2", "done", root=snapshot_kb)
    assert result.returncode == 1 and "tab character" in result.stderr
    assert path.read_bytes() == broken


def test_crlf_files_stay_crlf(snapshot_kb: Path, call) -> None:
    path = snapshot_kb / "cards" / "queue-stuck.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = path.read_bytes()
    assert call(card.run, "verified", "queue-stuck", root=snapshot_kb).returncode == 0
    data = path.read_bytes()
    assert data != before, "the stamp changed the file"
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_followups_listing_sorting_and_fail_overdue(snapshot_kb: Path, call) -> None:
    items = json.loads(call(followups.run, "due", output_format="json", root=snapshot_kb).stdout)
    assert [(i["postmortem"], i["id"]) for i in items] == [
        ("PM-2026-011", "R2"),
        ("PM-2026-012", "R1"),
        ("PM-2026-012", "R2"),
    ]
    assert call(followups.run, fail_overdue=True, root=snapshot_kb).returncode == 0
    config = snapshot_kb / "mkdocs.yml"
    text = config.read_text()
    assert "      today: 2026-11-30" in text
    config.write_text(text.replace("      today: 2026-11-30", "      today: 2026-12-20"))
    result = call(followups.run, "overdue", fail_overdue=True, root=snapshot_kb)
    assert result.returncode == 1
    assert "PM-2026-012 R1   gate   due 2026-12-15  OVERDUE 5d" in result.stdout
    assert "3 open follow-ups, 3 overdue." in result.stdout
    assert call(followups.run, owner="nobody", output_format="json", root=snapshot_kb).returncode == 2  # fail closed
    assert call(followups.run, "owner", output_format="xml", root=snapshot_kb).returncode == 2
    assert call(followups.run, "size", root=snapshot_kb).returncode == 2


def test_unknown_targets_are_clear(snapshot_kb: Path, call) -> None:
    for verb, args, fragment in (
        (followups.set_item, ("PM-2026-099", "R1", "done"), "no postmortem PM-2026-099"),
        (followups.set_item, ("PM-2026-011", "R9", "done"), "has no reinforcement R9 (it has: R1, R2)"),
        (card.run, ("verified", "nope"), "no card nope"),
    ):
        result = call(verb, *args, root=snapshot_kb)
        assert result.returncode == 1 and fragment in result.stderr


def test_init_makes_a_valid_kb_and_never_overwrites(tmp_path: Path, call) -> None:
    target = tmp_path / "new-kb"
    result = call(init.run, target)
    assert result.returncode == 0, result.stderr
    assert call(check.run, root=target).stdout.startswith("All good")
    assert (target / "templates" / "postmortem.yaml.j2").read_text() == (
        REPO / "kb" / "defaults" / "templates" / "postmortem.yaml.j2"
    ).read_text()
    assert call(new.postmortem, title="First", priority="P2", root=target).returncode == 0
    before = (target / "mkdocs.yml").read_bytes()
    again = call(init.run, target)
    assert again.returncode == 1 and "never overwrites" in again.stderr
    assert (target / "mkdocs.yml").read_bytes() == before
