"""Finding 4 (outside review): an alert two cards list has no one card, so `kb new
postmortem --from-alert` refuses to pick one (kb check reports KB530 at both)."""

from __future__ import annotations

from pathlib import Path

from kb.commands import new as new_verb


def test_from_alert_refuses_an_alert_two_cards_list(base_kb: Path, call) -> None:
    card = (base_kb / "cards" / "queue-stuck.yaml").read_text()
    (base_kb / "cards" / "queue-stuck-2.yaml").write_text(card.replace("id: queue-stuck", "id: queue-stuck-2"))
    ran = call(new_verb.postmortem, title="t", from_alert="QueueStalled", root=base_kb)
    assert ran.returncode == 1
    assert "listed by 2 cards (queue-stuck, queue-stuck-2)" in ran.stderr
    assert not list((base_kb / "postmortems").glob("*-t.yaml"))
