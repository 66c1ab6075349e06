"""A paging tool's iCalendar export, read as the tool reads it: who is paged, minute by minute.

Parsing is icalendar's; RRULE, RDATE, EXDATE and RECURRENCE-ID expansion (DST included) is
recurring-ical-events'. kb only decides what the vendors' shapes mean:

- a cancelled event (`STATUS:CANCELLED`, also a cancelled RECURRENCE-ID occurrence) is no shift;
- an event is an override when its CATEGORIES or SUMMARY say "override" (Grafana OnCall's
  override calendar, Opsgenie and PagerDuty override entries, incident.io overrides);
- where events overlap, the one paged is the override, then the highest Grafana OnCall
  priority level (`[L2]` beats `[L1]`, no prefix is `[L0]`), then the highest iCalendar
  PRIORITY (1 beats 9; 0 is unset). Equal ranks are paged together, as Grafana OnCall and
  PagerDuty page every user of overlapping equal layers;
- an event names its people by ATTENDEE email first (PagerDuty, Opsgenie, incident.io and
  Datadog put the user's address there), then by the name in SUMMARY: PagerDuty's
  "On Call - <Name> - <Schedule>", Grafana OnCall's "[L1] <user>", "Override: <Name>", or
  the whole text; matched against people's names, `email` and `aliases`.

Only what can still page matters: occurrences are expanded from the start of the check's
day up to the last fixed event or UNTIL of the export, COUNTED_DAYS ahead for layers with COUNT,
and at least HORIZON_DAYS ahead (the reach of a layer that repeats forever).
Parsed files are cached by content (a year of hourly shifts takes icalendar seconds to
parse); the cache makes kb faster, never different: its key is the bytes, the day, and the
versions of kb and both libraries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from kb import __version__
from kb.analysis.identities import Identities
from kb.core import safefile
from kb.core.atomic import write_atomic

HORIZON_DAYS = 92  # how far a layer that repeats forever is expanded
COUNTED_DAYS = 400  # how far a layer with COUNT is followed (its end is known only by expanding it)
MAX_OCCURRENCES = 500_000  # per file: 57 years of hourly shifts
CACHE_FROM = 500  # occurrences: smaller exports parse in milliseconds, not worth a cache file
MAX_BYTES = 50_000_000  # a year of hourly shifts in one file is 1.6 MB
UTC = dt.UTC
LEVEL = re.compile(r"^\s*\[L(\d+)\]\s*", re.IGNORECASE)
PAGERDUTY = re.compile(r"^on[- ]?call\s*[-:\u2013]\s*(.+?)\s*[-\u2013]\s*.+$", re.IGNORECASE)
OVERRIDE = re.compile(r"\boverride\b", re.IGNORECASE)
LINE = "X-KB-LINE"  # the VEVENT's line in the file, carried onto every expanded occurrence


class ScheduleProblem(Exception):
    pass


class Occurrence(NamedTuple):
    """One expanded, not cancelled VEVENT occurrence, in epoch seconds (a tuple: a year of hourly
    shifts is 8,760 of them per rotation, built from the cache on every check)."""

    start: int
    end: int
    start_offset: int  # seconds east of UTC, as the file states the time
    end_offset: int
    line: int  # of BEGIN:VEVENT in the file, 1-based
    summary: str
    emails: tuple[str, ...]
    override: bool
    level: int  # Grafana OnCall [Ln]
    priority: int  # iCalendar PRIORITY mapped so that higher pages first (0: unset)
    zone: str  # the IANA timezone of DTSTART, "" for UTC or a zone without a name

    @property
    def rank(self) -> tuple[int, int, int]:
        return (int(self.override), self.level, self.priority)

    @property
    def text(self) -> str:
        """What the event says about who is on call, for messages."""
        if self.emails:
            return f"ATTENDEE {', '.join(self.emails)}" + (f" / SUMMARY '{self.summary}'" if self.summary else "")
        return f"SUMMARY '{self.summary}'" if self.summary else "an event with no SUMMARY or ATTENDEE"


class Shift(NamedTuple):
    """A stretch of time in which the same events page: who is actually paged then."""

    start: int
    end: int
    start_offset: int
    end_offset: int
    line: int
    people: tuple[str, ...]  # mapped people, in event order
    unmapped: tuple[str, ...]  # what the events said where it named nobody


@dataclass
class Schedule:
    path: str
    occurrences: list[Occurrence] = field(default_factory=list)
    open_ended: bool = False  # some layer repeats forever: the export never runs out
    window_end: int | None = None  # the last minute any occurrence covers
    problem: str | None = None


def stamp(epoch: int, offset: int) -> str:
    """ISO 8601 with the offset the file used (2026-12-05T02:00:00+01:00)."""
    tz = dt.timezone(dt.timedelta(seconds=offset))
    return dt.datetime.fromtimestamp(epoch, tz).isoformat()


def span(start: int, end: int, start_offset: int, end_offset: int) -> str:
    return f"{stamp(start, start_offset)} to {stamp(end, end_offset)}"


# -- reading ------------------------------------------------------------------------------------


def _versions() -> str:
    found = []
    for name in ("icalendar", "recurring-ical-events"):
        try:
            found.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            found.append("?")
    return "/".join(found)


def _code_stamp() -> str:
    """This module's own source: a reading rule changed in development (same version) is a new key."""
    try:
        stat = os.stat(__file__)
    except OSError:
        return "?"
    return f"{stat.st_mtime_ns}/{stat.st_size}"


def _cache_file(key: str) -> Path | None:
    if os.environ.get("KB_NO_CACHE"):
        return None
    configured = os.environ.get("KB_CACHE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"
    return base / "schedules" / f"{key}.marshal"


def _from_cache(path: Path | None) -> tuple[list[Occurrence], bool] | None:
    if path is None:
        return None
    try:
        data = marshal.loads(path.read_bytes())
        open_ended, rows = data
        return list(map(Occurrence._make, rows)), bool(open_ended)
    except (OSError, EOFError, ValueError, TypeError):
        return None  # missing or damaged: parse again


def _to_cache(path: Path | None, occurrences: list[Occurrence], open_ended: bool) -> None:
    if path is None:
        return
    try:
        write_atomic(path, marshal.dumps((open_ended, [tuple(o) for o in occurrences])), compare=False)
    except OSError:
        pass  # a read-only home costs speed, never correctness


def read_schedule(root: Path, rel: str, today: dt.date) -> Schedule:
    """The schedule file at `rel`, expanded from the start of `today` (UTC)."""
    schedule = Schedule(rel)
    raw, schedule.problem = safefile.read_named(root, rel, MAX_BYTES)
    if raw is None:
        return schedule
    key = hashlib.blake2b(
        raw + f"\0{today.isoformat()}\0{HORIZON_DAYS}\0{__version__}\0{_versions()}\0{_code_stamp()}".encode(),
        digest_size=20,
    ).hexdigest()
    cache = _cache_file(key)
    cached = _from_cache(cache)
    if cached is None:
        try:
            cached = parse_calendar(raw, today)
        except ScheduleProblem as exc:
            schedule.problem = f"{rel}: {exc}"
            return schedule
        if len(cached[0]) >= CACHE_FROM:
            _to_cache(cache, *cached)
    schedule.occurrences, schedule.open_ended = cached
    if schedule.occurrences and not schedule.open_ended:
        schedule.window_end = max(o.end for o in schedule.occurrences)
    return schedule


def _event_lines(text: str) -> list[int]:
    """1-based line of every BEGIN:VEVENT, in file order (icalendar walks them in that order)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().upper() == "BEGIN:VEVENT"]


def _calendar_zone(calendar) -> dt.tzinfo:
    name = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleProblem(f"X-WR-TIMEZONE '{name}' is not an IANA timezone") from None


def _aware(value, zone: dt.tzinfo | None, what: str, line: int) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            if zone is None:
                raise ScheduleProblem(
                    f"line {line}: {what} {value.isoformat()} is a floating time (no TZID, no Z, no X-WR-TIMEZONE); "
                    "kb cannot know when that is"
                )
            return value.replace(tzinfo=zone)
        return value
    if isinstance(value, dt.date):  # an all-day event: midnight where the calendar lives
        return dt.datetime.combine(value, dt.time(), zone or UTC)
    raise ScheduleProblem(f"line {line}: {what} is not a date or time")


def _offset_seconds(moment: dt.datetime, what: str, line: int) -> int:
    offset = moment.utcoffset()
    if offset is None:  # _aware gives every time a zone; one that knows no offset is no zone
        raise ScheduleProblem(f"line {line}: {what} {moment.isoformat()} has a time zone without a UTC offset")
    return int(offset.total_seconds())


def _emails(event) -> tuple[str, ...]:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return ()
    if not isinstance(attendees, list):
        attendees = [attendees]
    found = []
    for attendee in attendees:
        text = str(attendee).strip()
        if text.lower().startswith("mailto:"):
            text = text[len("mailto:") :]
        if text and text not in found:
            found.append(text)
    return tuple(found)


def _categories(event) -> list[str]:
    value = event.get("CATEGORIES")
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        cats = getattr(item, "cats", None)
        found += [str(c) for c in cats] if cats is not None else [str(item)]
    return found


def _occurrence(event, zone: dt.tzinfo | None) -> Occurrence | None:
    line = int(event.get(LINE, 0))
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    start_value = event.get("DTSTART")
    if start_value is None:
        raise ScheduleProblem(f"line {line}: an event without DTSTART")
    start = _aware(start_value.dt, zone, "DTSTART", line)
    end_value = event.get("DTEND")
    if end_value is not None:
        end = _aware(end_value.dt, zone, "DTEND", line)
    elif event.get("DURATION") is not None:
        end = start + event.get("DURATION").dt
    else:
        end = start + (dt.timedelta(days=1) if not isinstance(start_value.dt, dt.datetime) else dt.timedelta(0))
    if end <= start:
        return None  # an instant covers no minute
    summary = " ".join(str(event.get("SUMMARY", "")).split())
    level_match = LEVEL.match(summary)
    level = int(level_match.group(1)) if level_match else 0
    try:
        priority = int(event.get("PRIORITY", 0))
    except (TypeError, ValueError):
        priority = 0
    override = bool(OVERRIDE.search(summary)) or any(OVERRIDE.search(c) for c in _categories(event))
    return Occurrence(
        int(start.timestamp()),
        int(end.timestamp()),
        _offset_seconds(start, "DTSTART", line),
        _offset_seconds(end, "DTEND", line),
        line,
        summary,
        _emails(event),
        override,
        level,
        10 - priority if 1 <= priority <= 9 else 0,
        getattr(start.tzinfo, "key", "") or "",
    )


def parse_calendar(raw: bytes, today: dt.date) -> tuple[list[Occurrence], bool]:
    """Every occurrence from the start of `today` (UTC) on, and whether a layer repeats forever."""
    import icalendar  # imported here: a KB without schedules never pays for them
    import recurring_ical_events

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScheduleProblem(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        raise ScheduleProblem(f"not an iCalendar file: {exc}") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise ScheduleProblem("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    events = calendar.walk("VEVENT")
    lines = _event_lines(text)
    if len(lines) != len(events):
        raise ScheduleProblem("its VEVENT blocks could not be matched to lines (a folded BEGIN:VEVENT?)")
    zone = _calendar_zone(calendar) if calendar.get("X-WR-TIMEZONE") else None
    begin = dt.datetime.combine(today, dt.time(), UTC)
    horizon = begin + dt.timedelta(days=HORIZON_DAYS)
    open_ended = False
    for event, line in zip(events, lines):
        event.add(LINE, str(line))
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = event.get(name)
            if value is not None and zone is None:
                _aware(value.dt, None, name, line)  # a floating time: refused before expansion guesses
        rule = event.get("RRULE")
        for item in rule if isinstance(rule, list) else [rule] if rule is not None else []:
            if str((item.get("FREQ") or [""])[0]).upper() in ("SECONDLY", "MINUTELY"):
                raise ScheduleProblem(f"line {line}: a layer repeating {item['FREQ'][0].lower()} is no on-call shift")
            if item.get("UNTIL"):
                until = item["UNTIL"][0]
                until = until if isinstance(until, dt.datetime) else dt.datetime.combine(until, dt.time())
                horizon = max(horizon, until if until.tzinfo else until.replace(tzinfo=UTC))
            elif item.get("COUNT"):
                horizon = max(horizon, begin + dt.timedelta(days=COUNTED_DAYS))
            else:
                open_ended = True
        if rule is None and event.get("DTSTART") is not None and event.get("RECURRENCE-ID") is None:
            occurrence_end = event.get("DTEND") or event.get("DTSTART")
            try:
                end = _aware(occurrence_end.dt, zone, "DTEND", line)
            except ScheduleProblem:
                continue  # reported when the occurrence is read
            horizon = max(horizon, end)
    # window by window (recurring-ical-events' between() is linear, its lazy after() is not): a
    # window's occurrences are those starting in it, the first window also keeps the ones running
    # into it; a hostile layer stops at MAX_OCCURRENCES, not at the end of memory
    found: list[Occurrence] = []
    query = recurring_ical_events.of(calendar)
    left, days = begin, 1
    try:
        while left <= horizon:
            right = min(left + dt.timedelta(days=days), horizon + dt.timedelta(seconds=1))
            window = query.between(left, right)
            for event in window:
                occurrence = _occurrence(event, zone)
                if occurrence is None or (left != begin and occurrence.start < left.timestamp()):
                    continue
                if occurrence.end > begin.timestamp():
                    found.append(occurrence)
            if len(found) > MAX_OCCURRENCES:
                raise ScheduleProblem(
                    f"more than {MAX_OCCURRENCES:,} shifts before {horizon.date().isoformat()}; export a shorter window"
                )
            left = right
            days = min(days * 2, 32) if len(window) < 5000 else days
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # the library's way to reject a bad rule
        raise ScheduleProblem(f"its recurrence rules cannot be expanded: {exc}") from None
    except OverflowError:  # DTEND:99991231T235959Z: past the last date Python can add a day to
        raise ScheduleProblem(
            f"a shift runs past the year {dt.MAXYEAR - 1} (DTEND 9999?): no export pages that far; export a real window"
        ) from None
    found.sort(key=lambda o: (o.start, o.line))
    return found, open_ended


# -- who is paged -------------------------------------------------------------------------------


def _candidates(summary: str) -> list[str]:
    """The names a SUMMARY may carry, most specific first."""
    text = LEVEL.sub("", summary, count=1).strip()
    names = []
    match = PAGERDUTY.match(text)
    if match:
        names.append(match.group(1))
    names.append(text)
    for separator in (" - ", " \u2013 ", ": "):
        if separator in text:
            names += [part.strip() for part in text.split(separator)]
    return [n.lstrip("@").strip() for n in names if n.strip() and not OVERRIDE.fullmatch(n.strip())]


class Mapper:
    """Who an occurrence names, memoised per distinct (summary, attendees)."""

    def __init__(self, identities: Identities):
        self.identities = identities
        self._memo: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def people(self, occurrence: Occurrence) -> tuple[tuple[str, ...], tuple[str, ...]]:
        key = (occurrence.summary, occurrence.emails)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._map(occurrence)
        return found

    def _map(self, occurrence: Occurrence) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if occurrence.emails:
            people, unmapped = [], []
            for email in occurrence.emails:
                person = self.identities.person(email)
                if person is None and len(occurrence.emails) == 1:
                    person = self.identities.first(_candidates(occurrence.summary))
                if person is None:
                    unmapped.append(occurrence.text)
                elif person not in people:
                    people.append(person)
            return tuple(people), tuple(dict.fromkeys(unmapped))
        person = self.identities.first(_candidates(occurrence.summary))
        return ((person,), ()) if person else ((), (occurrence.text,))


def resolve(occurrences: list[Occurrence], mapper: Mapper) -> list[Shift]:
    """Shifts in time order: where events overlap, only the highest-ranked page (see the module
    docstring). Occurrences are sorted by start."""
    if not occurrences:
        return []
    if all(occurrences[i].start >= occurrences[i - 1].end for i in range(1, len(occurrences))):
        shifts = []  # the usual export (a final schedule): nothing overlaps
        for o in occurrences:
            people, unmapped = mapper.people(o)
            shifts.append(Shift(o.start, o.end, o.start_offset, o.end_offset, o.line, people, unmapped))
        return shifts
    return _sweep(occurrences, mapper)


def _sweep(occurrences: list[Occurrence], mapper: Mapper) -> list[Shift]:
    points = sorted({o.start for o in occurrences} | {o.end for o in occurrences})
    starts: dict[int, list[int]] = {}
    for index, o in enumerate(occurrences):
        starts.setdefault(o.start, []).append(index)
    active: set[int] = set()
    shifts: list[Shift] = []
    current: tuple[int, ...] | None = None
    current_start = 0
    for left in points[:-1]:
        active.update(starts.get(left, ()))
        active = {i for i in active if occurrences[i].end > left}
        if active:
            best = max(occurrences[i].rank for i in active)
            paged = tuple(sorted(i for i in active if occurrences[i].rank == best))
        else:
            paged = ()
        if paged != current:
            if current:
                shifts.append(_shift(occurrences, current, current_start, left, mapper))
            current, current_start = paged, left
    if current:
        shifts.append(_shift(occurrences, current, current_start, points[-1], mapper))
    return shifts


def _shift(occurrences: list[Occurrence], paged: tuple[int, ...], start: int, end: int, mapper: Mapper) -> Shift:
    first = occurrences[paged[0]]
    people: list[str] = []
    unmapped: list[str] = []
    for index in paged:
        names, missing = mapper.people(occurrences[index])
        people += [n for n in names if n not in people]
        unmapped += [m for m in missing if m not in unmapped]
    # offsets: the event's own where the shift keeps its edge, else the same offset as its start
    start_offset = first.start_offset if start == first.start else _offset_at(occurrences, paged, start)
    end_offset = first.end_offset if end == first.end else _offset_at(occurrences, paged, end)
    return Shift(start, end, start_offset, end_offset, first.line, tuple(people), tuple(unmapped))


def _offset_at(occurrences: list[Occurrence], paged: tuple[int, ...], moment: int) -> int:
    """The offset the paged event's timezone has at `moment` (an edge an override cut)."""
    first = occurrences[paged[0]]
    if first.zone:
        try:
            offset = dt.datetime.fromtimestamp(moment, zoneinfo.ZoneInfo(first.zone)).utcoffset()
            return int(offset.total_seconds()) if offset is not None else first.start_offset
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return first.start_offset if moment - first.start <= first.end - moment else first.end_offset


def on_call_at(shifts: list[Shift], moment: int) -> Shift | None:
    """The shift covering `moment` (epoch seconds), by bisection."""
    import bisect

    index = bisect.bisect_right([s.start for s in shifts], moment) - 1
    if index >= 0 and shifts[index].end > moment:
        return shifts[index]
    return None


def gaps(shifts: list[Shift], begin: int, end: int) -> list[tuple[int, int, int, int]]:
    """Stretches of [begin, end) no shift covers, as (start, end, start offset, end offset): each
    edge carries the offset of the shift that meets it there."""
    found = []
    cursor, offset = begin, shifts[0].start_offset if shifts else 0
    for shift in shifts:
        if shift.end <= cursor:
            continue
        if shift.start > cursor:
            found.append((cursor, min(shift.start, end), offset, shift.start_offset))
        if shift.end > cursor:
            cursor, offset = shift.end, shift.end_offset
        if cursor >= end:
            break
    if cursor < end:
        found.append((cursor, end, offset, offset))
    return [g for g in found if g[1] > g[0]]
