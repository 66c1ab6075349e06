"""The one-off events read through icalendar's tokenizer and value types (kb.analysis.schedule_events)
give exactly the shifts, or exactly the problem, that icalendar's whole parse gives.

Random calendars, written as text so that shapes the icalendar writer never produces are in
(lower-case names, a property twice, a folded line, a broken value, a VTIMEZONE after the
events, nested components), are read both ways. 120 calendars by default (about a second);
KB_SLOW_TESTS=1 reads 3,000.
"""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest

from kb.analysis import schedule as schedule_module
from kb.analysis import schedule_events
from kb.analysis.schedule import ScheduleProblem, parse_calendar

TODAY = dt.date(2026, 10, 20)
COUNT = 3000 if os.environ.get("KB_SLOW_TESTS") else 120

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Custom/Shifted
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0300
TZOFFSETTO:+0230
END:STANDARD
END:VTIMEZONE"""


def _when(rng: random.Random, hours: int) -> str:
    moment = dt.datetime(2026, 10, 18) + dt.timedelta(hours=hours)
    return moment.strftime("%Y%m%dT%H%M%S")


def _time(rng: random.Random, name: str, hours: int) -> str:
    value = _when(rng, hours)
    shape = rng.random()
    if shape < 0.45:
        return f"{name}:{value}Z"
    if shape < 0.6:
        return f"{name};TZID=Europe/Berlin:{value}"
    if shape < 0.7:
        return f"{name};TZID=America/New_York:{value}"
    if shape < 0.76:
        return f"{name};TZID=Custom/Shifted:{value}"
    if shape < 0.8:
        return f"{name};VALUE=DATE:{value[:8]}"
    if shape < 0.83:
        return f"{name}:{value}"  # floating
    if shape < 0.85:
        return f"{name};TZID=Nowhere/Land:{value}"
    if shape < 0.87:
        return f"{name}:2026-10-99"  # broken
    if shape < 0.89:
        return f"{name.lower()}:{value}Z"
    return f"{name};VALUE=DATE-TIME:{value}Z"


def _event(rng: random.Random, index: int, uids: list[str]) -> list[str]:
    uid = rng.choice(uids) if uids and rng.random() < 0.05 else f"u{index}@x"
    uids.append(uid)
    start = rng.randrange(-48, 24 * 40)
    length = rng.choice([1, 1, 1, 5, 8, 24, 0, -2])
    lines = ["BEGIN:VEVENT"]
    if rng.random() > 0.03:
        lines.append(f"UID:{uid}")
    lines.append("DTSTAMP:20261001T000000Z")
    if rng.random() > 0.02:
        lines.append(_time(rng, "DTSTART", start))
    shape = rng.random()
    if shape < 0.8:
        lines.append(_time(rng, "DTEND", start + length))
    elif shape < 0.9:
        lines.append(f"DURATION:PT{max(length, 0)}H")
    who = rng.choice(["alice", "bob", "carol", "Alice Martin", "nobody", "dave"])
    summary = rng.choice(
        [
            f"On Call - {who} - SRE",
            f"[L{rng.randrange(3)}] {who}",
            f"Override: {who}",
            who,
            f"{who}\\, with a comma",
            "",
        ]
    )
    if summary or rng.random() < 0.5:
        lines.append(f"SUMMARY:{summary}")
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        mail = f"{rng.choice(['alice', 'bob', 'carol', 'zed'])}@example.org"
        lines.append(rng.choice([f"ATTENDEE:mailto:{mail}", f'ATTENDEE;CN="X: Y";ROLE=REQ-PARTICIPANT:mailto:{mail}']))
    extra = rng.random()
    if extra < 0.05:
        lines.append("STATUS:CANCELLED")
    elif extra < 0.1:
        lines.append(f"PRIORITY:{rng.randrange(0, 10)}")
    elif extra < 0.13:
        lines.append("PRIORITY:high")
    elif extra < 0.17:
        lines.append("CATEGORIES:override,swap")
    elif extra < 0.21:
        lines.append("LOCATION:overrides")
    elif extra < 0.25:
        lines.append(f"RRULE:FREQ=HOURLY;INTERVAL={rng.randrange(2, 7)};COUNT={rng.randrange(1, 60)}")
    elif extra < 0.27:
        lines.append("RRULE:FREQ=DAILY;COUNT=5")
        lines.append(f"EXDATE:{_when(rng, start + 24)}Z")
    elif extra < 0.29:
        lines.append(f"RECURRENCE-ID:{_when(rng, start)}Z")
    elif extra < 0.31:
        lines.append(_time(rng, "DTSTART", start + 1))  # DTSTART twice
    elif extra < 0.33:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM"]
    elif extra < 0.35:
        lines.append("DESCRIPTION:a long line that is folded by the writer of this export and unfolded by icalendar's")
        lines[-1] = lines[-1][:40] + "\r\n " + lines[-1][40:]
    elif extra < 0.36:
        lines.append("X-BROKEN-LINE-WITHOUT-A-COLON")
    elif extra < 0.37:
        lines.append("PRIORITY:1")
        lines.append("PRIORITY:9")
    lines.append("END:VEVENT")
    return lines


def random_calendar(rng: random.Random) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//random//EN"]
    if rng.random() < 0.08:
        lines.append(f"X-WR-TIMEZONE:{rng.choice(['Europe/Berlin', 'Asia/Tokyo'])}")
    timezone_at = rng.choice(["start", "end", "none", "none"])
    if timezone_at == "start":
        lines += VTIMEZONE.splitlines()
    uids: list[str] = []
    for index in range(rng.randrange(1, 30)):
        lines += _event(rng, index, uids)
    if timezone_at == "end":
        lines += VTIMEZONE.splitlines()
    shape = rng.random()
    if shape < 0.02:
        lines += ["BEGIN:VTODO", *_event(rng, 99, uids), "END:VTODO"]  # a VEVENT nested elsewhere
    elif shape < 0.03:
        lines.pop(rng.randrange(3, len(lines)))  # unbalanced
    lines.append("END:VCALENDAR")
    if shape > 0.98:
        lines += ["BEGIN:VCALENDAR", "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


def read(raw: bytes, fast: bool, monkeypatch) -> object:
    monkeypatch.setattr(schedule_module, "FAST_EVENTS", fast)
    try:
        return parse_calendar(raw, TODAY)
    except ScheduleProblem as exc:
        return f"problem: {exc}"


def test_fast_events_read_what_icalendar_reads(monkeypatch) -> None:
    monkeypatch.setattr(schedule_events, "FAST_FROM", 0)  # every calendar takes the fast path when it can
    rng = random.Random(1507)
    taken = 0
    for number in range(COUNT):
        raw = random_calendar(rng)
        text = raw.decode()
        if schedule_events.split(text, len(schedule_module._event_lines(text))) is not None:
            taken += 1
        assert read(raw, True, monkeypatch) == read(raw, False, monkeypatch), (number, text)
    assert taken > COUNT // 5  # the fast path is exercised, not always refused


@pytest.mark.parametrize("shape", ["pagerduty", "grafana"])
def test_fast_events_on_a_year_of_hourly_shifts(shape: str, monkeypatch) -> None:
    """The benchmark's own exports (tooling/bench_schedules.py), a month of them: same shifts."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tooling"))
    import bench_schedules

    monkeypatch.setattr(bench_schedules, "HOURS", 24 * 30)
    raw = getattr(bench_schedules, f"{shape}_template")().replace(b"ROTATION", b"r0")
    fast = read(raw, True, monkeypatch)
    assert isinstance(fast, tuple) and len(fast[0]) == 720
    assert fast == read(raw, False, monkeypatch)


def test_the_collector_is_paused_only_during_a_parse() -> None:
    """parse_calendar pauses the cyclic collector (a speed-up) and gives it back as it found it,
    after an answer and after a problem alike."""
    import gc

    good = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261020T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    bad = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261020T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    before = gc.isenabled()
    try:
        gc.enable()
        for raw in (good, bad):
            try:
                parse_calendar(raw, TODAY)
            except ScheduleProblem:
                pass
            assert gc.isenabled()
        gc.disable()
        parse_calendar(good, TODAY)
        assert not gc.isenabled()
    finally:
        if before:
            gc.enable()
        else:
            gc.disable()
