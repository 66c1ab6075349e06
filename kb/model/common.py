"""Types shared by every file kind."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
PM_ID_PATTERN = r"^PM-[0-9]{4}-[0-9]{3,}$"
# system:action[:scope]; scope may carry slashes or dots (a bucket, a path, a tenant)
PERMISSION_PATTERN = r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_./@-]+)?$"
GRANT_PATTERN = r"^([A-Za-z0-9_.-]+|\*)(:([A-Za-z0-9_./@-]+|\*))*$"
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
ALERT_NAME_PATTERN = r"^[A-Za-z_:][A-Za-z0-9_:]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=120)]
PostmortemId = Annotated[str, StringConstraints(pattern=PM_ID_PATTERN)]
Permission = Annotated[str, StringConstraints(pattern=PERMISSION_PATTERN, max_length=200)]
GrantPattern = Annotated[str, StringConstraints(pattern=GRANT_PATTERN, max_length=200)]
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN)]
AlertName = Annotated[str, StringConstraints(pattern=ALERT_NAME_PATTERN, max_length=200)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$", max_length=120)]
Text = Annotated[str, StringConstraints(min_length=1)]
Priority = Literal["P1", "P2", "P3"]
Timestamp = AwareDatetime
Date = dt.date


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not silently drop a field."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=False)


PRIORITY_ACTIONS = {
    "P1": "Roll back at once, notify on-call, freeze releases.",
    "P2": "Run in degraded mode.",
    "P3": "Observe and optimise.",
}

__all__ = [
    "AlertName",
    "Date",
    "Duration",
    "GrantPattern",
    "Id",
    "Name",
    "Permission",
    "PostmortemId",
    "Priority",
    "PRIORITY_ACTIONS",
    "Strict",
    "Text",
    "Timestamp",
]
