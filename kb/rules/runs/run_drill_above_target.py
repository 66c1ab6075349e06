from kb.analysis.runs import measure, run_state
from kb.core.diagnostics import Level
from kb.rules.base import Rule


class DrillAboveTarget(Rule):
    """A completed drill was slower than the drill targets, or did not show a time at all.

    Why: a drill exists to prove the card can be executed within the targets
    (`drill_targets` in mkdocs.yml: switchback, core recovery, first update; 5 / 15 / 30
    minutes by default), timed from the log's own timestamps. A drill that misses a target
    or never reached a milestone (no switch step done, no `note` with `update: true`) is
    the finding the drill was run to surface.

    Bad:

    ```yaml
    # the card's switch step was done 41 minutes after the start; the target is 5
    {"seq": 9, "at": "2026-11-22T03:10:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "end", "outcome": "mitigated", "prev": null}
    ```

    Good:

    ```yaml
    # switch step done at +4 min, every step settled at +12, update posted at +9
    {"seq": 9, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "end", "outcome": "mitigated", "prev": null}
    ```
    """  # noqa: E501

    code = "KB812"
    name = "run/drill-above-target"
    level = Level.INFO

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        for log in ctx.kb.runs:
            events = log.events
            doc = cards.get(events[0].card) if events else None
            if doc is None or doc.model is None:
                continue
            state = run_state(log, doc.model)
            if not (state.drill and state.completed and state.end is not None):
                continue
            result = measure(state, ctx.settings.drill_targets)
            if result is None:
                continue
            end = log.line_of(state.end)
            for m in result.measures:
                if m.minutes is None:
                    yield log.finding(end, f"drill: {m.name} not shown by the log (target {m.target:g})", "outcome")
                elif not m.beats:
                    yield log.finding(
                        end, f"drill: {m.name} {m.minutes:g} is above the target of {m.target:g}", "outcome"
                    )
