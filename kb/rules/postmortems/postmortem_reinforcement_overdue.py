from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class ReinforcementOverdue(DocumentRule):
    """An open reinforcement is past its due date.

    Why: action items go stale where nobody looks. kb reports each open reinforcement past
    its due date, naming the owner and the days overdue; `kb followups --fail-overdue` does
    the same for a scheduled CI job.

    Bad:

    ```yaml
    - id: R2
      kind: eval
      owner: ai-platform
      due: 2026-01-15
      status: open
    ```

    Good:

    ```yaml
    - id: R2
      kind: eval
      owner: ai-platform
      due: 2026-01-15
      status: done
    ```
    """

    code = "KB407"
    name = "postmortem/reinforcement-overdue"
    level = Level.WARNING
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        today = ctx.config.today()
        for index, item in enumerate(doc.model.reinforcements):
            if item.status != "open" or item.due is None or item.due >= today:
                continue
            days = (today - item.due).days
            yield Finding(
                doc.path,
                f"reinforcement {item.id} ({item.kind}) owned by {item.owner or 'nobody'} is "
                f"{days} day{'s' if days != 1 else ''} overdue (due {item.due.isoformat()})",
                loc=("reinforcements", index, "due"),
            )
