"""Class 9, the parsed-schedule cache (~/.cache/kb/schedules): a byte flipped in an entry
must never become a wrong shift. marshal reads a flipped digit of a timestamp as a valid,
different number, so every entry carries a checksum and any damage is a miss."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import ics_vendors  # real vendor shapes, written by the icalendar library
from conftest import BASE_KB, copy_kb

from kb.analysis import schedule as schedule_module
from kb.analysis.schedule import read_schedule

TODAY = dt.date(2026, 10, 20)


def test_flipped_bytes_in_a_schedule_cache_entry_never_change_a_shift(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.setattr(schedule_module, "CACHE_FROM", 0)
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "schedules").mkdir()
    (root / "schedules/sre-primary.ics").write_bytes(ics_vendors.grafana())
    truth = read_schedule(root, "schedules/sre-primary.ics", TODAY).occurrences
    assert truth
    [entry] = list((tmp_path / "cache" / "schedules").iterdir())
    good = entry.read_bytes()
    rng = random.Random(11)
    wrong = 0
    for _ in range(25):
        data = bytearray(good)
        for _ in range(rng.randint(1, 2)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        entry.write_bytes(bytes(data))
        wrong += read_schedule(root, "schedules/sre-primary.ics", TODAY).occurrences != truth
    assert wrong == 0, f"{wrong} of 25 damaged entries changed the shifts"
