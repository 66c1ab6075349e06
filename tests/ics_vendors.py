"""Schedule exports in the shapes the paging tools publish, written with the icalendar library.

The shapes (what kb relies on), from the vendors' documentation and Grafana OnCall's source:
- PagerDuty's schedule feed is the final schedule (layers and overrides already applied): one
  VEVENT per on-call span, UTC times, SUMMARY "On Call - <Name> - <Schedule>", ATTENDEE the
  user's address;
- Grafana OnCall's iCal schedules carry the user name in SUMMARY with an `[Ln]` priority
  prefix (a higher level wins where shifts overlap), rotations as RRULE layers with a TZID,
  overrides on a higher level;
- Opsgenie, incident.io and Datadog feeds name the user in ATTENDEE (mailto:) with the
  schedule or rotation in SUMMARY; overrides are separate events marked as overrides.

What is public and what is assumed (searched 2026-11-30: vendor docs, GitHub issues, library
fixtures): Datadog documents that On-Call schedules export as a webcal:// feed
(DataDog/documentation#26903) and Opsgenie, incident.io publish subscribe links, but none
publishes a sample VEVENT, and no public issue or test fixture found quotes one: their shapes
here are assumptions kb must not depend on beyond ATTENDEE/SUMMARY. Grafana OnCall's own
export is public: `SUMMARY:Rotation L1: user@domain`, `LOCATION:primary` or `overrides`,
`DTSTART;VALUE=DATE-TIME:...Z` (grafana/oncall#2778, quoted in test_schedule_gaps.py); a
folded ATTENDEE address (grafana/oncall#3603) is unfolded by icalendar. A real PagerDuty feed
URL carries its token in the path (envoyproxy/envoy#5925): KB701 scans schedules for it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
STAMP = dt.datetime(2026, 10, 1, tzinfo=UTC)


def calendar(prodid: str, name: str, timezone: str | None = None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    if timezone:
        cal.add("x-wr-timezone", timezone)
    return cal


def event(uid: str, start: dt.datetime, end: dt.datetime, summary: str | None = None, **extra) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", STAMP)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    if summary is not None:
        ev.add("summary", summary)
    for key, value in extra.items():
        name = key.replace("_", "-")
        if name == "attendee":
            for address in value if isinstance(value, list) else [value]:
                ev.add("attendee", f"mailto:{address}")
        else:
            ev.add(name, value)
    return ev


def with_timezones(cal: icalendar.Calendar) -> bytes:
    """VTIMEZONE components for every TZID used, as exporters write them."""
    cal.add_missing_timezones()
    return cal.to_ical()


def pagerduty() -> bytes:
    """Final schedule of "SRE Primary", 2026-10-20 to 2026-11-03: alice days 06:00-18:00 UTC,
    bob nights 18:00-06:00 UTC (across midnight); an override already applied puts carol on
    the night of Oct 28; one night names a user kb does not know."""
    cal = calendar("-//PagerDuty Inc.//PagerDuty Schedule Feed//EN", "SRE Primary")
    day = dt.datetime(2026, 10, 20, 6, tzinfo=UTC)
    for n in range(14):
        start = day + dt.timedelta(days=n)
        cal.add_component(
            event(
                f"pd-day-{n}",
                start,
                start + dt.timedelta(hours=12),
                "On Call - Alice Martin - SRE Primary",
                attendee="alice@example.org",
                url="https://example.pagerduty.com/schedules/PABC123",
            )
        )
        night = start + dt.timedelta(hours=12)
        who, address = ("Bob Jones", "bob@example.org")
        if n == 8:
            who, address = ("Carol Tanaka", "carol@example.org")
        if n == 10:
            who, address = ("Robert Smith", "robert.smith@example.org")
        cal.add_component(
            event(
                f"pd-night-{n}",
                night,
                night + dt.timedelta(hours=12),
                f"On Call - {who} - SRE Primary",
                attendee=address,
            )
        )
    return cal.to_ical()


def grafana() -> bytes:
    """Two RRULE layers in two timezones: alice 08:00-20:00 Europe/Berlin and bob 14:00-02:00
    America/New_York (20:00-08:00 in Berlin while both zones keep summer or winter time).
    Between Berlin's switch (Oct 25) and New York's (Nov 1) they overlap 19:00-20:00 and leave
    07:00-08:00 Berlin time uncovered. An [L2] override puts carol on one night; one night of
    bob's layer is cancelled (RECURRENCE-ID, STATUS:CANCELLED) and one is excluded (EXDATE)."""
    cal = calendar("//Grafana Labs//Grafana On-Call//", "SRE primary", "UTC")
    first = dt.date(2026, 10, 20)
    alice = event(
        "oncall-alice-PK1-U1-E1-S0",
        dt.datetime.combine(first, dt.time(8), BERLIN),
        dt.datetime.combine(first, dt.time(20), BERLIN),
        "[L1] alice@example.org",
        rrule={"freq": "daily", "until": dt.datetime(2026, 11, 20, tzinfo=UTC)},
    )
    bob = event(
        "oncall-bob-PK2-U2-E1-S0",
        dt.datetime.combine(first, dt.time(14), NEW_YORK),
        dt.datetime.combine(first + dt.timedelta(days=1), dt.time(2), NEW_YORK),
        "[L1] Bob Jones",
        rrule={"freq": "daily", "until": dt.datetime(2026, 11, 20, tzinfo=UTC)},
        exdate=dt.datetime(2026, 11, 10, 14, tzinfo=NEW_YORK),
    )
    cancelled = event(
        "oncall-bob-PK2-U2-E1-S0",
        dt.datetime(2026, 11, 12, 14, tzinfo=NEW_YORK),
        dt.datetime(2026, 11, 13, 2, tzinfo=NEW_YORK),
        "[L1] Bob Jones",
        recurrence_id=dt.datetime(2026, 11, 12, 14, tzinfo=NEW_YORK),
        status="CANCELLED",
    )
    override = event(
        "oncall-override-PK3-U3-E1-S2",
        dt.datetime(2026, 11, 5, 20, tzinfo=BERLIN),
        dt.datetime(2026, 11, 6, 8, tzinfo=BERLIN),
        "[L2] carol",
    )
    for component in (alice, bob, cancelled, override):
        cal.add_component(component)
    return with_timezones(cal)


def opsgenie() -> bytes:
    """A weekly rotation layer (alice then bob, a week each) and an override for Nov 4-5."""
    cal = calendar("-//Opsgenie//Opsgenie Schedule//EN", "sre_primary_schedule")
    start = dt.datetime(2026, 10, 19, 9, tzinfo=UTC)
    for n, (who, address) in enumerate([("Alice Martin", "alice@example.org"), ("Bob Jones", "bob@example.org")]):
        cal.add_component(
            event(
                f"og-rotation-{n}",
                start + dt.timedelta(weeks=n),
                start + dt.timedelta(weeks=n + 1),
                f"{who} - sre_primary_rotation",
                attendee=address,
                rrule={"freq": "weekly", "interval": 2, "count": 4},
            )
        )
    cal.add_component(
        event(
            "og-override-1",
            dt.datetime(2026, 11, 4, 22, tzinfo=UTC),
            dt.datetime(2026, 11, 5, 6, tzinfo=UTC),
            "Override: Dave Kim",
            attendee="dave@example.org",
            categories=["Override"],
        )
    )
    return cal.to_ical()


def incident_io() -> bytes:
    """Daily 24-hour shifts from 09:00 Europe/Berlin; one shift's attendee is unknown to kb."""
    cal = calendar("-//incident.io//On-call schedules//EN", "SRE primary")
    people = ["alice@example.org", "bob@example.org", "alice@example.org", "mallory@example.org"]
    day = dt.datetime(2026, 10, 20, 9, tzinfo=BERLIN)
    for n in range(28):
        start = dt.datetime.combine(day.date() + dt.timedelta(days=n), dt.time(9), BERLIN)
        end = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(9), BERLIN)
        cal.add_component(event(f"iio-{n}", start, end, "On-call: SRE primary", attendee=people[n % 4]))
    return with_timezones(cal)


def datadog() -> bytes:
    """Weekly shifts in America/New_York across the Nov 1 switch; carol (not a member) holds one."""
    cal = calendar("-//Datadog//On-Call//EN", "SRE Primary")
    for n, address in enumerate(["bob@example.org", "carol@example.org", "bob@example.org"]):
        start = dt.datetime(2026, 10, 26, 9, tzinfo=NEW_YORK) + dt.timedelta(weeks=n)
        start = dt.datetime.combine(start.date(), dt.time(9), NEW_YORK)
        end = dt.datetime.combine(start.date() + dt.timedelta(weeks=1), dt.time(9), NEW_YORK)
        cal.add_component(event(f"dd-{n}", start, end, "SRE Primary", attendee=address))
    return with_timezones(cal)
