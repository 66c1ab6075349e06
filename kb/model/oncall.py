"""oncall.yaml: people, access groups and rotations."""

from __future__ import annotations

import zoneinfo
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from kb.model.common import GrantPattern, Name, Permission, Strict, Text

Hours = Literal["24x7", "business"]


# The IANA zone names of the tzdata package (a dependency): the same list on every machine, so
# kb check and the JSON Schema's enum accept exactly the same names (issue #15); the
# system's zoneinfo could know more or fewer, and matches case-insensitively on some filesystems.
ZONES = tuple(sorted(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()))
_ZONE_SET = frozenset(ZONES)


def _timezone(name: str) -> str:
    if name not in _ZONE_SET:
        raise ValueError(f"unknown IANA timezone '{name}' (e.g. Europe/Berlin, America/New_York, UTC)")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: `America` is a folder of zones
        raise ValueError(f"unknown IANA timezone '{name}' (e.g. Europe/Berlin, America/New_York, UTC)") from None
    return name


Timezone = Annotated[str, AfterValidator(_timezone), WithJsonSchema({"type": "string", "enum": list(ZONES)})]


def _kb_file(folder: str, suffixes: tuple[str, ...], fragment: bool = False):
    """A file kept in the KB under `folder`: relative, no `..`, one of `suffixes`. The check's
    caches watch these folders, so a file elsewhere would be read once and never again."""

    def check(value: str) -> str:
        path = value.split("#", 1)[0] if fragment else value
        parts = path.split("/")
        if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"'{path}' is not a relative path inside the knowledge base")
        if parts[0] != folder or len(parts) < 2:
            raise ValueError(f"'{path}' must be kept under {folder}/ (e.g. {folder}/<name>{suffixes[0]})")
        if not path.lower().endswith(suffixes):
            raise ValueError(f"'{path}' must end with {' or '.join(suffixes)}")
        return value

    return check


SchedulePath = Annotated[str, AfterValidator(_kb_file("schedules", (".ics",)))]
MembershipPath = Annotated[str, AfterValidator(_kb_file("memberships", (".json",), fragment=True))]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]


class PermissionInfo(Strict):
    system: Text = Field(description="The system that grants it.")
    request: Text = Field(description="How a person gets it.")
    description: str | None = None


class Group(Strict):
    grants: list[GrantPattern] = Field(
        default_factory=list, description="Permission patterns; '*' for a segment or the rest."
    )
    hours: Hours = Field("24x7", description="business: granted only in business hours of each member's timezone.")
    approves: list[Literal["second-person", "incident-commander"]] = Field(
        default_factory=list,
        description="Approvals the group's human members may give to irreversible steps (kb check KB309).",
    )
    members_from: MembershipPath | None = Field(
        None,
        description="An export of the group's members from the system that grants it (SCIM 2.0 Group, GitHub "
        "team members JSON, or a ConductorOne Baton file, optionally '#<resource id>'); it wins over people.groups.",
    )


class Person(Strict):
    groups: list[Name] = Field(default_factory=list)
    timezone: Timezone = "UTC"
    kind: Literal["human", "agent"] = "human"
    email: Email | None = Field(None, description="Matched against a shift's ATTENDEE and membership exports.")
    aliases: list[Alias] = Field(
        default_factory=list, description="Names matched against a shift's SUMMARY and membership exports."
    )


class Rotation(Strict):
    members: list[Name] = Field(min_length=1, description="In paging order: the first is the first responder.")
    coverage: Hours = "24x7"
    escalates_to: Name | None = Field(None, description="A rotation that takes the page next.")
    schedule: SchedulePath | None = Field(
        None, description="The paging tool's iCalendar export: who is actually paged, minute by minute."
    )


class Oncall(Strict):
    permissions: dict[Permission, PermissionInfo] = Field(default_factory=dict)
    groups: dict[Name, Group] = Field(default_factory=dict)
    people: dict[Name, Person] = Field(default_factory=dict)
    rotations: dict[Name, Rotation] = Field(default_factory=dict)
