from kb.analysis.runs import approval_problem, run_state, runners
from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunApprovalNotAllowed(Rule):
    """An approval in a run log was given or recorded by someone who may not.

    Why: an irreversible step waits for an approval so that a second person looks before it
    runs. The `approver` must be someone oncall.yaml says can give that approval (KB309's
    rule: `approves:` on a group of a human reachable from the card's rotation; for
    `second-person`, any such human), and not the person running the run or the step, nor
    the actor who records the event (FORMAT.md). An agent (a person with `kind: agent`)
    cannot record an approval at all.

    Bad:

    ```yaml
    # alice started the run; she cannot approve her own irreversible step
    {"seq": 3, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "approved", "step": "drain", "approver": "alice", "prev": null}
    ```

    Good:

    ```yaml
    # carol is in a group with approves: [incident-commander], and is not running it
    {"seq": 3, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "approved", "step": "drain", "approver": "carol", "prev": null}
    ```
    """  # noqa: E501

    code = "KB808"
    name = "run/approval-not-allowed"
    level = Level.ERROR

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        access = ctx.access()
        for log in ctx.kb.runs:
            events = log.events
            doc = cards.get(events[0].card) if events else None
            if doc is None or doc.model is None:
                continue
            state = run_state(log, doc.model)
            for line in log.lines:
                event = line.event
                if event is None or event.event != "approved" or event.step not in state.steps:
                    continue
                step = state.steps[event.step].step
                problem = approval_problem(
                    access, doc.model, step, event.actor, event.approver or "", runners(state, event.step)
                )
                if problem is not None:
                    yield log.finding(line, problem, "approver")
