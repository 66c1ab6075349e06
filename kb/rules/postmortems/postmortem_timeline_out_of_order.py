import datetime as dt

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
        # the latest timestamp and the latest date-only entry so far, kept apart: a date-only
        # entry between two timestamps of its day must not hide that the second is earlier
        # than the first, and two timestamps are compared as instants, never by their days
        moment: dt.datetime | None = None
        date: dt.date | None = None
        for index, entry in enumerate(doc.model.timeline):
            at = entry.at
            earlier = None
            if moment is not None and certainly_before(at, moment):
                earlier = moment
            elif date is not None and certainly_before(at, date):
                earlier = date
            if earlier is not None:
                yield Finding(
                    doc.path,
                    f"timeline entry {index + 1} ({at.isoformat()}) is earlier than an entry before it "
                    f"({earlier.isoformat()})",
                    loc=("timeline", index, "at"),
                )
            elif isinstance(at, dt.datetime):
                moment = at if moment is None or at > moment else moment
            else:
                date = at if date is None or at > date else date
