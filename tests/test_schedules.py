"""Per shift, per card, against the schedule the pager actually uses (issue #18).

Every schedule here is written by the icalendar library in a paging tool's published shape
(tests/ics_vendors.py) and read back by kb through icalendar and recurring-ical-events.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import ics_vendors
import pytest

from kb.analysis import schedule as schedule_module
from kb.analysis.identities import Identities
from kb.analysis.schedule import Mapper, parse_calendar, read_schedule, resolve
from kb.check.engine import run_check
from kb.commands import access as access_command
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

ONCALL = """\
permissions:
  queue:pause:dispatch: {system: Queue, request: "ask sre lead"}
  queue:read:dispatch: {system: Queue, request: "self-serve"}
  deploy:rollback:prompt-service: {system: Deploy, request: "ai-platform lead approves"}
groups:
  sre: {grants: ["queue:*"]}
  sre-daytime: {grants: ["queue:pause:*"], hours: business}
  ai-platform: {grants: [deploy:rollback:prompt-service, "queue:read:*"]}
people:
  alice: {groups: [sre], timezone: Europe/Berlin, email: alice@example.org, aliases: [Alice Martin]}
  bob: {groups: [sre], timezone: America/New_York, email: bob@example.org, aliases: [Bob Jones]}
  carol: {groups: [ai-platform], timezone: Asia/Tokyo, email: carol@example.org, aliases: [Carol Tanaka]}
  dave: {groups: [sre-daytime], timezone: America/New_York, email: dave@example.org, aliases: [Dave Kim]}
rotations:
  sre-primary:
    members: [alice, bob, dave]
    coverage: 24x7
    schedule: schedules/sre-primary.ics
    escalates_to: ai-platform
  ai-platform: {members: [carol], coverage: 24x7}
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> None:
    """Parsed schedules are cached in the user's cache dir; never in the real one from a test."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "kb-cache"))


def make_kb(root: Path, ics: bytes, oncall: str = ONCALL, today: str = "2026-10-20") -> Path:
    mkdocs = root / "mkdocs.yml"
    mkdocs.write_text(re.sub(r"today: \S+", f"today: {today}", mkdocs.read_text(encoding="utf-8")), encoding="utf-8")
    (root / "oncall.yaml").write_text(oncall, encoding="utf-8")
    (root / "schedules").mkdir(exist_ok=True)
    (root / "schedules" / "sre-primary.ics").write_bytes(ics)
    return root


def check(root: Path, *codes: str) -> list[str]:
    result = run_check(RuleContext(load_kb(root)), select=list(codes))
    return [f"{d.path}:{d.span.line} {d.code} {d.message}" for d in result.diagnostics if d.code in codes]


SHIFT_CODES = ("KB311", "KB312", "KB313", "KB314", "KB315", "KB316", "KB317")


def test_pagerduty_final_schedule_override_and_unknown_user(base_kb: Path) -> None:
    found = check(make_kb(base_kb, ics_vendors.pagerduty()), *SHIFT_CODES)
    assert found == [
        # the export's first shift starts at 06:00 on the pinned today: the night before is a gap (finding 14)
        "oncall.yaml:18 KB315 rotation sre-primary covers 24x7 but its schedule pages nobody for 360 minutes in "
        "1 gaps: 2026-10-20T00:00:00+00:00 to 2026-10-20T06:00:00+00:00",
        "schedules/sre-primary.ics:151 KB313 rotation sre-primary, shift 2026-10-28T18:00:00+00:00 to "
        "2026-10-29T06:00:00+00:00: carol is paged but does not hold queue:pause:dispatch, which card "
        "queue-stuck step 'resume' requires; request: ask sre lead",
        "schedules/sre-primary.ics:151 KB316 rotation sre-primary, shift 2026-10-28T18:00:00+00:00 to "
        "2026-10-29T06:00:00+00:00: carol is paged but is not a member of sre-primary in oncall.yaml",
        "schedules/sre-primary.ics:185 KB312 rotation sre-primary: the shift 2026-10-30T18:00:00+00:00 to "
        "2026-10-31T06:00:00+00:00 names nobody in oncall.yaml: ATTENDEE robert.smith@example.org / SUMMARY "
        "'On Call - Robert Smith - SRE Primary'; add that email or name to a person's `email` or `aliases`",
    ]
    text = (base_kb / "schedules" / "sre-primary.ics").read_text()
    assert text.splitlines()[150] == "BEGIN:VEVENT"  # the finding points at the shift's event


def test_pagerduty_summary_alone_maps_through_aliases(base_kb: Path) -> None:
    """Without an ATTENDEE, "On Call - <Name> - <Schedule>" names the person by alias."""
    ics = ics_vendors.pagerduty().replace(b"ATTENDEE:mailto:bob@example.org\r\n", b"")
    assert b"bob@example.org" not in ics
    [unmapped] = check(make_kb(base_kb, ics), "KB312")
    assert "Robert Smith" in unmapped
    occurrences, _ = parse_calendar(ics, dt.date(2026, 10, 20))
    shifts = resolve(occurrences, Mapper(Identities(load_oncall(ONCALL))))
    assert [s.people for s in shifts[:4]] == [("alice",), ("bob",), ("alice",), ("bob",)]


def test_grafana_layers_in_two_timezones_across_dst_with_override_and_cancellations(base_kb: Path) -> None:
    found = check(make_kb(base_kb, ics_vendors.grafana()), *SHIFT_CODES)
    gaps = [f for f in found if " KB315 " in f]
    # Berlin left summer time on Oct 25, New York on Nov 1: that week bob's 02:00 New York end
    # is 07:00 in Berlin, an hour before alice starts; and the EXDATE and cancelled nights are empty
    assert len(gaps) == 1
    assert "pages nobody for 2220 minutes in 10 gaps" in gaps[0]  # 360 of them before the first shift, today
    assert "2026-10-25T02:00:00-04:00 to 2026-10-25T08:00:00+01:00" in gaps[0]
    assert gaps[0].startswith("oncall.yaml:18 KB315")
    overrides = [f for f in found if " KB313 " in f]
    assert overrides == [
        "schedules/sre-primary.ics:133 KB313 rotation sre-primary, shift 2026-11-05T20:00:00+01:00 to "
        "2026-11-06T08:00:00+01:00: carol is paged but does not hold queue:pause:dispatch, which card "
        "queue-stuck step 'resume' requires; request: ask sre lead"
    ]
    assert not [f for f in found if " KB312 " in f]


def test_grafana_override_wins_over_the_layer(tmp_path: Path) -> None:
    occurrences, _ = parse_calendar(ics_vendors.grafana(), dt.date(2026, 10, 20))
    oncall = load_oncall(ONCALL)
    shifts = resolve(occurrences, Mapper(Identities(oncall)))
    moment = int(dt.datetime(2026, 11, 6, 2, tzinfo=ics_vendors.BERLIN).timestamp())
    paged = [s.people for s in shifts if s.start <= moment < s.end]
    assert paged == [("carol",)]
    overlap = int(dt.datetime(2026, 10, 27, 19, 30, tzinfo=ics_vendors.BERLIN).timestamp())
    assert [s.people for s in shifts if s.start <= overlap < s.end] == [("alice", "bob")]  # equal levels: both


def test_cancelled_and_excluded_occurrences_are_not_shifts() -> None:
    occurrences, _ = parse_calendar(ics_vendors.grafana(), dt.date(2026, 10, 20))
    cancelled = int(dt.datetime(2026, 11, 12, 20, tzinfo=ics_vendors.NEW_YORK).timestamp())
    excluded = int(dt.datetime(2026, 11, 10, 20, tzinfo=ics_vendors.NEW_YORK).timestamp())
    for moment in (cancelled, excluded):
        assert not [o for o in occurrences if o.start <= moment < o.end]
    # every night crosses midnight; the one when New York leaves summer time lasts 13 hours
    nights = {
        dt.datetime.fromtimestamp(o.start, ics_vendors.NEW_YORK).date(): o for o in occurrences if "Bob" in o.summary
    }
    assert nights[dt.date(2026, 10, 31)].end - nights[dt.date(2026, 10, 31)].start == 13 * 3600
    assert {o.end - o.start for day, o in nights.items() if day != dt.date(2026, 10, 31)} == {12 * 3600}


def test_opsgenie_override_pages_someone_with_business_hours_grants(base_kb: Path) -> None:
    found = check(make_kb(base_kb, ics_vendors.opsgenie()), *SHIFT_CODES)
    assert found == [
        "schedules/sre-primary.ics:24 KB313 rotation sre-primary, shift 2026-11-04T22:00:00+00:00 to "
        "2026-11-05T06:00:00+00:00: dave is paged but holds queue:pause:dispatch only in business hours "
        "(Mon-Fri 09:00-18:00, America/New_York), which card queue-stuck step 'resume' requires; "
        "request: ask sre lead"
    ]


def test_business_hours_grant_inside_business_hours_is_fine(base_kb: Path) -> None:
    """The same override moved to 10:00-16:00 New York time (a Wednesday) needs nothing."""
    ics = (
        ics_vendors.opsgenie()
        .replace(b"20261104T220000Z", b"20261104T150000Z")
        .replace(b"20261105T060000Z", b"20261104T210000Z")
    )
    assert check(make_kb(base_kb, ics), "KB313") == []


def test_incident_io_unknown_attendee_is_named(base_kb: Path) -> None:
    found = check(make_kb(base_kb, ics_vendors.incident_io()), "KB312")
    assert len(found) == 7
    assert "ATTENDEE mallory@example.org" in found[0]
    assert "shift 2026-10-23T09:00:00+02:00 to 2026-10-24T09:00:00+02:00" in found[0]
    assert "shift 2026-10-27T09:00:00+01:00 to 2026-10-28T09:00:00+01:00" in found[1]  # after Berlin's switch


def test_datadog_drift_and_week_across_dst(base_kb: Path) -> None:
    found = check(make_kb(base_kb, ics_vendors.datadog()), *SHIFT_CODES)
    assert [f.split(" rotation")[0] for f in found] == [
        "oncall.yaml:18 KB315",  # the export's first shift starts after the start of the pinned today
        "schedules/sre-primary.ics:66 KB313",
        "schedules/sre-primary.ics:66 KB316",
    ]
    assert "shift 2026-11-02T09:00:00-05:00 to 2026-11-09T09:00:00-05:00" in found[1]


def test_export_ending_soon_is_stale(base_kb: Path) -> None:
    root = make_kb(base_kb, ics_vendors.pagerduty(), today="2026-10-25")
    assert check(root, "KB317") == [
        "oncall.yaml:18 KB317 rotation sre-primary: schedules/sre-primary.ics ends 2026-11-03T06:00:00+00:00, "
        "within 14 days: export it again"
    ]
    root = make_kb(base_kb, ics_vendors.pagerduty(), today="2026-11-05")
    assert "has no shift from today on" in check(root, "KB317")[0]


def test_open_ended_layer_never_goes_stale(base_kb: Path) -> None:
    ics = ics_vendors.grafana().replace(b";UNTIL=20261120T000000Z", b"")
    assert check(make_kb(base_kb, ics, today="2026-11-15"), "KB317") == []


def test_irreversible_step_needs_an_approver_paged_then(base_kb: Path) -> None:
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.write_text(
        card.read_text(encoding="utf-8")
        + "rollback:\n  - {id: purge, do: Purge the queue, irreversible: true, approval: incident-commander,"
        " done_when: empty}\n",
        encoding="utf-8",
    )
    oncall = ONCALL.replace(
        "  ai-platform: {grants:",
        "  commanders: {approves: [incident-commander], hours: business}\n  ai-platform: {grants:",
    ).replace("carol: {groups: [ai-platform]", "carol: {groups: [ai-platform, commanders]")
    found = check(make_kb(base_kb, ics_vendors.datadog(), oncall), "KB314")
    # carol (Tokyo) approves only in her business hours: a week-long shift is never inside them
    assert len(found) == 3
    assert "needs incident-commander approval, but of those reachable then (bob, carol) none can give it" in found[0]
    oncall_24x7 = oncall.replace("hours: business}\n  ai-platform", "}\n  ai-platform")
    assert check(make_kb(base_kb, ics_vendors.datadog(), oncall_24x7), "KB314") == []


def test_unreadable_and_floating_schedules_fail_closed(base_kb: Path) -> None:
    root = make_kb(base_kb, b"this is not a calendar")
    found = check(root, "KB311")
    assert found and found[0].startswith("oncall.yaml:18 KB311 rotation sre-primary: schedules/sre-primary.ics:")
    floating = ics_vendors.pagerduty().replace(b"DTSTART:20261028T180000Z", b"DTSTART:20261028T180000")
    assert "floating time" in check(make_kb(base_kb, floating), "KB311")[0]
    (root / "schedules" / "sre-primary.ics").unlink()
    assert "cannot read schedules/sre-primary.ics" in check(root, "KB311")[0]


def test_schedule_path_must_stay_in_schedules(base_kb: Path) -> None:
    root = make_kb(base_kb, ics_vendors.pagerduty(), ONCALL.replace("schedules/sre-primary.ics", "../x.ics"))
    result = run_check(RuleContext(load_kb(root)), select=["KB110"])
    assert any("not a relative path inside the knowledge base" in d.message for d in result.diagnostics)


def test_parse_cache_gives_the_same_answer_and_survives_damage(base_kb: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.setattr(schedule_module, "CACHE_FROM", 0)
    root = make_kb(base_kb, ics_vendors.grafana())
    first = read_schedule(root, "schedules/sre-primary.ics", dt.date(2026, 10, 20))
    [entry] = list((tmp_path / "cache" / "schedules").iterdir())
    calls = []
    monkeypatch.setattr(schedule_module, "parse_calendar_kept", lambda *a: calls.append(a) or ([], False, False))
    again = read_schedule(root, "schedules/sre-primary.ics", dt.date(2026, 10, 20))
    assert again.occurrences == first.occurrences and not calls  # from the cache
    entry.write_bytes(b"\x00garbage")
    damaged = read_schedule(root, "schedules/sre-primary.ics", dt.date(2026, 10, 20))
    assert calls and damaged.occurrences == []  # a damaged entry is parsed again, never trusted


def test_access_at_a_minute(base_kb: Path, capsys) -> None:
    root = make_kb(base_kb, ics_vendors.grafana())
    code = access_command.run(root=root, at="2026-11-06T02:17:00+01:00", output_format="json")
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    sre = next(r for r in data["rotations"] if r["rotation"] == "sre-primary")
    assert sre["on_call"] == ["carol"]
    assert sre["shift"] == "2026-11-05T20:00:00+01:00 to 2026-11-06T08:00:00+01:00"
    [card] = sre["cards"]
    assert card["card"] == "queue-stuck" and not card["can_execute"]
    assert card["missing"][0]["permission"] == "queue:pause:dispatch"
    assert card["missing"][0]["request"] == "ask sre lead"
    code = access_command.run(root=root, at="2026-11-06T12:00:00+01:00")
    out = capsys.readouterr().out
    assert "sre-primary: alice (shift 2026-11-06T08:00:00+01:00 to 2026-11-06T20:00:00+01:00)" in out
    assert "queue-stuck: can execute" in out


def test_access_at_fails_closed(base_kb: Path, capsys) -> None:
    root = make_kb(base_kb, ics_vendors.grafana())
    for bad in ("2026-11-06T02:17:00", "tomorrow"):
        assert access_command.run(root=root, at=bad) != 0
        assert "--at" in capsys.readouterr().err
    assert access_command.run(root=root, at="now", card="queue-stuck") == 2


def test_upcoming_blocked_shifts_for_the_dashboard(base_kb: Path) -> None:
    from kb.analysis.paging import upcoming_blocked

    root = make_kb(base_kb, ics_vendors.grafana())
    paging = RuleContext(load_kb(root)).paging()
    start = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
    rows = upcoming_blocked(paging, start, days=14)
    assert rows == [
        {
            "rotation": "sre-primary",
            "shift": "2026-11-05T20:00:00+01:00 to 2026-11-06T08:00:00+01:00",
            "people": ("carol",),
            "cards": {"queue-stuck": ["carol lacks queue:pause:dispatch (resume)"]},
        }
    ]
    assert upcoming_blocked(paging, start + 6 * 86400, days=14) == []


def load_oncall(text: str):
    import yaml

    from kb.model import Oncall

    return Oncall.model_validate(yaml.safe_load(text))


def dashboard_html(root: Path) -> str:
    """The dashboard's body as kb renders it (kb/site/pages/dashboard.py), table cells without
    their data-label (the column name a phone shows)."""
    import re

    from kb.site.html import TocSettings
    from kb.site.pages import Site, dashboard

    (page,) = dashboard.pages(Site(load_kb(root)))
    body, _, _ = page.html.render(lambda target: target, TocSettings())
    return re.sub(r' data-label="[^"]*"', "", body)


def test_dashboard_lists_the_shifts_that_cannot_execute_a_card(base_kb: Path) -> None:
    root = make_kb(base_kb, ics_vendors.grafana(), today="2026-11-01")
    body = dashboard_html(root)
    assert "Shifts in the next 14 days that cannot execute a card</h2>" in body
    assert (
        "<tr><td>sre-primary</td><td>2026-11-05T20:00:00+01:00 to 2026-11-06T08:00:00+01:00</td><td>carol</td>"
        "<td>queue-stuck: carol lacks queue:pause:dispatch (resume)</td></tr>" in body
    )
    root = make_kb(base_kb, ics_vendors.grafana(), today="2026-11-07")
    assert "Every shift of sre-primary in the next 14 days can execute" in dashboard_html(root)


def test_hostile_recurrences_are_bounded(base_kb: Path, monkeypatch) -> None:
    """A layer cancelled for ever ends at the horizon; sub-hourly layers are refused; a layer
    with more shifts than the cap stops there."""
    start = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)

    def layer(freq: str, **extra) -> bytes:
        cal = ics_vendors.calendar("-//hostile//EN", "x")
        end = start + dt.timedelta(seconds=1 if freq == "secondly" else 3600)
        cal.add_component(ics_vendors.event("layer", start, end, "alice", rrule={"freq": freq}, **extra))
        return cal.to_ical()

    assert parse_calendar(layer("hourly", status="CANCELLED"), dt.date(2026, 10, 20)) == ([], True)
    [found] = check(make_kb(base_kb, layer("secondly")), "KB311")
    assert "a layer repeating secondly is no on-call shift" in found
    monkeypatch.setattr(schedule_module, "MAX_OCCURRENCES", 1000)
    [found] = check(make_kb(base_kb, layer("hourly")), "KB311")
    assert "more than 1,000 shifts before 2027-01-20" in found


def test_cli_access_at_smoke(base_kb: Path) -> None:
    from conftest import run_kb

    root = make_kb(base_kb, ics_vendors.pagerduty())
    result = run_kb("access", "--at", "2026-10-28T23:17:00+01:00", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    sre = next(r for r in json.loads(result.stdout)["rotations"] if r["rotation"] == "sre-primary")
    assert sre["on_call"] == ["carol"] and sre["cards"][0]["can_execute"] is False
    bad = run_kb("access", "--at", "2026-10-28 23:17", cwd=root)
    assert bad.returncode == 1 and "has no offset" in bad.stderr


def test_business_clock_matches_a_plain_computation_across_dst() -> None:
    """The bisected windows agree with converting each stretch to local time, DST days included."""
    import random
    import zoneinfo

    from kb.analysis.paging import BusinessClock
    from kb.config.settings import BusinessHours

    hours = BusinessHours(days=["mon", "tue", "wed", "thu", "fri", "sun"], start="08:30", end="18:00")
    clock = BusinessClock(hours)
    rng = random.Random(18)
    base = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"):
        zone = zoneinfo.ZoneInfo(name)
        for _ in range(1500):
            start = base + rng.randrange(0, 300 * 86400, 900)
            end = start + rng.choice([900, 3600, 4 * 3600, 9 * 3600, 86400])
            local_start, local_end = dt.datetime.fromtimestamp(start, zone), dt.datetime.fromtimestamp(end, zone)
            opens = local_start.replace(hour=8, minute=30, second=0, fold=0)
            closes = local_start.replace(hour=18, minute=0, second=0, fold=0)
            expected = (
                local_start.weekday() in (0, 1, 2, 3, 4, 6)
                and opens.timestamp() <= start
                and end <= closes.timestamp()
                and local_end.date() == local_start.date()
            )
            assert clock.inside(start, end, name) == expected, (name, local_start, local_end)


def test_an_override_cuts_a_shift_with_the_offset_its_timezone_has_there() -> None:
    from kb.analysis.paging import describe_shift

    cal = ics_vendors.calendar("-//Datadog//On-Call//EN", "SRE Primary")
    ny = ics_vendors.NEW_YORK
    cal.add_component(
        ics_vendors.event(
            "week",
            dt.datetime(2026, 10, 30, 9, tzinfo=ny),
            dt.datetime(2026, 11, 3, 9, tzinfo=ny),
            "SRE Primary",
            attendee="bob@example.org",
        )
    )
    cal.add_component(
        ics_vendors.event(
            "swap",
            dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC),
            "Override",
            attendee="carol@example.org",
            categories=["override"],
        )
    )
    occurrences, _ = parse_calendar(ics_vendors.with_timezones(cal), dt.date(2026, 10, 20))
    shifts = resolve(occurrences, Mapper(Identities(load_oncall(ONCALL))))
    assert [(describe_shift(s), s.people) for s in shifts] == [
        ("2026-10-30T09:00:00-04:00 to 2026-11-01T19:00:00-05:00", ("bob",)),
        ("2026-11-02T00:00:00+00:00 to 2026-11-02T12:00:00+00:00", ("carol",)),
        ("2026-11-02T07:00:00-05:00 to 2026-11-03T09:00:00-05:00", ("bob",)),
    ]
