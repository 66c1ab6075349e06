from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class TimestampWithoutOffset(LoadRule):
    """A timestamp has no UTC offset.

    Why: incidents cross timezones (quota resets, handovers between Berlin and New York).
    `02:17` without an offset is three different moments to three readers, and timeline
    order and recovery minutes computed from it are wrong.

    Bad:

    ```yaml
    started_at: 2026-11-03T01:52:00
    ```

    Good:

    ```yaml
    started_at: 2026-11-03T01:52:00+00:00
    ```
    """

    code = "KB113"
    reports = LoadProblem.NAIVE_TIMESTAMP
    name = "schema/timestamp-without-offset"
    level = Level.ERROR
