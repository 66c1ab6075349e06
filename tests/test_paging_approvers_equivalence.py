"""no_approver's shortcuts (a shift's own people for its rotation, the business-hours clock asked
only for people who approve in business hours only) give exactly the answer of the plain
computation: reachable() and can_approve() asked for every shift and step. Random schedules of
overlapping layers and overrides, approvers in business hours and around the clock, escalation
to a rotation with a schedule and to one without (business coverage)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import ics_vendors
from test_schedules import make_kb

from kb.analysis.paging import PagingModel
from kb.load.loader import load_kb

ONCALL = """\
permissions:
  queue:pause:dispatch: {system: Queue, request: "ask sre lead"}
groups:
  sre: {grants: ["queue:*"]}
  leads: {grants: ["queue:*"], approves: [incident-commander]}
  day-leads: {grants: ["queue:*"], approves: [incident-commander, second-person], hours: business}
people:
  alice: {groups: [sre, leads], timezone: Europe/Berlin, email: alice@example.org}
  bob: {groups: [sre, day-leads], timezone: America/New_York, email: bob@example.org}
  carol: {groups: [sre], timezone: Asia/Tokyo, email: carol@example.org}
  dave: {groups: [day-leads], timezone: Australia/Lord_Howe, email: dave@example.org}
  bot: {kind: agent, groups: [sre], timezone: UTC, email: bot@example.org}
rotations:
  sre-primary:
    members: [alice, bob, carol, bot]
    coverage: 24x7
    schedule: schedules/sre-primary.ics
    escalates_to: ESCALATION
  command: {members: [dave, bob], coverage: business}
"""

STEPS = """\
  - id: drain
    do: Drain the queue
    requires: [queue:pause:dispatch]
    irreversible: true
    approval: incident-commander
    done_when: The queue is empty
  - id: purge
    do: Purge the dead letters
    requires: [queue:pause:dispatch]
    irreversible: true
    approval: second-person
    done_when: No dead letter is left
"""


def _export(rng: random.Random) -> bytes:
    cal = ics_vendors.calendar("//Grafana Labs//Grafana On-Call//", "SRE")
    start = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    for n in range(rng.randrange(20, 60)):
        begin = start + dt.timedelta(hours=rng.randrange(0, 24 * 10))
        end = begin + dt.timedelta(hours=rng.choice([1, 3, 8, 12, 30]))
        who = rng.sample(["alice", "bob", "carol", "bot", "dave"], rng.choice([1, 1, 2]))
        extra = {"categories": ["override"]} if rng.random() < 0.2 else {}
        cal.add_component(
            ics_vendors.event(
                f"e{n}",
                begin,
                end,
                f"[L{rng.randrange(3)}] {who[0]}",
                attendee=[f"{w}@example.org" for w in who],
                **extra,
            )
        )
    return cal.to_ical()


def test_no_approver_matches_the_plain_computation(base_kb: Path) -> None:
    rng = random.Random(314)
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.write_text(
        card.read_text(encoding="utf-8").replace("references:\n", STEPS + "references:\n", 1), encoding="utf-8"
    )
    compared, lacking = 0, 0
    for escalation in ("command", "sre-primary", "command"):
        for _ in range(2):
            root = make_kb(base_kb, _export(rng), oncall=ONCALL.replace("ESCALATION", escalation))
            kb = load_kb(root)
            cards = [doc.model for doc in kb.cards if doc.model is not None]
            paging = PagingModel(kb.root, kb.oncall.model, cards, kb.settings.business_hours, kb.config.today())
            found = [(g.shift, g.card.id, g.step.id, g.reachable) for g in paging.no_approver("sre-primary")]
            expected = []
            for shift in paging.rotations["sre-primary"].shifts:
                reachable = tuple(paging.reachable("sre-primary", shift.start, shift.end))
                for step in (s for c in cards if c.rotation == "sre-primary" for _x, _i, s in c.all_steps()):
                    if step.approval in (None, "none"):
                        continue
                    if step.approval == "second-person":
                        ok = len(reachable) >= 2
                    else:
                        ok = any(paging.can_approve(p, step.approval, shift.start, shift.end) for p in reachable)
                    if not ok:
                        expected.append((shift, "queue-stuck", step.id, reachable))
            assert found == expected
            compared += len(paging.rotations["sre-primary"].shifts)
            lacking += len(found)
    assert compared > 150 and 0 < lacking < 2 * compared  # both answers occur
