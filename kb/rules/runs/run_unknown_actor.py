from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunUnknownActor(Rule):
    """A run log's actor is not a person in oncall.yaml.

    Why: who did what is the point of the log: the postmortem marks each timeline row human
    or agent from the person's `kind`, and approvals are judged by the person's groups. A
    name oncall.yaml does not know can be neither.

    Bad:

    ```yaml
    # oncall.yaml has no person 'al'
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "al", "event": "start", "drill": false, "prev": null}
    ```

    Good:

    ```yaml
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "start", "drill": false, "prev": null}
    ```
    """  # noqa: E501

    code = "KB807"
    name = "run/unknown-actor"
    level = Level.ERROR

    def check(self, ctx, options):
        oncall = ctx.oncall.model if ctx.oncall is not None else None
        if oncall is None:
            return  # no oncall.yaml to judge against: its own findings say why
        for log in ctx.kb.runs:
            for line in log.lines:
                if line.event is not None and line.event.actor not in oncall.people:
                    yield log.finding(line, f"actor '{line.event.actor}' is not a person in oncall.yaml", "actor")
