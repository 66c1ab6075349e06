"""A paging tool's iCalendar export, read as the tool reads it: who is paged, minute by minute.

Parsing is icalendar's; RRULE, RDATE, EXDATE and RECURRENCE-ID expansion (DST included) is
recurring-ical-events'. kb only decides what the vendors' shapes mean:

- a cancelled event (`STATUS:CANCELLED`, also a cancelled RECURRENCE-ID occurrence) is no shift;
- an event is an override when its CATEGORIES or SUMMARY say "override", or its LOCATION is
  "overrides" (Grafana OnCall's override calendar, Opsgenie and PagerDuty override entries, incident.io overrides);
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

import contextlib
import datetime as dt
import gc
import hashlib
import marshal
import os
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from kb import __version__
from kb.analysis import schedule_events
from kb.analysis.identities import Identities
from kb.core import safefile
from kb.core.atomic import write_atomic

HORIZON_DAYS = 92  # how far a layer that repeats forever is expanded
COUNTED_DAYS = 400  # how far a layer with COUNT is followed (its end is known only by expanding it)
MAX_OCCURRENCES = 500_000  # per file: 57 years of hourly shifts
MAX_EVENTS = 50_000  # VEVENTs per file: 5.7 years of hourly shifts; icalendar needs ~4 KB and ~120 µs each
MAX_EXPANSION = 1_000_000  # occurrences a layer has from its DTSTART to the horizon (the library walks them all)
MIN_STEP_MINUTES = 15  # a layer repeating more often pages nobody for a shift
FAST_EVENTS = True  # schedule_events.split for large exports (False: icalendar's whole parse, the reference)
CACHE_FROM = 500  # occurrences: smaller exports parse in milliseconds, not worth a cache file
MAX_BYTES = 20_000_000  # a year of hourly shifts in one file is 1.6 MB
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


Parsed = tuple[list[Occurrence], bool, bool]  # occurrences, open-ended, one-off events only


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
    """The reading code's own source (this module and schedule_events): a reading rule changed in
    development (same version) is a new key."""
    stamps = []
    for source in (__file__, schedule_events.__file__):
        try:
            stat = os.stat(source)
        except OSError:
            return "?"
        stamps.append(f"{stat.st_mtime_ns}/{stat.st_size}")
    return "/".join(stamps)


TZID = re.compile(rb"TZID[=:]\"?([^\";:\r\n]+)")


def _stat_text(path: str) -> str:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}:{st.st_ctime_ns}"


def tz_stamp(raw: bytes = b"") -> str:
    """Which time-zone database answers: the search path (PYTHONTZPATH), the tzdata package's
    version, TZ and /etc/localtime, the stat of each zone folder and its version files, and
    of the zone files `raw` names (TZID): an OS tzdata update or another PYTHONTZPATH gives
    other offsets, so a cached expansion must not stand (outside review)."""
    try:
        tzdata = metadata.version("tzdata")
    except metadata.PackageNotFoundError:
        tzdata = "?"
    parts = [repr(zoneinfo.TZPATH), tzdata, os.environ.get("TZ", ""), _stat_text("/etc/localtime")]
    names = sorted({found.decode("utf-8", "replace").strip() for found in TZID.findall(raw)})
    for base in zoneinfo.TZPATH:
        try:
            folders = sorted(entry.name for entry in os.scandir(base) if entry.is_dir())
        except OSError:
            folders = []
        for name in ["", "tzdata.zi", "+VERSION", *folders, *names]:
            parts.append(f"{name}={_stat_text(os.path.join(base, name))}")
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def _cache_file(key: str) -> Path | None:
    if os.environ.get("KB_NO_CACHE"):
        return None
    configured = os.environ.get("KB_CACHE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"
    return base / "schedules" / f"{key}.marshal"


def _from_cache(path: Path | None, today: dt.date) -> Parsed | None:
    """The answer kept for these bytes, if it is today's answer: kept today, or kept an earlier day
    for a file of one-off events only, whose answer today is that day's without the occurrences
    that ended before today (what parse_calendar drops: the same filter on the same sorted list).
    A file with a recurring layer is expanded from its day to a horizon that moves with it:
    only that day's answer is its answer."""
    if path is None:
        return None
    try:
        sealed = safefile.read_bytes(path, 64 << 20)
        digest, payload = sealed[:32], sealed[32:]
        if hashlib.sha256(payload).digest() != digest:
            return None  # damaged or foreign: marshal must never see it (a flipped byte is a wrong shift)
        day, one_off_only, open_ended, rows = marshal.loads(payload)
        if day != today.isoformat():
            if not one_off_only or not isinstance(day, str) or day > today.isoformat():
                return None
            floor = int(dt.datetime.combine(today, dt.time(), UTC).timestamp())
            rows = [row for row in rows if row[1] > floor]
        return list(map(Occurrence._make, rows)), bool(open_ended), bool(one_off_only)
    except (OSError, EOFError, ValueError, TypeError):
        return None  # missing or damaged: parse again


def _to_cache(path: Path | None, today: dt.date, parsed: Parsed) -> None:
    if path is None:
        return
    occurrences, open_ended, one_off_only = parsed
    try:
        payload = marshal.dumps((today.isoformat(), one_off_only, open_ended, [tuple(o) for o in occurrences]))
        write_atomic(path, hashlib.sha256(payload).digest() + payload, compare=False)
    except OSError:
        pass  # a read-only home costs speed, never correctness


def read_schedule(root: Path, rel: str, today: dt.date) -> Schedule:
    """The schedule file at `rel`, expanded from the start of `today` (UTC)."""
    return read_schedules(root, [rel], today)[rel]


def read_schedules(root: Path, rels: list[str], today: dt.date) -> dict[str, Schedule]:
    """Every schedule file of `rels`, expanded from the start of `today` (UTC). Files the cache
    does not hold are parsed by PARSE_WORKERS forked workers when there are several large ones
    (icalendar's parse is the cost, and it is per file); the answer is the same either way."""
    found: dict[str, Schedule] = {}
    misses: list[tuple[str, bytes, Path | None]] = []
    for rel in dict.fromkeys(rels):
        schedule = found[rel] = Schedule(rel)
        raw, schedule.problem = safefile.read_named(root, rel, MAX_BYTES)
        if raw is None:
            continue
        # the day is not in the key: the answer kept says its day (_from_cache), and a file of
        # one-off events (the usual final-schedule export) is not parsed again each morning
        key = hashlib.blake2b(
            raw
            + f"\0{HORIZON_DAYS}\0{__version__}\0{_versions()}\0{_code_stamp()}".encode()
            + f"\0{tz_stamp(raw)}".encode(),
            digest_size=20,
        ).hexdigest()
        cache = _cache_file(key)
        cached = _from_cache(cache, today)
        if cached is None:
            misses.append((rel, raw, cache))
        else:
            _fill(schedule, cached)
    for (rel, _raw, cache), parsed in zip(misses, _parse_all([(raw, today) for _rel, raw, _cache in misses])):
        if isinstance(parsed, str):
            found[rel].problem = f"{rel}: {parsed}"
            continue
        if len(parsed[0]) >= CACHE_FROM:
            _to_cache(cache, today, parsed)
        _fill(found[rel], parsed)
    return found


def _fill(schedule: Schedule, parsed: Parsed) -> None:
    schedule.occurrences, schedule.open_ended, _one_off_only = parsed
    if schedule.occurrences and not schedule.open_ended:
        schedule.window_end = max(o.end for o in schedule.occurrences)


PARSE_WORKERS = 2
PARALLEL_FROM = 2_000_000  # bytes of uncached schedules: below, forking costs more than it saves


def _parse_one(job: tuple[bytes, dt.date]) -> Parsed | str:
    """One file: its occurrences, or what is wrong with it (a ScheduleProblem's text)."""
    try:
        return parse_calendar_kept(*job)
    except ScheduleProblem as exc:
        return str(exc)


def _parse_all(jobs: list[tuple[bytes, dt.date]]) -> list[Parsed | str]:
    """Every job's answer, in order: by forked workers when several large files are pending and
    kb may fork (kb.load.parallel.helper_allowed: not on Windows, one core, other threads running
    or KB_JOBS=1), else here. A worker that fails or dies means kb parses here: never another
    answer. Each worker holds one parsed file at a time (a year of hourly shifts: about 150 MB)."""
    from kb.load.parallel import helper_allowed

    if len(jobs) < 2 or sum(len(raw) for raw, _today in jobs) < PARALLEL_FROM or not helper_allowed():
        return [_parse_one(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(
            max_workers=min(PARSE_WORKERS, len(jobs)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            answers = list(pool.map(_parse_one, jobs))
    except Exception:  # noqa: BLE001 - a broken pool (a worker killed, no semaphores) is no answer
        return [_parse_one(job) for job in jobs]
    return [a if isinstance(a, str) else (list(map(Occurrence._make, a[0])), a[1], a[2]) for a in answers]


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


class _Facts(NamedTuple):
    """What an event says besides its times: the same for every occurrence of a layer."""

    summary: str
    emails: tuple[str, ...]
    override: bool
    level: int
    priority: int


def _facts(event) -> _Facts:
    summary = " ".join(str(event.get("SUMMARY", "")).split())
    level_match = LEVEL.match(summary)
    try:
        priority = int(event.get("PRIORITY", 0))
    except (TypeError, ValueError):
        priority = 0
    override = (
        bool(OVERRIDE.search(summary))
        or any(OVERRIDE.search(c) for c in _categories(event))
        # Grafana OnCall marks its layers LOCATION:primary and LOCATION:overrides (grafana/oncall#2778)
        or str(event.get("LOCATION", "")).strip().lower() == "overrides"
    )
    return _Facts(
        summary,
        _emails(event),
        override,
        int(level_match.group(1)) if level_match else 0,
        10 - priority if 1 <= priority <= 9 else 0,
    )


def _cancelled(event) -> bool:
    return str(event.get("STATUS", "")).upper() == "CANCELLED"


def _occurrence(
    event, zone: dt.tzinfo | None, line: int, start_time=None, end_time=None, facts: _Facts | None = None
) -> Occurrence | None:
    """An event as a shift, or None if it is cancelled or covers no minute. `start_time` and
    `end_time` are an expanded occurrence's (recurring-ical-events'), else the event's own;
    `facts` the event's, when the caller already read them (an expanded layer's are read once)."""
    if start_time is not None:
        start = _aware(start_time, zone, "DTSTART", line)
        end = _aware(end_time, zone, "DTEND", line)
    else:
        if _cancelled(event):
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
    if facts is None:
        facts = _facts(event)
    return Occurrence(
        int(start.timestamp()),
        int(end.timestamp()),
        _offset_seconds(start, "DTSTART", line),
        _offset_seconds(end, "DTEND", line),
        line,
        *facts,
        getattr(start.tzinfo, "key", "") or "",
    )


STEP = {"YEARLY": 365 * 24 * 60, "MONTHLY": 28 * 24 * 60, "WEEKLY": 7 * 24 * 60, "DAILY": 24 * 60, "HOURLY": 60}


def _bounded_rule(rule, event, zone: dt.tzinfo | None, begin: dt.datetime, line: int) -> None:
    """Refuse a layer no paging tool writes and that would cost expanding without end: one
    repeating more often than every MIN_STEP_MINUTES (FREQ=MINUTELY, BYSECOND, BYMINUTE with
    many values), or one whose DTSTART lies so far back that the library, which walks every
    occurrence from DTSTART on, would walk more than MAX_EXPANSION of them."""
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    if freq in ("SECONDLY", "MINUTELY") or rule.get("BYSECOND"):
        what = "secondly" if freq == "SECONDLY" or rule.get("BYSECOND") else "minutely"
        raise ScheduleProblem(f"line {line}: a layer repeating {what} is no on-call shift")
    per_hour = len(rule.get("BYMINUTE") or [0])
    if per_hour > 60 // MIN_STEP_MINUTES:
        raise ScheduleProblem(f"line {line}: a layer repeating {per_hour} times an hour (BYMINUTE) is no on-call shift")
    start = event.get("DTSTART")
    if start is None or freq not in STEP:
        return
    first = _aware(start.dt, zone or UTC, "DTSTART", line)
    per_step = per_hour * max(1, len(rule.get("BYHOUR") or [])) * max(1, len(rule.get("BYDAY") or []))
    minutes = max(0.0, (begin - first).total_seconds() / 60) + COUNTED_DAYS * 24 * 60
    walked = minutes / STEP[freq] * per_step
    if walked > MAX_EXPANSION:
        raise ScheduleProblem(
            f"line {line}: a layer starting {first.date().isoformat()} repeats about {int(walked):,} times "
            f"before it reaches the schedule's window (more than {MAX_EXPANSION:,}); export the schedule again"
        )


def _known_zone(prop, name: str, line: int) -> None:
    """A TZID that neither IANA nor a VTIMEZONE of the file defines: icalendar leaves the time
    floating, and the file means a zone kb cannot know."""
    tzid = getattr(prop, "params", {}).get("TZID")
    value = getattr(prop, "dt", None)
    if tzid and isinstance(value, dt.datetime) and value.tzinfo is None:
        raise ScheduleProblem(
            f"line {line}: {name} names TZID '{tzid}', which is neither an IANA timezone nor a VTIMEZONE of the file"
        )


RECURRING = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


def _recurring_uids(events) -> set[str]:
    """UIDs recurring-ical-events must see: a series (RRULE, RDATE, EXDATE), a changed or
    cancelled occurrence (RECURRENCE-ID), or a UID given twice (the library decides which
    copy holds). Every other event is one shift and is read as icalendar parsed it."""
    seen: set[str] = set()
    recurring: set[str] = set()
    for event in events:
        uid = str(event.get("UID", ""))
        if uid in seen or any(name in event for name in RECURRING):
            recurring.add(uid)
        seen.add(uid)
    return recurring


def _backwards(event, zone: dt.tzinfo | None, line: int) -> bool:
    start, end = event.get("DTSTART"), event.get("DTEND")
    if start is None or end is None:
        return False
    try:
        return _aware(end.dt, zone or UTC, "DTEND", line) < _aware(start.dt, zone or UTC, "DTSTART", line)
    except (ScheduleProblem, TypeError):
        return False


def _expanded(query, left: dt.datetime, right: dt.datetime):
    """(source VEVENT, start, end) of every occurrence in [left, right). recurring-ical-events'
    public between() copies the whole component per occurrence (half its cost on an hourly
    layer); its occurrences carry the same start and end and their source component, so they
    are read directly where this version has them, through between() otherwise."""
    occurrences_between = getattr(query, "_occurrences_between", None)
    if occurrences_between is not None:
        found = occurrences_between(left, right)
        if all(hasattr(o, "start") and hasattr(o, "end") and hasattr(o, "_adapter") for o in found):
            sources = [getattr(o._adapter, "_component", None) for o in found]
            if all(source is not None for source in sources):
                return [(source, o.start, o.end) for source, o in zip(sources, found)]
    return [(event, None, None) for event in query.between(left, right)]


def parse_calendar(raw: bytes, today: dt.date) -> tuple[list[Occurrence], bool]:
    """Every occurrence from the start of `today` (UTC) on, and whether a layer repeats forever.
    Whatever the file holds, the answer is that or a ScheduleProblem, never another exception."""
    occurrences, open_ended, _one_off_only = parse_calendar_kept(raw, today)
    return occurrences, open_ended


def parse_calendar_kept(raw: bytes, today: dt.date) -> Parsed:
    """parse_calendar's answer, and whether the file holds one-off events only (no layer that
    recurring-ical-events expands): the cache may then keep it for later days."""
    with paused_collector():
        return _parse_calendar_or_problem(raw, today)


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """The cyclic garbage collector paused while a block builds many objects that hold no cycle.
    Its passes over the tens of thousands of tuples of a year of hourly shifts cost a fifth of a
    parse (0.1 s of 0.47 s) and more than building the shifts from the cache, and find nothing to
    free there; reference counting still frees everything. Paused for the block, never longer."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_calendar_or_problem(raw: bytes, today: dt.date) -> Parsed:
    try:
        return _parse_calendar(raw, today)
    except ScheduleProblem:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        # icalendar parses property values when they are first read (BrokenCalendarProperty is a
        # ValueError); recurring-ical-events reads DTSTART when it builds a series
        raise ScheduleProblem(f"cannot be read as a schedule: {type(exc).__name__}: {exc}") from None
    except RecursionError:
        raise ScheduleProblem("its components are nested too deeply to be read") from None


def _read_events(text: str, lines: list[int], icalendar) -> tuple[Any, list[Any]]:
    """The calendar and its VEVENTs in file order: through schedule_events.split where it
    applies (one-off events as OneOff), else icalendar's whole parse."""
    split = schedule_events.split(text, len(lines)) if FAST_EVENTS else None
    if split is not None:
        one_off = [e for e in split[1] if isinstance(e, schedule_events.OneOff)]
        recurring = _recurring_uids(split[1])
        if any(_backwards(e, None, 0) for e in one_off):
            split = None  # DTEND before DTSTART: recurring-ical-events' reading of it (swapped) holds
        elif any(str(e.get("UID", "")) in recurring for e in one_off):
            split = None  # kb hands its UID to recurring-ical-events: a component it must be
    if split is not None:
        return split
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        raise ScheduleProblem(f"not an iCalendar file: {exc}") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise ScheduleProblem("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    return calendar, calendar.walk("VEVENT")


def _parse_calendar(raw: bytes, today: dt.date) -> Parsed:
    import icalendar  # imported here: a KB without schedules never pays for them
    import recurring_ical_events
    import x_wr_timezone  # type: ignore[import-untyped]  # recurring-ical-events' dependency: X-WR-TIMEZONE as RFC 5545

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScheduleProblem(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = _event_lines(text)
    if len(lines) > MAX_EVENTS:  # icalendar holds every component in memory: bounded before parsing
        raise ScheduleProblem(f"{len(lines):,} events, more than {MAX_EVENTS:,}; export a shorter window")
    calendar, events = _read_events(text, lines, icalendar)
    if len(lines) != len(events):
        raise ScheduleProblem("its VEVENT blocks could not be matched to lines (a folded BEGIN:VEVENT?)")
    zone = _calendar_zone(calendar) if calendar.get("X-WR-TIMEZONE") else None
    begin = dt.datetime.combine(today, dt.time(), UTC)
    horizon = begin + dt.timedelta(days=HORIZON_DAYS)
    open_ended = False
    recurring = _recurring_uids(events)
    singles: list[tuple[Any, int]] = []
    for event, line in zip(events, lines):
        if event.get("DTSTART") is None:
            raise ScheduleProblem(f"line {line}: an event without DTSTART")
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            value = event.get(name)
            if value is not None and zone is None:
                _known_zone(value, name, line)
                _aware(value.dt, None, name, line)  # a floating time: refused before expansion guesses
        rule = event.get("RRULE")
        uid = str(event.get("UID", ""))
        if uid not in recurring and not isinstance(event, schedule_events.OneOff) and _backwards(event, zone, line):
            recurring.add(uid)  # DTEND before DTSTART: the library's reading of it (swapped) holds
        if uid not in recurring:
            singles.append((event, line))
        else:
            event.add(LINE, str(line))
        for item in rule if isinstance(rule, list) else [rule] if rule is not None else []:
            _bounded_rule(item, event, zone, begin, line)
            if item.get("UNTIL"):
                until = item["UNTIL"][0]
                until = until if isinstance(until, dt.datetime) else dt.datetime.combine(until, dt.time())
                until = until if until.tzinfo else until.replace(tzinfo=UTC)
                # followed as far as a COUNT layer: an UNTIL in year 9999 is no export's window
                horizon = max(horizon, min(until, begin + dt.timedelta(days=COUNTED_DAYS)))
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
    if zone is not None and singles:
        # what recurring_ical_events.of() does to the whole calendar, done once here so that the
        # single events read directly keep the times (and offsets) the expanded ones get
        calendar = x_wr_timezone.to_standard(calendar)
        events = calendar.walk("VEVENT")
        singles = [(event, line) for event, line in zip(events, lines) if str(event.get("UID", "")) not in recurring]
    found: list[Occurrence] = []
    floor = begin.timestamp()
    said: dict[tuple[str, ...], _Facts] = {}  # a one-off event's facts, by the lines that say them
    for event, line in singles:
        facts = None
        if isinstance(event, schedule_events.OneOff):
            facts = said.get(event.said)
            if facts is None:
                facts = said[event.said] = _facts(event)
        occurrence = _occurrence(event, zone, line, facts=facts)
        if occurrence is not None and occurrence.end > floor:
            found.append(occurrence)
        if len(found) > MAX_OCCURRENCES:
            raise ScheduleProblem(f"more than {MAX_OCCURRENCES:,} shifts; export a shorter window")
    if len(singles) < len(events):
        found += _expand_recurring(calendar, recurring, zone, begin, horizon, len(found), recurring_ical_events)
    found.sort(key=lambda o: (o.start, o.line))
    return found, open_ended, len(singles) == len(events)


def _expand_recurring(calendar, recurring, zone, begin, horizon, already, recurring_ical_events) -> list[Occurrence]:
    """The occurrences of the recurring events, expanded by recurring-ical-events window by window
    (its between() is linear, its lazy after() is not): a window's occurrences are those starting
    in it, the first window also keeps the ones running into it; a hostile layer stops at
    MAX_OCCURRENCES, not at the end of memory."""
    # only the recurring events go to the library (with the time zones they may name): a single
    # event would cost it a series object and a component copy per check for nothing
    calendar.subcomponents = [
        c for c in calendar.subcomponents if c.name != "VEVENT" or str(c.get("UID", "")) in recurring
    ]
    found: list[Occurrence] = []
    sources: dict[int, tuple[Any, int, bool, list[_Facts]]] = {}  # id -> (component kept alive, line, cancelled, facts)
    left, days = begin, 1
    try:
        query = recurring_ical_events.of(calendar)
        while left <= horizon:
            right = min(left + dt.timedelta(days=days), horizon + dt.timedelta(seconds=1))
            window = _expanded(query, left, right)
            for event, start_time, end_time in window:
                # an expanded layer's occurrences share their source component: what it says
                # besides its times is read once per component, not once per occurrence
                known = sources.get(id(event))
                if known is None:
                    cancelled = _cancelled(event)
                    if not cancelled and event.get("DTSTART") is None:
                        raise ScheduleProblem(f"line {int(event.get(LINE, 0))}: an event without DTSTART")
                    known = sources[id(event)] = (event, int(event.get(LINE, 0)), cancelled, [])
                if known[2]:
                    continue
                if not known[3]:
                    known[3].append(_facts(event))
                occurrence = _occurrence(event, zone, known[1], start_time, end_time, known[3][0])
                if occurrence is None or (left != begin and occurrence.start < left.timestamp()):
                    continue
                if occurrence.end > begin.timestamp():
                    found.append(occurrence)
            if already + len(found) > MAX_OCCURRENCES:
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
    return found


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
    if all(later.start >= earlier.end for earlier, later in zip(occurrences, occurrences[1:])):
        # the usual export (a final schedule): nothing overlaps, a shift per occurrence; who an
        # occurrence names is asked once per distinct (SUMMARY, ATTENDEE), not once per shift
        named: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        shifts = []
        for o in occurrences:
            said = (o.summary, o.emails)
            who = named.get(said)
            if who is None:
                who = named[said] = mapper.people(o)
            shifts.append(Shift(o.start, o.end, o.start_offset, o.end_offset, o.line, *who))
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
