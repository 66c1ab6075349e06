"""`kb check FILE` (what `kb new` suggests) also reports what FILE causes elsewhere (issue #15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.commands import check as check_command
from kb.commands import emit as emit_command

NEW = """id: PM-2026-002
title: Queue stalled again
status: draft
priority: P2
cards: [queue-stuck]
started_at: 2026-11-03T01:52:00+00:00
model_inference: {involved: false, why_not: No agent took part.}
reinforcements:
  - id: R1
    kind: alert
    alert: {name: QueueConsumersPaused, expr: sum(queue_consumers_running) == 0, for: 5m, priority: P2, card: queue-stuck, summary: Paused}
"""


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")


def test_a_postmortem_that_adds_an_alert_reports_kb601(base_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert emit_command.run(root=base_kb) == 0  # rules/ in step with the KB as it was
    capsys.readouterr()
    path = base_kb / "postmortems" / "PM-2026-002-new.yaml"
    path.write_text(NEW)
    assert check_command.run([path], root=base_kb) == 1
    out = capsys.readouterr().out
    # its own emitted file is missing: said at the postmortem, which `kb check FILE` reports
    assert "PM-2026-002-new.yaml:" in out and "rules/kb/alerts/PM-2026-002.yml is missing" in out
    assert "KB607" not in out  # a hand-written rule file the postmortem does not touch stays out
    assert emit_command.run(root=base_kb) == 0
    capsys.readouterr()
    assert check_command.run([path], root=base_kb) == 0


def test_a_card_file_reports_on_the_router(base_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.rename(base_kb / "cards" / "queue-stalled.yaml")
    text = (base_kb / "cards" / "queue-stalled.yaml").read_text().replace("id: queue-stuck", "id: queue-stalled")
    (base_kb / "cards" / "queue-stalled.yaml").write_text(text)
    check_command.run([base_kb / "cards" / "queue-stalled.yaml"], root=base_kb)
    out = capsys.readouterr().out
    assert "router.md:" in out  # the router line now links a card that does not exist


def test_a_path_that_does_not_exist_is_an_error(base_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_command.run([base_kb / "cards" / "queue-stuk.yaml"], root=base_kb) == 2
    assert "no such file or folder" in capsys.readouterr().err
