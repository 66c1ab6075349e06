"""A large export's one-off events, read with icalendar's own parts but without a component each.

`icalendar.Calendar.from_ical` costs about 110 µs per VEVENT, most of it per-property machinery
(a parser dispatch, a factory lookup, a case-insensitive dictionary insert) around the two calls
that do the work: the content-line tokenizer (`Contentline.parts`) and the value types
(`TypesFactory.for_property(...).from_ical`). A PagerDuty export of a year of hourly shifts is
8,760 VEVENTs whose lines mostly repeat (BEGIN/END, SUMMARY, ATTENDEE, DTSTAMP): here each
distinct line is tokenized once and each distinct value parsed once, by those same library
calls, and only the properties kb reads are parsed at all.

Only events that are plainly one shift are read this way: directly inside the VCALENDAR, no
subcomponent, no RRULE, RDATE, EXDATE, RECURRENCE-ID or CATEGORIES, a UID no other event has,
each property kb reads given once (ATTENDEE any number of times), every value parsed without
error, and no X-WR-TIMEZONE on the calendar. Every other event, and everything else in the
file (VTIMEZONEs first of all), is parsed by `icalendar.Calendar.from_ical` as before; the
one-off events' values are parsed after it, so a TZID sees the file's VTIMEZONEs as the
library's own parse would. When anything is unusual, `split` answers None and the caller
parses the whole file with the library: the answer is the same, only slower.
"""

from __future__ import annotations

from typing import Any

# what kb reads of a one-off event (schedule._occurrence and _parse_calendar's checks)
READ = frozenset({"DTSTART", "DTEND", "DURATION", "SUMMARY", "ATTENDEE", "UID", "STATUS", "PRIORITY", "LOCATION"})
SAID = frozenset({"SUMMARY", "ATTENDEE", "PRIORITY", "LOCATION"})  # what schedule._facts reads
# what makes an event the library's: a series or a part of one, or parsed specially by icalendar
LIBRARY = frozenset({"RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "CATEGORIES", "EXRULE"})
STRUCTURE = frozenset({"BEGIN", "END"})
DATETIMES = ("DTSTART", "DTEND", "RECURRENCE-ID", "DUE", "RDATE", "EXDATE")  # icalendar's TZID-aware names
FAST_FROM = 200  # VEVENTs: below, the library's parse takes milliseconds and this is not worth it


class OneOff(dict):
    """A one-off event's properties kb reads, NAME -> icalendar property value (a list for several
    ATTENDEEs), as a parsed component would hold them. (A component is a dict too: this is not.)
    `said` is the content lines of what it says about who is paged (SUMMARY, ATTENDEE, PRIORITY,
    LOCATION), in file order: events with the same lines say the same (the hourly shifts of one
    person), and kb reads that once per distinct `said`."""

    said: tuple[str, ...] = ()


class _Event:
    __slots__ = ("index", "read", "simple", "uid_line", "uid", "names", "begin", "end")

    def __init__(self, index: int):
        self.index = index  # among the file's VEVENTs, in file order
        self.read: list[tuple[str, Any, str, Any]] = []  # (NAME, params, value, content line) kb reads
        self.simple = True
        self.uid_line: tuple[str, Any, str, Any] | None = None
        self.uid = ""  # str() of its UID, as kb compares them
        self.names: set[str] = set()  # of what kb reads, but ATTENDEE
        self.begin = self.end = 0  # its BEGIN:VEVENT and END:VEVENT among the content lines


def split(text: str, event_count: int) -> tuple[Any, list[Any]] | None:
    """(the calendar as icalendar parses it without the one-off events, every VEVENT in file
    order: a OneOff for a one-off event, the library's component for any other) or None when
    the library must parse the whole file."""
    import icalendar
    from icalendar.parser import Contentlines
    from icalendar.prop import vBroken

    if event_count < FAST_FROM:
        return None
    try:
        content = Contentlines.from_ical(text)
    except ValueError:
        return None
    parts: dict[str, tuple[str, Any, str, Any]] = {}  # content line -> (NAME, params, value, line)
    events: list[_Event] = []
    stack: list[str] = []
    current: _Event | None = None
    for position, line in enumerate(content):
        if not line:
            continue
        found = parts.get(line)
        if found is None:
            try:
                name, params, value = line.parts()
            except ValueError:
                return None  # the library decides what a line it cannot split means
            found = parts[line] = (name.upper(), params, value, line)
        name = found[0]
        if current is not None and name not in STRUCTURE:
            if stack[-1] != "VEVENT":
                continue  # a VALARM's property: the event is the library's already
            if name in READ:
                current.read.append(found)
                if name == "UID":
                    current.uid_line = found
                if name != "ATTENDEE":
                    if name in current.names:
                        current.simple = False  # given twice: the library's list is what kb must see
                    current.names.add(name)
            elif name in LIBRARY:
                current.simple = False
        elif name == "BEGIN":
            what = found[2].upper()
            if what == "VEVENT":
                if stack != ["VCALENDAR"]:
                    return None  # a VEVENT inside another component: the library's walk decides
                current = _Event(len(events))
                current.begin = position
                events.append(current)
            elif current is not None:
                current.simple = False  # a VALARM or the like: the event is the library's
            stack.append(what)
        elif name == "END":
            what = found[2].upper()
            if not stack or stack[-1] != what:
                return None  # unbalanced: the library's error message is the one to give
            stack.pop()
            if what == "VEVENT" and current is not None:
                current.end = position
                current = None
    if stack or len(events) != event_count:
        return None
    types = icalendar.Calendar.types_factory
    values: dict[Any, Any] = {}

    def parsed(name: str, params, value: str, line) -> Any:
        """The property as icalendar's parser builds it (ComponentIcalParser.handle_property)."""
        # a value without parameters is shared by every line holding it (DTEND of one hourly shift
        # is DTSTART of the next): the same factory, the same text, the same value
        key = ("DTSTART" if name == "DTEND" else name, value) if not params else line
        found = values.get(key)
        if found is None:
            factory: Any = types.for_property(name, params.value)
            from_line = getattr(factory, "get_value_from_content_line", None)
            if from_line is not None:
                value = from_line(line)
            tzid = params.get("TZID") if params and name in DATETIMES else None
            found = factory(factory.from_ical(value, tzid) if tzid else factory.from_ical(value))
            found.params = params
            values[key] = found
        return found

    uids: dict[str, int] = {}
    for event in events:
        try:
            event.uid = str(parsed(*event.uid_line)) if event.uid_line is not None else ""
        except (ValueError, TypeError):
            return None
        uids[event.uid] = uids.get(event.uid, 0) + 1
    for event in events:
        if event.simple and uids[event.uid] > 1:
            event.simple = False  # the library decides which copy holds
    # everything but the one-off events, in file order, is the text the library parses
    library = [e for e in events if not e.simple]
    rest = _without(content, [e for e in events if e.simple])
    try:
        calendar = icalendar.Calendar.from_ical("\r\n".join(rest) + "\r\n")
    except (ValueError, IndexError, KeyError):
        return None
    if getattr(calendar, "name", "") != "VCALENDAR" or calendar.get("X-WR-TIMEZONE") is not None:
        return None  # X-WR-TIMEZONE moves every time (x_wr_timezone.to_standard): the library's path
    walked = calendar.walk("VEVENT")
    if len(walked) != len(library):
        return None
    ordered: list[Any] = [None] * len(events)
    for event, component in zip(library, walked, strict=True):
        ordered[event.index] = component
    for event in events:
        if not event.simple:
            continue
        props = OneOff()
        said = []
        for name, params, value, line in event.read:
            if name in SAID:
                said.append(line)
            try:
                prop = parsed(name, params, value, line)
            except (ValueError, TypeError):
                return None  # icalendar would keep it as vBroken: the library's path says what that means
            if isinstance(prop, vBroken):
                return None
            if name == "ATTENDEE" and name in props:
                held = props[name]
                props[name] = [*held, prop] if isinstance(held, list) else [held, prop]
            else:
                props[name] = prop
        props.said = tuple(said)
        ordered[event.index] = props
    return calendar, ordered


def _without(content: list, one_offs: list[_Event]) -> list[str]:
    """The content lines but those of the one-off events, in file order."""
    rest: list[str] = []
    cursor = 0
    for event in one_offs:
        rest += content[cursor : event.begin]
        cursor = event.end + 1
    rest += content[cursor:]
    return [line for line in rest if line]
