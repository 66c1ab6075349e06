"""Per shift, per card: can the person the pager actually pages execute the card then?

Built from oncall.yaml (with memberships from their sources, kb.analysis.membership), every
rotation's schedule (kb.analysis.schedule) and the cards. For each shift of a rotation and
each card the rotation executes, the people paged must hold every permission each step
requires during the whole shift (a group with `hours: business` grants only inside business
hours in that person's timezone), and an irreversible step's approval must be reachable:
someone paged then, on the rotation or along its escalations, who may give it.

The cost is one dictionary lookup per shift and person, plus a timezone conversion for the
people who hold something only in business hours: linear in shifts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from kb.analysis.access import DAY_NAMES, AccessModel, Hours, describe_hours
from kb.analysis.identities import Identities
from kb.analysis.membership import Memberships, read_memberships
from kb.analysis.schedule import Mapper, Schedule, Shift, paused_collector, read_schedules, resolve, span
from kb.config.settings import BusinessHours
from kb.core.diagnostics import Span
from kb.model import Card, Oncall, Step


@dataclass(frozen=True)
class Need:
    """One permission one step of a card requires, and when a given person holds it."""

    card: Card
    section: str  # steps or rollback
    index: int
    step: Step
    permission: str
    position: int  # in the step's `requires`
    hours: Hours | None  # None: never; business: only in business hours
    request: str | None


class Missing(NamedTuple):
    """One (shift, person, permission) the person paged lacks then (a tuple: a year of hourly
    shifts with someone who holds a permission only in business hours is thousands of them)."""

    rotation: str
    shift: Shift
    person: str
    need: Need
    hours: str  # "never", or "in business hours (Mon-Fri 09:00-18:00, Europe/Berlin)"


@dataclass(frozen=True)
class NoApprover:
    rotation: str
    shift: Shift
    card: Card
    section: str
    index: int
    step: Step
    reachable: tuple[str, ...]


class BusinessClock:
    """Whether a stretch of time lies inside business hours in a timezone.

    Each timezone's business windows are computed once per day as epoch seconds (wall-clock
    arithmetic: DST-safe), and a stretch is looked up by bisection: a year of hourly shifts
    costs a bisection each, not a timezone conversion each."""

    def __init__(self, hours: BusinessHours):
        self.days = {DAY_NAMES.index(d) for d in hours.days}
        self.start, self.end = hours.minutes()
        self.hours = hours
        self._zones: dict[str, zoneinfo.ZoneInfo] = {}
        self._windows: dict[str, tuple[int, list[int], list[int]]] = {}

    def zone(self, name: str) -> zoneinfo.ZoneInfo:
        found = self._zones.get(name)
        if found is None:
            found = self._zones[name] = zoneinfo.ZoneInfo(name)
        return found

    def window(self, day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[int, int] | None:
        """The business window of a local day, in epoch seconds; None on a day off."""
        if day.weekday() not in self.days:
            return None
        midnight = dt.datetime.combine(day, dt.time(), zone)
        opens = midnight + dt.timedelta(minutes=self.start)  # wall-clock arithmetic: DST-safe
        closes = midnight + dt.timedelta(minutes=self.end)
        return int(opens.timestamp()), int(closes.timestamp())

    def inside(self, start: int, end: int, timezone: str) -> bool:
        """[start, end) lies within one business day's window, in that timezone."""
        windows = self._windows.get(timezone)
        if windows is None or not windows[0] <= start < windows[0] + WINDOW_DAYS * 86400:
            windows = self._windows[timezone] = self._build(start, timezone)
        _, opens, closes = windows
        index = bisect.bisect_right(opens, start) - 1
        return index >= 0 and start < closes[index] and end <= closes[index]

    def _build(self, around: int, timezone: str) -> tuple[int, list[int], list[int]]:
        zone = self.zone(timezone)
        first = dt.datetime.fromtimestamp(around, zone).date() - dt.timedelta(days=SLACK_DAYS + 1)
        opens, closes = [], []
        for n in range(WINDOW_DAYS + SLACK_DAYS + 2):
            found = self.window(first + dt.timedelta(days=n), zone)
            if found is not None:
                opens.append(found[0])
                closes.append(found[1])
        return around - SLACK_DAYS * 86400, opens, closes


WINDOW_DAYS = 800  # business windows computed per timezone at a time (a year's export fits)
SLACK_DAYS = 31  # and this many days before the first stretch asked about


@dataclass
class RotationSchedule:
    name: str
    schedule: Schedule
    shifts: list[Shift] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)

    def overlapping(self, start: int, end: int) -> list[Shift]:
        index = max(bisect.bisect_right(self.starts, start) - 1, 0)
        found = []
        while index < len(self.shifts) and self.shifts[index].start < end:
            if self.shifts[index].end > start:
                found.append(self.shifts[index])
            index += 1
        return found

    def at(self, moment: int) -> Shift | None:
        index = bisect.bisect_right(self.starts, moment) - 1
        if index >= 0 and self.shifts[index].end > moment:
            return self.shifts[index]
        return None


class PagingModel:
    """Memberships, schedules and the per-shift verdicts of one knowledge base."""

    def __init__(self, root: Path, oncall: Oncall, cards: list[Card], hours: BusinessHours, today: dt.date):
        self.root = root
        self.declared = oncall
        self.memberships: Memberships = read_memberships(root, oncall)
        self.oncall = self.memberships.oncall
        self.access = AccessModel(self.oncall)
        self.clock = BusinessClock(hours)
        self.today = today
        self.begin = int(dt.datetime.combine(today, dt.time(), dt.UTC).timestamp())
        self.cards = cards
        self.identities = Identities(self.oncall)
        self._needs: dict[tuple[str, str], list[Need]] = {}
        self._business_approvers: dict[str, bool] = {}

    @cached_property
    def rotations(self) -> dict[str, RotationSchedule]:
        """Every rotation with a schedule, read and resolved when first asked (the access rules
        that do not look at schedules never pay for them)."""
        mapper = Mapper(self.identities)
        found = {}
        with paused_collector():  # hundreds of thousands of tuples, no cycle among them
            files = read_schedules(
                self.root, [r.schedule for r in self.oncall.rotations.values() if r.schedule], self.today
            )
            for name, rotation in self.oncall.rotations.items():
                if rotation.schedule:
                    schedule = files[rotation.schedule]
                    shifts = resolve(schedule.occurrences, mapper) if schedule.problem is None else []
                    found[name] = RotationSchedule(name, schedule, shifts, [s.start for s in shifts])
        return found

    # -- what a person lacks for the cards of a rotation ------------------------------------------
    def cards_of(self, rotation: str) -> list[Card]:
        return [card for card in self.cards if card.rotation == rotation]

    def needs(self, rotation: str, person: str) -> list[Need]:
        """What this person does not hold around the clock, for the rotation's cards."""
        key = (rotation, person)
        found = self._needs.get(key)
        if found is None:
            found = []
            holder = self.oncall.people.get(person)
            for card in self.cards_of(rotation):
                for section, index, step in card.all_steps():
                    for position, permission in enumerate(step.requires):
                        hours = self.access.index.person_hours(holder, permission) if holder else None
                        if hours == "24x7":
                            continue
                        info = self.oncall.permissions.get(permission)
                        request = info.request if info else None
                        found.append(Need(card, section, index, step, permission, position, hours, request))
            self._needs[key] = found
        return found

    def missing(self, rotation: str, shifts: list[Shift] | None = None) -> Iterator[Missing]:
        """Every (shift, person, permission) where the person paged cannot run a step then."""
        schedule = self.rotations.get(rotation)
        if schedule is None:
            return
        business = describe_business(self.clock.hours)
        # per person, once: what they lack, their timezone and how that reads (a shift of the same
        # person needs only its own business-hours answer, and only when something depends on it)
        people: dict[str, tuple[list[Need], str, str]] = {}
        inside = self.clock.inside
        for shift in schedule.shifts if shifts is None else shifts:
            for person in shift.people:
                known = people.get(person)
                if known is None:
                    needs = self.needs(rotation, person)
                    timezone = self.oncall.people[person].timezone if needs else ""
                    known = people[person] = (needs, timezone, f"{business[:-1]}, {timezone})")
                needs, timezone, hours = known
                if not needs:
                    continue
                within: bool | None = None
                for need in needs:
                    if need.hours == "business":
                        if within is None:
                            within = inside(shift.start, shift.end, timezone)
                        if within:
                            continue
                        yield Missing(rotation, shift, person, need, hours)
                    else:
                        yield Missing(rotation, shift, person, need, "never")

    # -- approvals -----------------------------------------------------------------------------
    def reachable(self, rotation: str, start: int, end: int) -> list[str]:
        """Humans paged throughout [start, end) on the rotation or along its escalations; a
        rotation without a schedule reaches its members as oncall.yaml declares them: all of
        them (coverage 24x7), or those inside their business hours (coverage business)."""
        return self._reachable(self.access.escalation_chain(rotation), start, end)

    def _reachable(self, chain: list[str], start: int, end: int, own: Shift | None = None) -> list[str]:
        """`own`: a shift of the chain's first rotation spanning exactly [start, end) (resolved
        shifts never overlap: it is the only one there, and its people are those paged throughout)."""
        found: list[str] = []
        for name in chain:
            schedule = self.rotations.get(name)
            if schedule is None:
                people = self.declared_on_call(name, start, end)
            elif own is not None and name == chain[0]:
                people = list(own.people)
            else:
                people = _throughout(schedule.overlapping(start, end), start, end)
            for person in people:
                holder = self.oncall.people.get(person)
                if holder is not None and holder.kind == "human" and person not in found:
                    found.append(person)
        return found

    def declared_on_call(self, rotation: str, start: int, end: int) -> list[str]:
        """The members oncall.yaml puts on call throughout [start, end), schedules aside."""
        declared = self.oncall.rotations[rotation]
        if declared.coverage == "24x7":
            return list(declared.members)
        people = self.oncall.people
        return [m for m in declared.members if m in people and self.clock.inside(start, end, people[m].timezone)]

    def approval_gap(self, rotation: str, approval: str) -> int | None:
        """A moment (epoch seconds) of the coming week when oncall.yaml pages the rotation
        but nobody it reaches along its escalations may give `approval` (each rotation by its
        declared coverage, each approving group by its hours); None when someone can at every
        moment the rotation is paged. Exact: between two consecutive openings or closings of
        anyone's business hours, nobody's reach changes, so each stretch is judged once."""
        chain = self.access.escalation_chain(rotation)
        people = self.oncall.people
        zones = {people[m].timezone for name in chain for m in self.oncall.rotations[name].members if m in people}
        end = self.begin + 8 * 86400  # a week, whatever weekday today is, and a day of slack
        points = {self.begin, end}
        for zone in zones:
            local = dt.datetime.fromtimestamp(self.begin, self.clock.zone(zone)).date()
            for n in range(-1, 10):
                window = self.clock.window(local + dt.timedelta(days=n), self.clock.zone(zone))
                points.update(t for t in window or () if self.begin < t < end)
        moments = sorted(points)
        for start, stop in zip(moments, moments[1:], strict=False):
            if not self.declared_on_call(rotation, start, stop):
                continue  # the rotation is not paged then: nothing waits for an approval
            reachable = [
                m
                for name in chain
                for m in self.declared_on_call(name, start, stop)
                if m in people and people[m].kind == "human"
            ]
            if approval == "second-person":
                if len(set(reachable)) >= 2:
                    continue
            elif any(self.can_approve(m, approval, start, stop) for m in reachable):
                continue
            return start
        return None

    def can_approve(self, person: str, approval: str, start: int, end: int) -> bool:
        holder = self.oncall.people[person]
        for group in holder.groups:
            info = self.oncall.groups.get(group)
            if info is None or approval not in info.approves:
                continue
            if info.hours == "24x7" or self.clock.inside(start, end, holder.timezone):
                return True
        return False

    def no_approver(self, rotation: str, shifts: list[Shift] | None = None) -> Iterator[NoApprover]:
        schedule = self.rotations.get(rotation)
        if schedule is None:
            return
        steps = [
            (card, section, index, step, step.approval)
            for card in self.cards_of(rotation)
            for section, index, step in card.all_steps()
            if step.approval is not None and step.approval != "none"
        ]
        if not steps:
            return
        memo: dict[tuple, tuple[str, ...]] = {}
        chain = self.access.escalation_chain(rotation)
        for shift in schedule.shifts if shifts is None else shifts:
            reachable = tuple(self._reachable(chain, shift.start, shift.end, own=shift))
            business = self._business_key(reachable, shift)  # once per shift, not once per step
            for card, section, index, step, approval in steps:
                key = (reachable, approval, business)
                approvers = memo.get(key)
                if approvers is None:
                    if approval == "second-person":
                        approvers = reachable if len(reachable) >= 2 else ()
                    else:
                        approvers = tuple(p for p in reachable if self.can_approve(p, approval, shift.start, shift.end))
                    memo[key] = approvers
                if not approvers:
                    yield NoApprover(rotation, shift, card, section, index, step, reachable)

    def _business_key(self, people: tuple[str, ...], shift: Shift) -> tuple[bool, ...]:
        """Whether each person is inside business hours for the shift, where it can matter: for
        someone who approves nothing in business hours only, can_approve never asks the clock."""
        return tuple(
            self.clock.inside(shift.start, shift.end, self.oncall.people[p].timezone)
            if self._approves_in_business_hours(p)
            else True
            for p in people
        )

    def _approves_in_business_hours(self, person: str) -> bool:
        found = self._business_approvers.get(person)
        if found is None:
            groups = (self.oncall.groups.get(g) for g in self.oncall.people[person].groups)
            found = self._business_approvers[person] = any(
                info is not None and info.approves and info.hours != "24x7" for info in groups
            )
        return found

    # -- coverage -----------------------------------------------------------------------------
    def non_members(self, rotation: str) -> Iterator[tuple[Shift, str]]:
        schedule = self.rotations.get(rotation)
        if schedule is None:
            return
        members = set(self.oncall.rotations[rotation].members)
        for shift in schedule.shifts:
            for person in shift.people:
                if person not in members:
                    yield shift, person

    def agents_alone(self, rotation: str) -> Iterator[tuple[Shift, Card, str, int, Step]]:
        """(shift, card, section, index, step) where every person the shift pages is an agent and
        the step is one only a human may take (irreversible, or needing approval): KB310's rule,
        applied to who the schedule actually pages rather than the first listed member."""
        schedule = self.rotations.get(rotation)
        if schedule is None:
            return
        steps = [
            (card, section, index, step)
            for card in self.cards_of(rotation)
            for section, index, step in card.all_steps()
            if step.irreversible or step.approval not in (None, "none")
        ]
        if not steps:
            return
        for shift in schedule.shifts:
            kinds = [self.oncall.people[p].kind for p in shift.people if p in self.oncall.people]
            if kinds and all(kind == "agent" for kind in kinds):
                for card, section, index, step in steps:
                    yield shift, card, section, index, step

    def unmapped(self, rotation: str) -> Iterator[tuple[Shift, str]]:
        schedule = self.rotations.get(rotation)
        if schedule is None:
            return
        for shift in schedule.shifts:
            for text in shift.unmapped:
                yield shift, text

    # -- one moment ----------------------------------------------------------------------------
    def on_call(self, rotation: str, moment: int) -> Shift | None:
        schedule = self.rotations.get(rotation)
        return schedule.at(moment) if schedule else None


def _throughout(shifts: list[Shift], start: int, end: int) -> list[str]:
    """People paged in every one of these shifts, when together they cover [start, end)."""
    cursor = start
    people: set[str] | None = None
    order: list[str] = []
    for shift in shifts:
        if shift.start > cursor:
            return []
        cursor = max(cursor, shift.end)
        people = set(shift.people) if people is None else people & set(shift.people)
        order += [p for p in shift.people if p not in order]
    if cursor < end or not people:
        return []
    return [p for p in order if p in people]


def capped(groups: list, limit: int, size=len) -> tuple[list, int]:
    """The first `limit` groups of a rotation's folded findings, and how many shifts the others
    hold (`size` of each): a year of hourly shifts is thousands of events, and the rest is
    counted in one finding, as KB313 does."""
    return groups[:limit], sum(size(group) for group in groups[limit:])


def describe_business(hours: BusinessHours) -> str:
    return f"in business hours ({describe_hours(hours)})"


def describe_shift(shift: Shift) -> str:
    return span(shift.start, shift.end, shift.start_offset, shift.end_offset)


def ics_span(line: int) -> Span:
    """The BEGIN:VEVENT line of a shift's event, where its findings point."""
    return Span(line, 1, line, len("BEGIN:VEVENT") + 1)


@dataclass(frozen=True)
class MomentVerdict:
    """Who a rotation pages at one minute, and which of its cards they can execute then."""

    rotation: str
    source: str  # "schedule" (who the pager pages) or "members" (no schedule: every member)
    shift: Shift | None
    people: tuple[str, ...]
    cards: dict[str, list[dict]]  # card id -> what is missing at that minute (empty: executable)


def at_moment(paging: PagingModel, moment: int) -> list[MomentVerdict]:
    """Per rotation: who is on call at `moment` (epoch seconds) and what each card lacks then."""
    found = []
    minute = (moment, moment + 60)
    for name, rotation in sorted(paging.oncall.rotations.items()):
        schedule = paging.rotations.get(name)
        if schedule is not None:
            shift = schedule.at(moment)
            people, source = (shift.people if shift else ()), "schedule"
        elif rotation.coverage == "business":  # no schedule: members are on call in their business hours
            shift, source = None, "members"
            people = tuple(
                m
                for m in rotation.members
                if m in paging.oncall.people and paging.clock.inside(*minute, paging.oncall.people[m].timezone)
            )
        else:
            shift, people, source = None, tuple(rotation.members), "members"
        reachable = paging.reachable(name, *minute)
        cards: dict[str, list[dict]] = {}
        for card in paging.cards_of(name):
            missing: list[dict] = []
            if not people:
                off_hours = source == "members" and rotation.coverage == "business"
                missing.append(
                    {
                        "problem": "outside its business-hours coverage: nobody is on call"
                        if off_hours
                        else "nobody is on call"
                    }
                )
            for person in people:
                holder = paging.oncall.people.get(person)
                timezone = holder.timezone if holder else "UTC"
                for need in paging.needs(name, person):
                    if need.hours == "business" and paging.clock.inside(*minute, timezone):
                        continue
                    missing.append(
                        {
                            "person": person,
                            "section": need.section,
                            "step": need.step.id,
                            "permission": need.permission,
                            "holds": "never" if need.hours is None else "business hours only",
                            "request": need.request,
                        }
                    )
            agents_only = bool(people) and all(
                paging.oncall.people[p].kind == "agent" for p in people if p in paging.oncall.people
            )
            for section, _index, step in card.all_steps():
                if agents_only and (step.irreversible or step.approval not in (None, "none")):
                    what = "is irreversible" if step.irreversible else f"needs {step.approval} approval"
                    missing.append(
                        {"problem": f"step '{step.id}' {what}, and only an agent is paged ({', '.join(people)})"}
                    )
                if step.approval in (None, "none"):
                    continue
                if step.approval == "second-person":
                    ok = len(reachable) >= 2
                else:
                    ok = any(paging.can_approve(p, step.approval, *minute) for p in reachable)
                if not ok:
                    missing.append(
                        {"section": section, "step": step.id, "approval": step.approval, "reachable": reachable}
                    )
            cards[card.id] = missing
        found.append(MomentVerdict(name, source, shift, people, cards))
    return found


def upcoming_blocked(paging: PagingModel, start: int, days: int = 14) -> list[dict]:
    """The shifts of the next `days` whose person cannot execute some card of the rotation
    (a missing permission, or no approver reachable): the dashboard's list."""
    end = start + days * 86400
    rows: dict[tuple, dict] = {}
    for name, schedule in sorted(paging.rotations.items()):
        window = schedule.overlapping(start, end)
        for item in paging.missing(name, window):
            row = rows.setdefault(
                (item.shift.start, name, item.shift.end),
                {"rotation": name, "shift": describe_shift(item.shift), "people": item.shift.people, "cards": {}},
            )
            row["cards"].setdefault(item.need.card.id, []).append(
                f"{item.person} lacks {item.need.permission} ({item.need.step.id})"
            )
        for gap in paging.no_approver(name, window):
            row = rows.setdefault(
                (gap.shift.start, name, gap.shift.end),
                {"rotation": name, "shift": describe_shift(gap.shift), "people": gap.shift.people, "cards": {}},
            )
            row["cards"].setdefault(gap.card.id, []).append(f"no {gap.step.approval} approver ({gap.step.id})")
    return [rows[key] for key in sorted(rows)]


def dashboard_shifts(kb, days: int = 14, paging: PagingModel | None = None) -> tuple[list[dict], list[str]]:
    """For the site's dashboard: the shifts of the `days` from the start of the KB's today that
    cannot execute some card (upcoming_blocked), and the rotations that have a schedule. `paging`:
    the site's own model (memberships already read), else one is built."""
    if kb.oncall is None or kb.oncall.model is None:
        return [], []
    if paging is None:
        cards = [doc.model for doc in kb.cards if doc.model is not None]
        paging = PagingModel(kb.root, kb.oncall.model, cards, kb.settings.business_hours, kb.config.today())
    return upcoming_blocked(paging, paging.begin, days), sorted(paging.rotations)
