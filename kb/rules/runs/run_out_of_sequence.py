from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunOutOfSequence(Rule):
    """A run log does not begin with `start`, starts twice, or goes on after its `end`.

    Why: a run is one walk through a card: one `start` (which says whether it is a drill),
    its events, and at most one `end` (mitigated, abandoned or escalated). Events after the
    end, or a second start, mean two runs were mixed into one file, and a drill's times or a
    postmortem's timeline would be measured from the wrong start.

    Bad:

    ```yaml
    # line 3 was the end (outcome: mitigated)
    {"seq": 4, "at": "2026-11-22T02:40:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "one more thing", "prev": null}
    ```

    Good:

    ```yaml
    # the note comes before the end
    {"seq": 3, "at": "2026-11-22T02:39:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "one more thing", "prev": null}
    ```
    """  # noqa: E501

    code = "KB810"
    name = "run/out-of-sequence"
    level = Level.ERROR

    def check(self, ctx, options):
        for log in ctx.kb.runs:
            ended = False
            for index, line in enumerate(log.lines):
                event = line.event
                if event is None:
                    continue
                if index == 0 and event.event != "start":
                    yield log.finding(line, f"a run log begins with a start event, not '{event.event}'", "event")
                elif index > 0 and event.event == "start":
                    yield log.finding(line, "a second start: one run per file", "event")
                elif ended:
                    yield log.finding(line, f"'{event.event}' after the run's end", "event")
                if event.event == "end":
                    ended = True
