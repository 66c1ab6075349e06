from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunUnknownCard(Rule):
    """A run log names a card that does not exist.

    Why: a run is the execution of one card; a log whose card was renamed or deleted can no
    longer be checked step by step, nor feed the card's page or its drill history.

    Bad:

    ```yaml
    # cards/queue-stalled.yaml does not exist
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stalled-1", "card": "queue-stalled", "actor": "alice", "event": "start", "drill": false, "prev": null}
    ```

    Good:

    ```yaml
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "start", "drill": false, "prev": null}
    ```
    """  # noqa: E501

    code = "KB803"
    name = "run/unknown-card"
    level = Level.ERROR

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        for log in ctx.kb.runs:
            first = next((line for line in log.lines if line.event is not None), None)
            if first is not None and first.event.card not in cards:
                yield log.finding(first, f"no card '{first.event.card}'", "card")
