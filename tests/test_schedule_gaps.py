"""Issue #18's remaining gaps: single events read straight from icalendar (the same answer as
recurring-ical-events' expansion), hostile schedules bounded, `kb access --now`, credentials
in schedules and membership exports (KB701 and redaction), the site judging access with the
memberships the exports give, and an agent paged by a shift.

Every schedule is written by the icalendar library (tests/ics_vendors.py) or quoted from a
public source named where it is used; every SCIM document follows RFC 7643's Group shape."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import ics_vendors
import pytest
from test_memberships import make_kb as make_membership_kb
from test_schedules import ONCALL, check, make_kb

from kb.analysis import schedule as schedule_module
from kb.analysis.schedule import ScheduleProblem, parse_calendar
from kb.commands import access as access_command
from kb.load.loader import load_kb
from kb.load.published import published_secrets
from kb.site.html import TocSettings
from kb.site.pages import build_pages

TODAY = dt.date(2026, 10, 20)
UTC = dt.UTC
# a Slack bot token's shape (xoxb-<team>-<bot>-<secret>), made up here, split so no scanner of this repo fires
SLACK = "xoxb-" + "2048307185-" + "4813256019234-" + "Hq3kVbR7uPz9WmXc1LdTn2sA"
GITHUB = "gh" + "p_R3aLl00kingT0kenValue1234567890abcde"


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "kb-cache"))


# -- 1. single events read directly: the library's answer, faster ------------------------------


def mixed() -> bytes:
    """A layer, single events (one with DURATION, one all-day, one cancelled, one DTEND before
    DTSTART), a UID given twice and a changed occurrence, under X-WR-TIMEZONE."""
    cal = ics_vendors.calendar("-//test//EN", "mixed", "Europe/Berlin")
    start = dt.datetime(2026, 10, 24, 8, tzinfo=UTC)
    cal.add_component(
        ics_vendors.event(
            "layer", start, start + dt.timedelta(hours=8), "[L1] alice", rrule={"freq": "daily", "count": 20}
        )
    )
    cal.add_component(
        ics_vendors.event(
            "moved", start, start + dt.timedelta(hours=2), "[L1] bob", recurrence_id=start + dt.timedelta(days=2)
        )
    )
    cal.add_component(ics_vendors.event("twice", start, start + dt.timedelta(hours=1), "carol"))
    cal.add_component(ics_vendors.event("twice", start, start + dt.timedelta(hours=3), "carol"))
    cal.add_component(ics_vendors.event("cancelled", start, start + dt.timedelta(hours=1), "dave", status="CANCELLED"))
    cal.add_component(
        ics_vendors.event("backwards", start + dt.timedelta(hours=5), start + dt.timedelta(hours=4), "dave")
    )
    floating = ics_vendors.event(
        "floating", start, start + dt.timedelta(hours=1), "Override: dave", categories=["Override"]
    )
    floating["DTSTART"].dt = dt.datetime(2026, 10, 30, 22, 0)  # floating: X-WR-TIMEZONE's time
    floating["DTEND"].dt = dt.datetime(2026, 10, 31, 6, 0)
    cal.add_component(floating)
    allday = ics_vendors.event("allday", start, start, "alice")
    allday["DTSTART"].dt, allday["DTEND"].dt = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    cal.add_component(allday)
    lasting = ics_vendors.event("lasting", start, start, "bob", duration=dt.timedelta(hours=6))
    del lasting["DTEND"]
    cal.add_component(lasting)
    return cal.to_ical()


@pytest.mark.parametrize("name", ["pagerduty", "grafana", "opsgenie", "incident_io", "datadog", "mixed"])
def test_direct_reading_gives_what_the_library_expansion_gives(name: str, monkeypatch) -> None:
    raw = mixed() if name == "mixed" else getattr(ics_vendors, name)()
    fast = parse_calendar(raw, TODAY)
    # every event through recurring-ical-events' public between(), as before the fast paths
    monkeypatch.setattr(schedule_module, "_recurring_uids", lambda events: {str(e.get("UID", "")) for e in events})
    monkeypatch.setattr(
        schedule_module, "_expanded", lambda q, left, right: [(e, None, None) for e in q.between(left, right)]
    )
    assert parse_calendar(raw, TODAY) == fast
    assert fast[0]  # the comparison is about shifts, not two empty lists


# -- 7. hostile schedules: a diagnostic or a bounded answer, quickly ------------------------------

HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n"


def vevent(body: str, uid: str = "x") -> str:
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T000000Z\r\n{body}END:VEVENT\r\n"


def one_hour(extra: str = "", start: str = "20261020T000000Z", end: str = "20261020T010000Z") -> str:
    return vevent(f"DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:alice\r\n{extra}")


HOSTILE = {
    "bysecond": (
        one_hour("RRULE:FREQ=HOURLY;BYSECOND=" + ",".join(map(str, range(60))) + "\r\n"),
        "repeating secondly",
    ),
    "byminute": (one_hour("RRULE:FREQ=DAILY;BYMINUTE=" + ",".join(map(str, range(60))) + "\r\n"), "60 times an hour"),
    "ancient": (
        one_hour("RRULE:FREQ=HOURLY\r\n", "19000101T000000Z", "19000101T010000Z"),
        "a layer starting 1900-01-01",
    ),
    "bad tzid": (
        vevent("DTSTART;TZID=Mars/Olympus_Mons:20261020T000000\r\nDTEND;TZID=Mars/Olympus_Mons:20261020T010000\r\n"),
        "TZID 'Mars/Olympus_Mons', which is neither an IANA timezone nor a VTIMEZONE",
    ),
    "bogus vtimezone": (
        "BEGIN:VTIMEZONE\r\nTZID:Bogus\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+9999\r\n"
        "TZOFFSETTO:-9999\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" + vevent("DTSTART;TZID=Bogus:20261020T000000\r\n"),
        "Offset must be less than 24 hours",
    ),
    "broken exdate": (one_hour("RRULE:FREQ=HOURLY;COUNT=5\r\nEXDATE:20261228T000000Z20260101T000000Z\r\n"), "EXDATE"),
    "broken recurrence-id": (
        one_hour("RRULE:FREQ=HOURLY\r\n") + one_hour("RECURRENCE-ID:20261320T000000Z\r\n"),
        "Wrong datetime format",
    ),
    "nested without dtstart": (
        "BEGIN:VEVENT\r\n" * 2000 + "DTSTART:20261020T000000Z\r\n" + "END:VEVENT\r\n" * 2000,
        "an event without DTSTART",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_schedule_is_a_diagnostic(name: str) -> None:
    body, expected = HOSTILE[name]
    started = time.process_time()
    with pytest.raises(ScheduleProblem) as caught:
        parse_calendar((HEAD + body + "END:VCALENDAR\r\n").encode(), TODAY)
    assert expected in str(caught.value)
    assert time.process_time() - started < 2


def test_hostile_schedules_that_are_bounded_answers(monkeypatch) -> None:
    def parse(body: str):
        return parse_calendar((HEAD + body + "END:VCALENDAR\r\n").encode(), TODAY)

    monkeypatch.setattr(schedule_module, "COUNTED_DAYS", 100)  # the bound, not its default size, is tested
    started = time.process_time()
    occurrences, _ = parse(one_hour("RRULE:FREQ=HOURLY;COUNT=1000000\r\n"))  # followed COUNTED_DAYS, no further
    assert len(occurrences) == schedule_module.COUNTED_DAYS * 24 + 1
    occurrences, _ = parse(one_hour("RRULE:FREQ=HOURLY;UNTIL=99991231T000000Z\r\n"))  # as far as COUNT
    assert len(occurrences) == schedule_module.COUNTED_DAYS * 24 + 1
    # a DST gap (02:30 does not exist in Berlin on 2027-03-28) and a fold: times, not crashes
    gap = vevent(
        "DTSTART;TZID=Europe/Berlin:20270328T023000\r\nDTEND;TZID=Europe/Berlin:20270328T040000\r\nSUMMARY:alice\r\n"
    )
    [shift] = parse(gap)[0]
    # PEP 495: the missing 02:30 is read with the offset before the switch (+01:00): 01:30Z to 02:00Z
    assert (shift.start, shift.end, shift.start_offset, shift.end_offset) == (1806197400, 1806199200, 3600, 7200)
    assert time.process_time() - started < 3
    monkeypatch.setattr(schedule_module, "MAX_EVENTS", 100)  # refused before icalendar holds them
    with pytest.raises(ScheduleProblem, match="101 events, more than 100"):
        parse("".join(vevent("DTSTART:20261020T000000Z\r\n", f"u{n}") for n in range(101)))


def test_hostile_schedule_is_kb311_in_kb_check(base_kb: Path) -> None:
    root = make_kb(base_kb, (HEAD + HOSTILE["broken recurrence-id"][0] + "END:VCALENDAR\r\n").encode())
    [found] = check(root, "KB311")
    assert "cannot be read as a schedule" in found and "Wrong datetime format" in found


# -- Grafana OnCall's export as a user quoted it (grafana/oncall#2778, public issue) ------------


def test_grafana_export_event_quoted_in_a_public_issue(base_kb: Path) -> None:
    quoted = (
        "BEGIN:VEVENT\r\nSUMMARY:Rotation L1: alice@example.org\r\nDTSTART;VALUE=DATE-TIME:20261021T230000Z\r\n"
        "DTEND;VALUE=DATE-TIME:20261028T230000Z\r\nDTSTAMP;VALUE=DATE-TIME:20230811T001500Z\r\n"
        "UID:OE33ASP3XRKAZ-202310092300-U87QR1IBDZFDA\r\nLAST-MODIFIED;VALUE=DATE-TIME:20230811T001500Z\r\n"
        "LOCATION:primary\r\nEND:VEVENT\r\n"
    )
    override = quoted.replace("alice@", "carol@").replace("LOCATION:primary", "LOCATION:overrides")
    override = override.replace("20261028T230000Z", "20261022T230000Z").replace("U87QR1", "OVERRIDE")
    ics = HEAD + quoted + override + "END:VCALENDAR\r\n"
    occurrences, _ = parse_calendar(ics.encode(), TODAY)
    assert [(o.summary, o.override) for o in occurrences] == [
        ("Rotation L1: alice@example.org", False),
        ("Rotation L1: carol@example.org", True),
    ]
    found = check(make_kb(base_kb, ics.encode()), "KB312", "KB316")
    assert len(found) == 1 and "carol is paged but is not a member" in found[0]  # the override pages carol


# -- 2. kb access --now ---------------------------------------------------------------------


def test_access_now_without_typing_a_time(base_kb: Path, capsys) -> None:
    root = make_kb(base_kb, ics_vendors.pagerduty())
    before = dt.datetime.now(UTC).replace(microsecond=0)
    assert access_command.run(root=root, now=True, output_format="json") == 0
    data = json.loads(capsys.readouterr().out)
    assert before <= dt.datetime.fromisoformat(data["at"]) <= dt.datetime.now(UTC)
    assert {r["rotation"] for r in data["rotations"]} == {"sre-primary", "ai-platform"}
    assert access_command.run(root=root, now=True, rotation="sre-primary", output_format="json") == 0
    assert [r["rotation"] for r in json.loads(capsys.readouterr().out)["rotations"]] == ["sre-primary"]
    assert access_command.run(root=root, at="2026-10-28T23:17:00+01:00", rotation="sre-primary") == 0
    assert capsys.readouterr().out.startswith("On call at 2026-10-28T23:17:00+01:00:\n\nsre-primary: carol")
    for kwargs, message in (
        ({"now": True, "at": "now"}, "--now is --at now"),
        ({"now": True, "rotation": "nope"}, "no rotation 'nope'"),
        ({"at": "  "}, "--at needs a time"),
        ({"at": "tomorrow"}, "is not an ISO 8601 timestamp"),
        ({"now": True, "person": "alice"}, "take no CARD or --person"),
    ):
        assert access_command.run(root=root, **kwargs) != 0
        assert message in capsys.readouterr().err


def test_cli_access_now_wiring(base_kb: Path, monkeypatch) -> None:
    """The typer option reaches the verb (in process: the subprocess smoke test of kb access
    --at is in test_schedules.py)."""
    from typer.testing import CliRunner

    from kb.cli import app

    monkeypatch.chdir(make_kb(base_kb, ics_vendors.pagerduty()))
    result = CliRunner().invoke(app, ["access", "--now", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "rotations" in json.loads(result.stdout)


# -- 3. credentials in schedules and membership exports -----------------------------------------


def schedule_with_token() -> bytes:
    cal = ics_vendors.calendar("-//PagerDuty Inc.//PagerDuty Schedule Feed//EN", "sre")
    cal.add_component(
        ics_vendors.event(
            "s1",
            dt.datetime(2026, 10, 20, tzinfo=UTC),
            dt.datetime(2026, 12, 20, tzinfo=UTC),
            f"On Call - Alice Martin - {SLACK}",
            description=f"Escalation bridge: post to the channel with token {SLACK} (do not share)",
        )
    )
    return cal.to_ical()


def scim_with_token() -> str:
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "sre",
        "members": [
            {
                "value": "2819c223-7f76-453a-919d-413861904646",
                "display": "Babs Jensen",
                "$ref": f"https://sre:{GITHUB}@scim.example.com/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
            }
        ],
    }
    return json.dumps(group, indent=2).replace("/", "\\/")  # JSON may escape "/": only the decoded URL shows it


def test_kb701_scans_schedules_and_membership_exports(base_kb: Path, capsys) -> None:
    raw = schedule_with_token()
    assert SLACK not in raw.decode()  # icalendar folded the DESCRIPTION across lines
    root = make_kb(base_kb, raw)
    (root / "memberships").mkdir()
    (root / "memberships" / "okta-sre.scim.json").write_text(scim_with_token(), encoding="utf-8")
    found = check(root, "KB701")
    assert [f.split(" KB701 ")[0] for f in found] == [
        "memberships/okta-sre.scim.json:11",
        "schedules/sre-primary.ics:7",  # the folded SUMMARY: its first part, redacted whole
        "schedules/sre-primary.ics:13",  # the folded DESCRIPTION, only whole once unfolded
    ]
    assert not any(SLACK in f or GITHUB in f for f in found)
    secrets = published_secrets(load_kb(root), frozenset())
    assert {SLACK, GITHUB} <= secrets
    # the site's pages never show it (the dashboard quotes the unmapped SUMMARY)
    for page in build_pages(load_kb(root)):
        if page.html is not None:
            html, _, _ = page.html.render(lambda target: target, TocSettings())
            assert SLACK not in html or page.src_uri != "dashboard.md"
    # kb access quotes schedule text; a bot posts it
    assert access_command.run(root=root, at="2026-10-21T03:00:00+00:00", output_format="json") == 0
    assert SLACK not in capsys.readouterr().out


# -- 4. the site judges access with the memberships the exports give ------------------------------


def test_site_uses_members_from(base_kb: Path) -> None:
    """bob lost sre in the identity provider's export: the site's card page and dashboard say
    the card is blocked, as kb check does, not executable as the hand-written list says."""
    plain = {p.src_uri: p for p in build_pages(load_kb(base_kb))}
    html, _, _ = plain["cards/queue-stuck.md"].html.render(lambda t: t, TocSettings())
    assert "executable" in html and "blocked" not in html
    root = make_membership_kb(base_kb, "rfc7643-group.json")
    pages = {p.src_uri: p for p in build_pages(load_kb(root))}
    html, _, _ = pages["cards/queue-stuck.md"].html.render(lambda t: t, TocSettings())
    assert "blocked" in html
    dashboard, _, _ = pages["dashboard.md"].html.render(lambda t: t, TocSettings())
    assert "queue-stuck" in dashboard and "blocked" in dashboard


# -- 5. an agent paged by a shift -----------------------------------------------------------


def test_agent_paged_by_a_shift(base_kb: Path, capsys) -> None:
    """FORMAT.md lets any person carry `email` and `kind: agent`; a schedule may page the agent.
    Nothing crashes: its grants are judged like anyone's, business hours in UTC (an agent has
    no timezone of its own), it reaches no approver, and the shift is drift (not a member)."""
    oncall = ONCALL.replace(
        "rotations:", "  triage-bot: {kind: agent, groups: [sre-daytime], email: triage-bot@example.org}\nrotations:"
    )
    cal = ics_vendors.calendar("-//PagerDuty Inc.//PagerDuty Schedule Feed//EN", "sre")
    cal.add_component(
        ics_vendors.event(
            "a1",
            dt.datetime(2026, 10, 20, tzinfo=UTC),
            dt.datetime(2026, 12, 27, tzinfo=UTC),
            "On Call - triage-bot - SRE",
            attendee="mailto:triage-bot@example.org",
        )
    )
    root = make_kb(base_kb, cal.to_ical(), oncall)
    found = check(root, "KB312", "KB313", "KB316", "KB322")
    assert [f.split(": ", 1)[0].split(" ")[1] for f in found] == ["KB313", "KB316"]  # queue-stuck: no human-only step
    assert "triage-bot is paged but holds queue:pause:dispatch only in business hours" in found[0]
    assert access_command.run(root=root, at="2026-10-21T03:00:00+02:00", output_format="json") == 0
    [sre] = [r for r in json.loads(capsys.readouterr().out)["rotations"] if r["rotation"] == "sre-primary"]
    assert sre["on_call"] == ["triage-bot"] and sre["cards"][0]["can_execute"] is False
    # a step only a human may take, on a card of the rotation: KB322, and kb access says why
    card = root / "cards" / "queue-stuck.yaml"
    card.write_text(
        card.read_text(encoding="utf-8") + "rollback:\n  - id: purge\n    do: Purge the queue\n    irreversible: true\n"
        "    approval: second-person\n    done_when: The queue is empty\n",
        encoding="utf-8",
    )
    [found] = check(root, "KB322")
    assert "only triage-bot (agent) is paged, but card queue-stuck step 'purge' is irreversible" in found
    assert access_command.run(root=root, at="2026-10-21T03:00:00+02:00", output_format="json") == 0
    [sre] = [r for r in json.loads(capsys.readouterr().out)["rotations"] if r["rotation"] == "sre-primary"]
    assert {"problem": "step 'purge' is irreversible, and only an agent is paged (triage-bot)"} in sre["cards"][0][
        "missing"
    ]


def test_forked_parse_workers_give_the_same_schedules(tmp_path: Path, monkeypatch) -> None:
    """Uncached schedules parsed by forked workers are the schedules kb parses itself."""
    import icalendar  # noqa: F401 - imported before the fork: a child never imports under a lock
    import recurring_ical_events  # noqa: F401

    import kb.load.parallel

    (tmp_path / "schedules").mkdir()
    rels = []
    for name in ("pagerduty", "grafana", "incident_io"):
        (tmp_path / "schedules" / f"{name}.ics").write_bytes(getattr(ics_vendors, name)())
        rels.append(f"schedules/{name}.ics")
    (tmp_path / "schedules" / "broken.ics").write_bytes((HEAD + HOSTILE["bysecond"][0] + "END:VCALENDAR\r\n").encode())
    rels.append("schedules/broken.ics")
    monkeypatch.setenv("KB_NO_CACHE", "1")
    alone = schedule_module.read_schedules(tmp_path, rels, TODAY)
    forked: list[int] = []
    monkeypatch.setattr(schedule_module, "PARALLEL_FROM", 0)
    monkeypatch.setattr(kb.load.parallel, "helper_allowed", lambda: forked.append(1) or True)
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = children_cpu()
    together = schedule_module.read_schedules(tmp_path, rels, TODAY)
    assert forked and children_cpu() > before  # the workers parsed (a failed pool would parse here)
    assert together == alone
    assert "a layer repeating secondly" in (together["schedules/broken.ics"].problem or "")


def test_folded_attendee_address_maps(base_kb: Path) -> None:
    """An address folded mid-word at 75 octets (the Atlassian export in grafana/oncall#3603,
    where Grafana OnCall's own raw-text match missed it) is one address once icalendar unfolds it."""
    event = vevent(
        "DTSTART;VALUE=DATE:20261021\r\nDTEND;VALUE=DATE:20261022\r\nSUMMARY:Duty\r\n"
        "ATTENDEE;CN=Alice Martin;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:alice@exa\r\n mple.org\r\n"
    )
    [occurrence] = parse_calendar(
        (HEAD + "X-WR-TIMEZONE:Europe/Berlin\r\n" + event + "END:VCALENDAR\r\n").encode(), TODAY
    )[0]
    assert occurrence.emails == ("alice@example.org",)
    assert check(make_kb(base_kb, (HEAD + event + "END:VCALENDAR\r\n").encode()), "KB312") == []
