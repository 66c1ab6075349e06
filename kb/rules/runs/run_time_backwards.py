from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunTimeBackwards(Rule):
    """A run log's event is earlier than the event before it.

    Why: drills are timed and postmortem timelines are built from these timestamps; a time
    that goes backwards (a clock stepped back, a line written by hand) makes every duration
    after it wrong. Times may be equal, never decreasing.

    Bad:

    ```yaml
    # line 1 is at 02:19:40+01:00
    {"seq": 2, "at": "2026-11-22T02:10:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "paused", "prev": null}
    ```

    Good:

    ```yaml
    {"seq": 2, "at": "2026-11-22T02:21:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "paused", "prev": null}
    ```
    """  # noqa: E501

    code = "KB806"
    name = "run/time-backwards"
    level = Level.ERROR

    def check(self, ctx, options):
        for log in ctx.kb.runs:
            latest = None
            for line in log.lines:
                event = line.event
                if event is None:
                    continue
                if latest is not None and event.at < latest:
                    yield log.finding(
                        line, f"at {event.at.isoformat()} is before the previous event ({latest.isoformat()})", "at"
                    )
                else:
                    latest = event.at
