"""Who can execute a card: grant resolution, business hours, and a verdict per step and member.

The check is per member, never per team: whoever wrote the card may hold access that the
person paged at 02:17 does not. Grants are indexed by their system segment and the holders
of each permission are computed once, so checking a card costs steps x members lookups.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from kb.config.settings import BusinessHours
from kb.model import Card, Oncall, Step
from kb.model.oncall import Person, Rotation

Hours = Literal["24x7", "business"]
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def pattern_matches(pattern: str, permission: str) -> bool:
    """`*` matches one segment, or as the last segment, the rest (`queue:*`, `traces:read:*`)."""
    wanted = pattern.split(":")
    parts = permission.split(":")
    for index, segment in enumerate(wanted):
        if segment == "*" and index == len(wanted) - 1:
            return len(parts) > index
        if index >= len(parts) or (segment != "*" and segment != parts[index]):
            return False
    return len(wanted) == len(parts)


class GrantIndex:
    """Which groups grant a permission, and in which hours; memoised per permission."""

    def __init__(self, oncall: Oncall):
        self.oncall = oncall
        self._by_system: dict[str, list[tuple[str, str]]] = {}
        self._any_system: list[tuple[str, str]] = []
        for name, group in oncall.groups.items():
            for pattern in group.grants:
                system = pattern.split(":", 1)[0]
                bucket = self._any_system if system == "*" else self._by_system.setdefault(system, [])
                bucket.append((pattern, name))
        self._holders: dict[str, dict[str, Hours]] = {}
        self._person_hours: dict[tuple[int, str], Hours | None] = {}

    def groups_granting(self, permission: str) -> dict[str, Hours]:
        cached = self._holders.get(permission)
        if cached is None:
            cached = {}
            system = permission.split(":", 1)[0]
            for pattern, group in (*self._by_system.get(system, ()), *self._any_system):
                if pattern_matches(pattern, permission):
                    cached[group] = self.oncall.groups[group].hours
            self._holders[permission] = cached
        return cached

    def person_hours(self, person: Person, permission: str) -> Hours | None:
        """24x7, business, or None: when this person holds the permission."""
        key = (id(person), permission)
        if key in self._person_hours:
            return self._person_hours[key]
        self._person_hours[key] = hours = self._hours(person, permission)
        return hours

    def _hours(self, person: Person, permission: str) -> Hours | None:
        granting = self.groups_granting(permission)
        hours = [granting[g] for g in person.groups if g in granting]
        if not hours:
            return None
        return "24x7" if "24x7" in hours else "business"

    def holders(self, permission: str) -> list[str]:
        return sorted(name for name, person in self.oncall.people.items() if self.person_hours(person, permission))


def describe_hours(hours: BusinessHours) -> str:
    days = [d for d in DAY_NAMES if d in hours.days]
    span = (
        f"{days[0].title()}-{days[-1].title()}"
        if _contiguous(days) and len(days) > 1
        else ", ".join(d.title() for d in days)
    )
    return f"{span} {hours.start}-{hours.end}"


def describe_uncovered(hours: BusinessHours, timezone: str) -> str:
    """The hours a 24x7 rotation covers that a business-hours grant does not."""
    days = [d for d in DAY_NAMES if d in hours.days]
    off_days = [d.title() for d in DAY_NAMES if d not in hours.days]
    parts = []
    if days:
        span = (
            f"{days[0].title()}-{days[-1].title()}"
            if _contiguous(days) and len(days) > 1
            else ", ".join(d.title() for d in days)
        )
        parts.append(f"{span} before {hours.start} and after {hours.end}")
    if off_days:
        parts.append(f"{', '.join(off_days)} all day")
    return f"{' and '.join(parts)} ({timezone})"


def _contiguous(days: Sequence[str]) -> bool:
    positions = [DAY_NAMES.index(d) for d in days]
    return positions == list(range(positions[0], positions[0] + len(positions))) if positions else False


@dataclass(slots=True)  # one per card, step and permission: no dict each
class MemberAccess:
    name: str
    hours: Hours | None  # when this member holds the permission; None: never


@dataclass(slots=True)  # one per card, step and permission: no dict each
class PermissionAccess:
    permission: str
    index: int  # position in the step's `requires`
    known: bool  # listed in the permissions catalogue
    members: list[MemberAccess]
    request: str | None

    @property
    def lacking(self) -> list[str]:
        return [m.name for m in self.members if m.hours is None]

    def business_only(self, coverage: Hours) -> list[str]:
        return [m.name for m in self.members if m.hours == "business"] if coverage == "24x7" else []


@dataclass(slots=True)  # one per card, step and permission: no dict each
class StepAccess:
    field: str  # "steps" or "rollback"
    index: int
    step: Step
    permissions: list[PermissionAccess]

    def verdict(self, coverage: Hours) -> str:
        if any(p.lacking for p in self.permissions):
            return "blocked"
        if any(p.business_only(coverage) for p in self.permissions):
            return "blocked at night"
        return "executable"


@dataclass(slots=True)  # one per card, step and permission: no dict each
class CardAccess:
    card: Card
    rotation_name: str
    rotation: Rotation | None
    steps: list[StepAccess] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.rotation is None:
            return "no rotation"
        verdicts = {s.verdict(self.rotation.coverage) for s in self.steps}
        for worst in ("blocked", "blocked at night"):
            if worst in verdicts:
                return worst
        return "executable"


class AccessModel:
    """The access view of one knowledge base's oncall.yaml."""

    def __init__(self, oncall: Oncall):
        self.oncall = oncall
        self.index = GrantIndex(oncall)
        self._evaluated: dict[tuple[int, str], CardAccess] = {}
        self._members: dict[tuple[str, str], list[MemberAccess]] = {}

    @cached_property
    def catalogue(self) -> dict:
        return self.oncall.permissions

    def evaluate(self, card: Card, rotation_name: str | None = None) -> CardAccess:
        """The card's access for its rotation (or another); evaluated once per card and rotation,
        since several rules and the site read it."""
        name = rotation_name or card.rotation
        key = (id(card), name)
        if key not in self._evaluated:
            self._evaluated[key] = self._evaluate(card, name)
        return self._evaluated[key]

    def _evaluate(self, card: Card, name: str) -> CardAccess:
        rotation = self.oncall.rotations.get(name)
        result = CardAccess(card, name, rotation)
        if rotation is None:
            return result
        for field_name, index, step in card.all_steps():
            permissions = []
            for position, permission in enumerate(step.requires):
                members = self._members_for(name, rotation, permission)
                info = self.catalogue.get(permission)
                permissions.append(
                    PermissionAccess(permission, position, info is not None, members, info.request if info else None)
                )
            result.steps.append(StepAccess(field_name, index, step, permissions))
        return result

    def _members_for(self, name: str, rotation: Rotation, permission: str) -> list[MemberAccess]:
        """Each member's hours for a permission: the same for every card of the rotation."""
        key = (name, permission)
        members = self._members.get(key)
        if members is None:
            members = [
                MemberAccess(member, self.index.person_hours(person, permission) if person else None)
                for member in rotation.members
                for person in (self.oncall.people.get(member),)
            ]
            self._members[key] = members
        return members

    def escalation_chain(self, rotation_name: str) -> list[str]:
        """The rotation and every rotation it escalates to, in order, without cycles."""
        chain: list[str] = []
        current: str | None = rotation_name
        while current and current in self.oncall.rotations and current not in chain:
            chain.append(current)
            current = self.oncall.rotations[current].escalates_to
        return chain

    def humans(self, rotation_names: list[str]) -> list[str]:
        seen: list[str] = []
        for name in rotation_names:
            for member in self.oncall.rotations[name].members:
                person = self.oncall.people.get(member)
                if person is not None and person.kind == "human" and member not in seen:
                    seen.append(member)
        return seen

    def approvers(self, rotation_name: str, approval: str) -> list[str]:
        """Humans reachable from the rotation (it, then its escalations) who can give `approval`."""
        humans = self.humans(self.escalation_chain(rotation_name))
        if approval == "second-person":
            return humans if len(humans) >= 2 else []
        return [
            h
            for h in humans
            if any(
                approval in self.oncall.groups[g].approves
                for g in self.oncall.people[h].groups
                if g in self.oncall.groups
            )
        ]


def card_access(access: AccessModel | None, card: Card | None) -> CardAccess | None:
    """The card's access for its own rotation, when oncall.yaml and the card loaded."""
    if access is None or card is None:
        return None
    return access.evaluate(card)


def permissions_of(result: CardAccess) -> Iterator[tuple[StepAccess, PermissionAccess]]:
    """Every permission a step of the card requires, with what the card's rotation holds of it."""
    for step in result.steps:
        for perm in step.permissions:
            yield step, perm


def evaluated_cards(kb) -> Iterator[tuple[AccessModel, object, CardAccess]]:
    """(access, document, its CardAccess) for every card that loaded, when oncall.yaml did:
    the loop every access rule starts from."""
    access = kb.access()
    if access is None:
        return
    for doc in kb.cards:
        if doc.model is not None:
            yield access, doc, access.evaluate(doc.model)


def required_permissions(kb) -> Iterator[tuple[AccessModel, object, CardAccess, StepAccess, PermissionAccess]]:
    """Every permission a step requires, with what the card's rotation holds of it."""
    for access, doc, result in evaluated_cards(kb):
        for step in result.steps:
            for perm in step.permissions:
                yield access, doc, result, step, perm
