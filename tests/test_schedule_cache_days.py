"""The schedule cache keeps one answer per file, with its day: a file of one-off events is not
parsed again the next morning (its answer then is the kept one without what ended), a file with a
recurring layer is (its expansion moves with the day), and a kept answer never serves an
earlier day. Every answer equals a fresh parse of the same file for the same day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ics_vendors
import pytest

from kb.analysis import schedule as schedule_module
from kb.analysis.schedule import parse_calendar, read_schedules

DAY = dt.date(2026, 10, 20)


def _one_off_file() -> bytes:
    cal = ics_vendors.calendar("-//PagerDuty Inc.//PagerDuty Schedule Feed//EN", "SRE")
    start = dt.datetime(2026, 10, 19, tzinfo=dt.UTC)
    for hour in range(24 * 8):
        cal.add_component(
            ics_vendors.event(
                f"shift-{hour}",
                start + dt.timedelta(hours=hour),
                start + dt.timedelta(hours=hour + 1),
                f"On Call - Person {hour % 3} - SRE",
                attendee=f"p{hour % 3}@example.org",
            )
        )
    return cal.to_ical()


def _layered_file() -> bytes:
    cal = ics_vendors.calendar("//Grafana Labs//Grafana On-Call//", "SRE")
    start = dt.datetime(2026, 10, 19, tzinfo=dt.UTC)
    cal.add_component(
        ics_vendors.event("layer", start, start + dt.timedelta(hours=1), "[L1] alice", rrule={"freq": "hourly"})
    )
    return cal.to_ical()


@pytest.fixture
def parses(tmp_path: Path, monkeypatch) -> list[int]:
    """How many files kb parsed (a spy on the real parse, which still runs)."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.setattr(schedule_module, "CACHE_FROM", 1)
    counted: list[int] = []
    real = schedule_module._parse_all

    def spy(jobs):
        counted.append(len(jobs))
        return real(jobs)

    monkeypatch.setattr(schedule_module, "_parse_all", spy)
    return counted


def _read(root: Path, day: dt.date):
    schedule = read_schedules(root, ["s.ics"], day)["s.ics"]
    assert schedule.problem is None
    return schedule.occurrences, schedule.open_ended


def test_one_off_events_are_kept_across_days(tmp_path: Path, parses: list[int]) -> None:
    raw = _one_off_file()
    (tmp_path / "s.ics").write_bytes(raw)
    first = _read(tmp_path, DAY)
    later = _read(tmp_path, DAY + dt.timedelta(days=3))
    assert sum(parses) == 1  # the second day came from the kept answer
    assert first == parse_calendar(raw, DAY)
    assert later == parse_calendar(raw, DAY + dt.timedelta(days=3))
    assert 0 < len(later[0]) < len(first[0])
    # an earlier day than the kept one is parsed again (the kept answer lacks what ended before)
    assert _read(tmp_path, DAY - dt.timedelta(days=1)) == parse_calendar(raw, DAY - dt.timedelta(days=1))
    assert sum(parses) == 2


def test_a_recurring_layer_is_expanded_again_each_day(tmp_path: Path, parses: list[int]) -> None:
    raw = _layered_file()
    (tmp_path / "s.ics").write_bytes(raw)
    assert _read(tmp_path, DAY) == parse_calendar(raw, DAY)
    assert _read(tmp_path, DAY) == parse_calendar(raw, DAY)
    assert sum(parses) == 1
    later = DAY + dt.timedelta(days=3)
    assert _read(tmp_path, later) == parse_calendar(raw, later)
    assert sum(parses) == 2
