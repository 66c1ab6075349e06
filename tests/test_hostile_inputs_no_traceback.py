"""Finding 15 (outside review): hostile schedules, membership exports and traces are
diagnostics or clear refusals, never internal errors (exit 2 with a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.commands import access as access_verb
from kb.commands import check as check_verb
from kb.commands import new as new_verb

DEEP = "[" * 100_000 + "]" * 100_000


def with_schedule(kb: Path, ics: str) -> None:
    oncall = kb / "oncall.yaml"
    text = oncall.read_text().replace(
        "    members: [alice, bob]\n", "    members: [alice, bob]\n    schedule: schedules/sre.ics\n", 1
    )
    oncall.write_text(text)
    (kb / "schedules").mkdir()
    (kb / "schedules" / "sre.ics").write_text(ics.replace("\n", "\r\n"))


def with_membership(kb: Path, content: str) -> None:
    oncall = kb / "oncall.yaml"
    oncall.write_text(oncall.read_text().replace("  sre:\n", "  sre:\n    members_from: memberships/sre.json\n", 1))
    (kb / "memberships").mkdir()
    (kb / "memberships" / "sre.json").write_text(content)


def test_a_shift_ending_in_the_year_9999(base_kb: Path, call) -> None:
    with_schedule(
        base_kb,
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:1\nDTSTART:20261122T000000Z\n"
        "DTEND:99991231T235959Z\nSUMMARY:alice\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    # read as the paging tool reads it (alice holds the pager from then on), or refused as
    # unreadable: either way a diagnostic, never an internal error
    ran = call(check_verb.run, root=base_kb)
    assert ran.returncode in (0, 1) and "internal error" not in ran.stderr
    ran = call(access_verb.run, root=base_kb, at="2026-11-23T03:00:00+00:00")
    assert ran.returncode in (0, 1) and "internal error" not in ran.stderr
    assert "sre-primary: alice" in ran.stdout or "a shift runs past the year 9998" in ran.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (DEEP, "nested too deeply"),
        (
            json.dumps(
                {
                    "users": [{"id": ["u1"]}],
                    "resources": [{"id": "sre"}],
                    "direct_user_grants": [{"resource_id": "sre", "entitlement_slug": "member", "principal_id": "u1"}],
                }
            ),
            "users[0].id",
        ),
        (
            json.dumps(
                {
                    "users": [{"id": "u1"}],
                    "resources": [{"id": "sre"}],
                    "direct_user_grants": [
                        {"resource_id": ["sre"], "entitlement_slug": "member", "principal_id": "u1"}
                    ],
                }
            ),
            "direct_user_grants[0].resource_id",
        ),
    ],
    ids=["nested-100000-deep", "baton-user-id-a-list", "baton-resource-id-a-list"],
)
def test_a_hostile_membership_export_is_a_finding(base_kb: Path, call, content: str, message: str) -> None:
    with_membership(base_kb, content)
    ran = call(check_verb.run, root=base_kb)
    assert ran.returncode == 1 and "internal error" not in ran.stderr
    assert "memberships/sre.json" in ran.stdout and message in ran.stdout


def test_a_trace_nested_100000_deep_is_refused(base_kb: Path, tmp_path: Path, call) -> None:
    trace = tmp_path / "trace.json"
    trace.write_text('{"resourceSpans":' + DEEP + "}")
    ran = call(new_verb.postmortem, title="t", priority="P2", from_trace=trace, root=base_kb)
    assert ran.returncode == 1 and "nested too deeply" in ran.stderr


def test_an_integer_of_5000_digits_is_a_diagnostic(base_kb: Path, call) -> None:
    """Outside review: `priority: 999...` (5,000 digits) was an internal error in every command."""
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("priority: P2", "priority: " + "9" * 5000, 1))
    assert "9" * 5000 in card.read_text()
    ran = call(check_verb.run, root=base_kb)
    assert ran.returncode == 1 and "internal error" not in ran.stderr
    assert "cards/queue-stuck.yaml:" in ran.stdout
