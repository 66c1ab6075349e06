"""Caches keyed on what is outside the KB (outside review, findings 11, 12): the promtool build
a replay verdict came from (a swapped binary with the same size and mtime), and the time-zone
database a schedule was expanded with (PYTHONTZPATH, a tzdata update)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import zoneinfo
from pathlib import Path

import pytest

from kb.analysis import schedule
from kb.emit.build import ReplaySuite
from kb.rules.alerting.emit_replay_fails import suite_key

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
    "BEGIN:VEVENT\r\nUID:a1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261101T000000\r\n"
    "DTEND;TZID=Europe/Berlin:20261101T020000\r\nRRULE:FREQ=HOURLY;INTERVAL=4\r\nSUMMARY:alice\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261101T020000\r\n"
    "DTEND;TZID=Europe/Berlin:20261101T040000\r\nRRULE:FREQ=HOURLY;INTERVAL=4\r\nSUMMARY:bob\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_a_promtool_swapped_with_the_same_size_and_mtime_is_another_build(tmp_path: Path) -> None:
    tool = tmp_path / "promtool"
    tool.write_bytes(b"#!/bin/sh\necho one\n")
    suite = ReplaySuite({"name": "g", "rules": []}, [])
    first = suite_key(suite, str(tool))
    before = tool.stat()
    new = tmp_path / "new"
    new.write_bytes(b"#!/bin/sh\necho two\n")
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, tool)
    assert (tool.stat().st_size, tool.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert suite_key(suite, str(tool)) != first


def _use_tzpath(path: list[str] | None) -> None:
    """What a new process with PYTHONTZPATH sees (icalendar keeps the zones it looked up)."""
    from icalendar.timezone import tzp

    zoneinfo.reset_tzpath(path)
    zoneinfo.ZoneInfo.clear_cache()
    getattr(tzp, "_TZP__tz_cache", {}).clear()


@pytest.fixture
def tzpath():
    yield
    _use_tzpath(None)


def _offsets(root: Path) -> list:
    found = schedule.read_schedules(root, ["schedules/sre.ics"], dt.date(2026, 11, 22))["schedules/sre.ics"]
    assert found.problem is None and len(found.occurrences) >= schedule.CACHE_FROM
    return [tuple(o) for o in found.occurrences[:3]]


def test_the_schedule_cache_follows_the_time_zone_database(tmp_path: Path, monkeypatch, tzpath) -> None:
    root = tmp_path / "kb"
    (root / "schedules").mkdir(parents=True)
    (root / "schedules/sre.ics").write_bytes(ICS.encode())
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    berlin = _offsets(root)
    # another time-zone database (PYTHONTZPATH; in life an OS tzdata update): Europe/Berlin is UTC there
    other = tmp_path / "tz"
    (other / "Europe").mkdir(parents=True)
    source = Path(zoneinfo.ZoneInfo("UTC").key)
    utc = next(Path(base) / source for base in zoneinfo.TZPATH if (Path(base) / source).is_file())
    shutil.copy(utc, other / "Europe/Berlin")
    _use_tzpath([str(other)])
    warm = _offsets(root)
    monkeypatch.setenv("KB_NO_CACHE", "1")
    cold = _offsets(root)
    assert cold != berlin  # the database answers differently
    assert warm == cold


def test_the_check_result_key_follows_the_time_zone_database(tmp_path: Path, tzpath) -> None:
    from kb.cache.result import options_key

    first = options_key(select=[])
    (tmp_path / "tz").mkdir()
    _use_tzpath([str(tmp_path / "tz")])
    assert options_key(select=[]) != first
