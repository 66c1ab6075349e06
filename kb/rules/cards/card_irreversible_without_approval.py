from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class IrreversibleWithoutApproval(DocumentRule):
    """An `irreversible: true` step has no human `approval` (or says `approval: none`).

    Why: purging a cache, deleting data or refunding customers cannot be undone; an agent
    or a half-awake engineer must not do it alone. The card names who approves:
    `second-person` or `incident-commander`.

    Bad:

    ```yaml
    - id: purge-cache
      do: Purge the answer cache for affected tenants
      irreversible: true
    ```

    Good:

    ```yaml
    - id: purge-cache
      do: Purge the answer cache for affected tenants
      irreversible: true
      approval: incident-commander
    ```
    """

    code = "KB203"
    name = "card/irreversible-without-approval"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        for field, index, step in doc.model.all_steps():
            if step.irreversible and step.approval in (None, "none"):
                loc = (field, index, "approval") if step.approval else (field, index, "irreversible")
                yield Finding(
                    doc.path,
                    f"step '{step.id}' is irreversible and needs approval: second-person or incident-commander",
                    loc=loc,
                )
