from kb.core.diagnostics import Level
from kb.rules.base import Rule


class WorklistWithoutItems(Rule):
    """A worklist step is marked done with no item recorded.

    Why: a step with a `worklist` covers every item the worklist query returns ("every
    tenant", "each double-dispatched job"). The log records each item and its verdict
    (`item` events), so that "done" can be checked item by item afterwards; a done with no
    item says nothing about which items were covered.

    Bad:

    ```yaml
    # step 'park' has worklist: "queuectl list --stuck"; no item lines before this one
    {"seq": 2, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "park", "evidence": "all parked", "prev": null}
    ```

    Good:

    ```yaml
    # line 1 is {"event": "item", "step": "park", "item": "job-17", "verdict": "parked", ...}
    {"seq": 2, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "park", "evidence": "all parked", "prev": null}
    ```
    """  # noqa: E501

    code = "KB813"
    name = "run/worklist-without-items"
    level = Level.WARNING

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        for log in ctx.kb.runs:
            items: set[str] = set()
            for line in log.lines:
                event = line.event
                if event is None or event.step is None:
                    continue
                if event.event == "item":
                    items.add(event.step)
                    continue
                doc = cards.get(event.card)
                if event.event != "done" or doc is None or doc.model is None:
                    continue
                step = next((s for _, _, s in doc.model.all_steps() if s.id == event.step), None)
                if step is not None and step.worklist and event.step not in items:
                    yield log.finding(
                        line, f"step '{event.step}' has a worklist, but no item was recorded before it was done", "step"
                    )
