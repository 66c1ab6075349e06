"""Types shared by every file kind."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic import Strict as StrictMode
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
PM_ID_PATTERN = r"^PM-[0-9]{4}-[0-9]{3,}$"
# system:action[:scope]; scope may carry slashes or dots (a bucket, a path, a tenant)
PERMISSION_PATTERN = r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_./@-]+)?$"
GRANT_PATTERN = r"^([A-Za-z0-9_.-]+|\*)(:([A-Za-z0-9_./@-]+|\*))*$"
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
ALERT_NAME_PATTERN = r"^[A-Za-z_:][A-Za-z0-9_:]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=120)]
# at most 120 characters, as every id (kb.core.ids): it names kb emit's files (rules/kb/alerts/<id>.yml)
PostmortemId = Annotated[str, StringConstraints(pattern=PM_ID_PATTERN, max_length=120)]
Permission = Annotated[str, StringConstraints(pattern=PERMISSION_PATTERN, max_length=200)]
GrantPattern = Annotated[str, StringConstraints(pattern=GRANT_PATTERN, max_length=200)]
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
AlertName = Annotated[str, StringConstraints(pattern=ALERT_NAME_PATTERN, max_length=200)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$", max_length=120)]
Text = Annotated[str, StringConstraints(min_length=1)]
Priority = Literal["P1", "P2", "P3"]
Date = dt.date

# One truth with the JSON Schema an editor uses (issue #15): the editor's YAML 1.2 parser
# keeps `yes`, `'30'` and `2026-11-03 01:52+0100` as strings, and the schema rejects a string
# where it wants a boolean, a number or an RFC 3339 timestamp. kb rejects them too, instead
# of coercing them to a value the editor said was wrong.
Bool = StrictBool
Int = StrictInt
Float = Annotated[float, StrictMode()]  # an int is still a float: 12 is a cost of 12.0
RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
_HAS_OFFSET = re.compile(r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$")


def _rfc3339(value: Any) -> Any:
    # without any offset the value goes on to AwareDatetime, whose error (timestamp without offset) explains
    if isinstance(value, str) and _HAS_OFFSET.search(value) and not re.match(RFC3339, value):
        raise ValueError(
            f"'{value}' is not an RFC 3339 timestamp: write it like 2026-11-03T01:52:00+01:00 "
            "(a T, seconds, and an offset with a colon, or Z)"
        )
    if isinstance(value, str) and _HAS_OFFSET.search(value):
        # a valid RFC 3339 string is parsed here: a strict model (a run log's line) would
        # otherwise refuse the string that this validator stands in front of
        return dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339}),
]


DATE_ONLY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_ONLY = re.compile(DATE_ONLY_PATTERN)
_AWARE = TypeAdapter(AwareDatetime)


def _incident_time(value: Any) -> dt.datetime | dt.date:
    """A timestamp with its offset, or a bare date where the source knows only the day.

    A date is kept as a date (never completed to midnight UTC: that would invent a time);
    anything else must be a timestamp with an offset, with the same errors as before."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, (str, dt.datetime)):  # 1762134720 would pass as a Unix time: the format has none
        raise PydanticCustomError(
            "datetime_type", "a time is written as a timestamp with its offset (2026-11-03T01:52:00+01:00) or a date"
        )
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("date_from_datetime_parsing", f"{value!r} is not a valid date") from None
    try:
        return _AWARE.validate_python(_rfc3339(value))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise PydanticCustomError(error["type"], error["msg"].replace("{", "{{").replace("}", "}}")) from None


# Incident times in postmortems: `2025-08-05T14:02:00+02:00`, or `2025-08-05` when only the day is known.
IncidentTime = Annotated[
    dt.datetime | dt.date,
    PlainValidator(_incident_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "pattern": RFC3339},
                {"type": "string", "format": "date", "pattern": DATE_ONLY_PATTERN},
            ],
            "description": "ISO 8601 with an offset, or a date (YYYY-MM-DD) when only the day is known.",
        }
    ),
]


def is_date_only(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def certainly_before(earlier: dt.date, later: dt.date) -> bool | None:
    """Whether `earlier` is before `later`: True, False, or None when a date-only value
    makes it impossible to say. A date is compared by calendar day with a timestamp's own
    local day (its offset's date): the same day cannot be ordered."""
    if isinstance(earlier, dt.datetime) and isinstance(later, dt.datetime):
        return earlier < later
    a, b = as_day(earlier), as_day(later)
    return None if a == b else a < b


def as_day(value: dt.date) -> dt.date:
    """The calendar day of a timestamp (in its own offset) or of a date."""
    return value.date() if isinstance(value, dt.datetime) else value


def as_instant(value: dt.date | None) -> dt.datetime | None:
    """For drawing only: a date as the start of its day in UTC; a timestamp as itself."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(0, 0), tzinfo=dt.UTC)


def sort_key(value: dt.date) -> tuple[dt.date, float]:
    """Orders timestamps and date-only values together: by UTC day, then by instant; a date
    sorts at the start of its day (for listing only, never for a duration)."""
    if not isinstance(value, dt.datetime):
        return (value, float("-inf"))
    moment = value.astimezone(dt.UTC)
    return (moment.date(), moment.timestamp())


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not silently drop a field."""

    # no coerce_numbers_to_str: `version: 1.10` would silently become "1.1", and the schema
    # (type: string) rejects a number where it wants text (issue #15)
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


PRIORITY_ACTIONS = {
    "P1": "Roll back at once, notify on-call, freeze releases.",
    "P2": "Run in degraded mode.",
    "P3": "Observe and optimise.",
}

__all__ = [
    "AlertName",
    "Bool",
    "Float",
    "Int",
    "Date",
    "Duration",
    "GrantPattern",
    "Id",
    "IncidentTime",
    "Name",
    "Permission",
    "PostmortemId",
    "Priority",
    "PRIORITY_ACTIONS",
    "Strict",
    "Text",
    "Timestamp",
]
