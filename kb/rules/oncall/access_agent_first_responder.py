from kb.analysis.access import card_access
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class AgentFirstResponder(DocumentRule):
    """A step only a human can do is on a rotation whose first responder is an agent.

    Why: the first member of a rotation takes the page. An agent cannot give or seek
    approval on its own authority, and must not take irreversible actions: a step that
    needs approval or is irreversible stalls, or worse, runs unapproved. Put a human first,
    or move the step to a card on a human rotation.

    Bad:

    ```yaml
    rotation: agent-triage     # members: [triage-bot, alice, bob]
    steps:
      - id: purge
        do: Purge the queue
        irreversible: true
        approval: second-person
        done_when: The queue is empty
    ```

    Good:

    ```yaml
    rotation: agent-triage
    steps:
      - id: gather
        do: Post the queue's state in the incident channel
        done_when: Depth and consumer state are posted
    ```
    """

    code = "KB310"
    name = "access/agent-first-responder"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        result = card_access(access, doc.model)
        if result is None:
            return
        card, rotation = doc.model, result.rotation
        if rotation is None:
            return
        first = access.oncall.people.get(rotation.members[0])
        if first is None or first.kind != "agent":
            return
        for field, index, step in card.all_steps():
            if step.irreversible or step.approval not in (None, "none"):
                what = "is irreversible" if step.irreversible else f"needs {step.approval} approval"
                yield Finding(
                    doc.path,
                    f"step '{step.id}' {what}, but rotation {card.rotation}'s first responder "
                    f"{rotation.members[0]} is an agent",
                    loc=(field, index, "id"),
                )
