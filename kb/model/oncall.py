"""oncall.yaml: people, access groups and rotations."""

from __future__ import annotations

import zoneinfo
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

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
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone '{name}' (e.g. Europe/Berlin, America/New_York, UTC)") from None
    return name


Timezone = Annotated[str, AfterValidator(_timezone), WithJsonSchema({"type": "string", "enum": list(ZONES)})]


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


class Person(Strict):
    groups: list[Name] = Field(default_factory=list)
    timezone: Timezone = "UTC"
    kind: Literal["human", "agent"] = "human"


class Rotation(Strict):
    members: list[Name] = Field(min_length=1, description="In paging order: the first is the first responder.")
    coverage: Hours = "24x7"
    escalates_to: Name | None = Field(None, description="A rotation that takes the page next.")


class Oncall(Strict):
    permissions: dict[Permission, PermissionInfo] = Field(default_factory=dict)
    groups: dict[Name, Group] = Field(default_factory=dict)
    people: dict[Name, Person] = Field(default_factory=dict)
    rotations: dict[Name, Rotation] = Field(default_factory=dict)
