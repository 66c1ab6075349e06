from kb.core.diagnostics import Finding, Level
from kb.model.common import certainly_before
from kb.rules.base import DocumentRule


class TimelineOutOfOrder(DocumentRule):
    """A timeline entry is earlier than the entry before it.

    Why: the timeline is read top to bottom to reconstruct what the agent and the people
    knew at each moment. An entry out of order tells a different story from what happened.
    An entry dated only by its day (`at: 2025-08-05`) is ordered by day.

    Bad:

    ```yaml
    timeline:
      - {at: 2026-11-03T02:20:00+00:00, actor: agent, event: Ran dlq-recover.sh}
      - {at: 2026-11-03T02:14:00+00:00, actor: system, event: PublishQueueStalled fired}
    ```

    Good:

    ```yaml
    timeline:
      - {at: 2026-11-03T02:14:00+00:00, actor: system, event: PublishQueueStalled fired}
      - {at: 2026-11-03T02:20:00+00:00, actor: agent, event: Ran dlq-recover.sh}
    ```
    """

    code = "KB402"
    name = "postmortem/timeline-out-of-order"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        latest = None
        for index, entry in enumerate(doc.model.timeline):
            if latest is not None and certainly_before(entry.at, latest):
                yield Finding(
                    doc.path,
                    f"timeline entry {index + 1} ({entry.at.isoformat()}) is earlier than "
                    f"the one before it ({latest.isoformat()})",
                    loc=("timeline", index, "at"),
                )
            else:
                latest = entry.at
