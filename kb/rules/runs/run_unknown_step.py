from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunUnknownStep(Rule):
    """A run log's event names a step the card does not have.

    Why: every step event is evidence about one step of the card (a `steps` or `rollback`
    entry); a step id the card does not have means the card changed under the log, or the
    event was written by hand, and the run's progress cannot be judged.

    Bad:

    ```yaml
    # cards/queue-stuck.yaml has the step 'resume', not 'restart'
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "restart", "evidence": "depth falls", "prev": null}
    ```

    Good:

    ```yaml
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "resume", "evidence": "depth falls", "prev": null}
    ```
    """  # noqa: E501

    code = "KB805"
    name = "run/unknown-step"
    level = Level.ERROR

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        for log in ctx.kb.runs:
            for line in log.lines:
                event = line.event
                if event is None or event.step is None:
                    continue
                doc = cards.get(event.card)
                if doc is None or doc.model is None:
                    continue
                known = [step.id for _, _, step in doc.model.all_steps()]
                if event.step not in known:
                    yield log.finding(
                        line, f"card '{event.card}' has no step '{event.step}' (it has: {', '.join(known)})", "step"
                    )
