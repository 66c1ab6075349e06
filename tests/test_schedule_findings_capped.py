"""A final-schedule export (PagerDuty's shape: one VEVENT per shift) of weeks of hourly shifts
makes every per-shift rule list at most `max_per_rotation` events per rotation and count the rest
in one finding, as KB313 does: before, KB312, KB314, KB316 and KB322 listed every event (a year
of hourly shifts with an unmapped override was 1,752 errors of one rule)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ics_vendors
from test_schedules import ONCALL, check, make_kb

EVENTS = 60  # per person: more than the default cap of 50

ONCALL_WITH_AGENT = ONCALL.replace(
    "  dave: {",
    "  bot: {kind: agent, groups: [sre], timezone: UTC, email: bot@example.org}\n  dave: {",
).replace("members: [alice, bob, dave]", "members: [alice, bob, dave, bot]")


def _export() -> bytes:
    cal = ics_vendors.calendar("-//PagerDuty Inc.//PagerDuty Schedule Feed//EN", "SRE Primary")
    start = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    who = ["mallory@example.org", "carol@example.org", "bot@example.org", "alice@example.org"]
    for hour in range(EVENTS * len(who)):
        cal.add_component(
            ics_vendors.event(
                f"Q{hour}",
                start + dt.timedelta(hours=hour),
                start + dt.timedelta(hours=hour + 1),
                "On Call - Someone - SRE Primary",
                attendee=who[hour % len(who)],
            )
        )
    return cal.to_ical()


def _irreversible_step(root: Path) -> None:
    card = root / "cards" / "queue-stuck.yaml"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "    done_when: Queue depth falls for five minutes\n",
            "    done_when: Queue depth falls for five minutes\n"
            "  - id: drain\n    do: Drain the queue\n    requires: [queue:read:dispatch]\n"
            "    irreversible: true\n    approval: incident-commander\n    done_when: The queue is empty\n",
        ),
        encoding="utf-8",
    )


def test_per_shift_rules_cap_a_rotation_and_count_the_rest(base_kb: Path) -> None:
    root = make_kb(base_kb, _export(), oncall=ONCALL_WITH_AGENT)
    _irreversible_step(root)
    expected_rest = {
        "KB312": EVENTS - 50,  # mallory's shifts name nobody
        "KB316": EVENTS - 50,  # carol is paged but is not a member
        "KB322": EVENTS - 50,  # only the agent is paged for an irreversible step
        "KB314": 4 * EVENTS - 50,  # nobody reachable may approve, on any shift (mallory maps to nobody)
    }
    for code, rest in expected_rest.items():
        found = check(root, code)
        listed = [f for f in found if f.startswith("schedules/")]
        summary = [f for f in found if f.startswith("oncall.yaml")]
        assert len(listed) == 50, (code, len(found))
        assert len(summary) == 1 and f"{rest} more shifts" in summary[0], (code, summary)
