from kb.analysis.runs import needs_approval
from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunIrreversibleWithoutApproval(Rule):
    """A run log marks an irreversible step done with no approval recorded before it.

    Why: the card says the step cannot be undone and names who approves it (`approval:
    second-person` or `incident-commander`). `kb run` refuses to mark such a step done until
    an `approved` event is in the log; a log that shows it done without one shows the
    approval was skipped. Whether the approver was allowed is KB808's finding.

    Bad:

    ```yaml
    # step 'drain' is irreversible: true, approval: incident-commander; no approved line before
    {"seq": 2, "at": "2026-11-22T02:30:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "drain", "evidence": "dlq empty", "prev": null}
    ```

    Good:

    ```yaml
    # line 2 is {"event": "approved", "step": "drain", "approver": "carol", ...}
    {"seq": 3, "at": "2026-11-22T02:31:00+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "drain", "evidence": "dlq empty", "prev": null}
    ```
    """  # noqa: E501

    code = "KB809"
    name = "run/irreversible-without-approval"
    level = Level.ERROR

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        for log in ctx.kb.runs:
            approved: set[str] = set()
            for line in log.lines:
                event = line.event
                if event is None or event.step is None:
                    continue
                if event.event == "approved":
                    approved.add(event.step)
                    continue
                doc = cards.get(event.card)
                step = None
                if doc is not None and doc.model is not None:
                    step = next((s for _, _, s in doc.model.all_steps() if s.id == event.step), None)
                if event.event == "done" and step is not None and needs_approval(step) and event.step not in approved:
                    yield log.finding(
                        line,
                        f"step '{event.step}' is irreversible and needs {step.approval} approval, "
                        "but no approved event comes before it",
                        "step",
                    )
