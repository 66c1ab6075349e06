"""`wont_do` reasons are shown wherever follow-ups are (issue #15), and the format spec ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO

from kb.commands import followups as followups_command

PM = """id: PM-2026-001
title: Queue stalled after a config push
status: draft
priority: P2
cards: [queue-stuck]
started_at: 2026-11-03T01:52:00+00:00
model_inference: {involved: false, why_not: No agent took part.}
reinforcements:
  - {id: R1, kind: test, owner: sre, due: 2026-12-01, status: open, test: {name: drain test, path: .ci/run, asserts: drains}}
  - {id: R2, kind: test, owner: sre, due: 2026-12-01, status: wont_do, why: The queue is being retired in Q1, test: {name: old test, path: .ci/run, asserts: old}}
"""


def test_followups_show_declined_ones_with_their_reason(base_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (base_kb / "postmortems" / "PM-2026-001-queue.yaml").write_text(PM)
    assert followups_command.run(root=base_kb) == 0
    out = capsys.readouterr().out
    assert "PM-2026-001 R1" in out and "1 open follow-up, 0 overdue." in out
    assert "Declined (wont_do), 1:\n  PM-2026-001 R2" in out
    assert "      why: The queue is being retired in Q1" in out
    assert followups_command.run(output_format="json", status="wont_do", root=base_kb) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["id"], i["status"], i["why"]) for i in items] == [("R2", "wont_do", "The queue is being retired in Q1")]
    assert followups_command.run(output_format="json", root=base_kb) == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == ["R1"]  # the default JSON is what it was
    assert followups_command.run(status="maybe", root=base_kb) == 2


def test_the_format_spec_ships_and_the_readme_links_it() -> None:
    spec = REPO / "spec" / "FORMAT.md"
    assert spec.is_file() and "Additions (version 2)" in spec.read_text()
    links = re.findall(r"\]\(([^)]*FORMAT\.md)\)", (REPO / "README.md").read_text())
    assert links and all((REPO / link).resolve() == spec.resolve() for link in links)
