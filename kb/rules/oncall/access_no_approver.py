import datetime as dt

from kb.analysis.access import card_access
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class NoApprover(DocumentRule):
    """No human reachable from the card's rotation can give an irreversible step's approval.

    Why: `approval: incident-commander` means someone paged (the rotation, then its
    escalations) must be able to approve. Who can is declared on groups with
    `approves: [incident-commander]`; `second-person` needs two humans reachable. Without
    one, the step waits for someone who will never be paged. Reachable means at every hour
    the card's rotation is paged: approvers on a `coverage: business` rotation, or in a group
    with `hours: business`, leave a 24x7 rotation's nights without an approver.

    Bad:

    ```yaml
    # oncall.yaml: no group approves incident-commander
    rotation: sre-primary
    steps:
      - id: purge
        do: Purge the answer cache
        irreversible: true
        approval: incident-commander
        done_when: The cache generation is +1
    ```

    Good:

    ```yaml
    # oncall.yaml: groups: {incident-commanders: {approves: [incident-commander]}},
    # and a rotation of incident commanders on sre-primary's escalation chain
    rotation: sre-primary
    steps:
      - id: purge
        do: Purge the answer cache
        irreversible: true
        approval: incident-commander
        done_when: The cache generation is +1
    ```
    """

    code = "KB309"
    name = "access/no-approver"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        result = card_access(access, doc.model)
        if result is None:
            return
        card = doc.model
        if result.rotation is None:
            return
        for field, index, step in card.all_steps():
            if step.approval in (None, "none"):
                continue
            chain = " -> ".join(access.escalation_chain(card.rotation))
            approvers = access.approvers(card.rotation, step.approval)
            if approvers:
                paging = ctx.paging()
                gap = paging.approval_gap(card.rotation, step.approval) if paging is not None else None
                if gap is not None:
                    when = dt.datetime.fromtimestamp(gap, dt.UTC).strftime("%a %H:%M UTC")
                    yield Finding(
                        doc.path,
                        f"step '{step.id}' needs {step.approval} approval, but when {card.rotation} is paged "
                        f"outside business hours (e.g. {when}) no one reachable ({chain}) can give it: "
                        f"its approvers ({', '.join(approvers)}) are on call, or approve, only in business hours",
                        loc=(field, index, "approval"),
                    )
                continue
            how = (
                "two humans"
                if step.approval == "second-person"
                else f"a human in a group with approves: [{step.approval}]"
            )
            yield Finding(
                doc.path,
                f"step '{step.id}' needs {step.approval} approval, but no one reachable "
                f"({chain}) can give it: it needs {how}",
                loc=(field, index, "approval"),
            )
