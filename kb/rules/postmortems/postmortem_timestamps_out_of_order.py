from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

ORDER = ("started_at", "detected_at", "mitigated_at", "resolved_at")


class TimestampsOutOfOrder(DocumentRule):
    """The incident's timestamps go backwards: started <= detected <= mitigated <= resolved.

    Why: time to detect and time to mitigate are the numbers a postmortem is judged by.
    Out-of-order timestamps (usually a timezone slip) make them negative or absurd.

    Bad:

    ```yaml
    started_at: 2026-11-03T02:52:00+01:00
    detected_at: 2026-11-03T01:14:00+00:00
    ```

    Good:

    ```yaml
    started_at: 2026-11-03T01:52:00+00:00
    detected_at: 2026-11-03T02:14:00+00:00
    ```
    """

    code = "KB401"
    name = "postmortem/timestamps-out-of-order"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        previous = None
        for field in ORDER:
            value = getattr(doc.model, field)
            if value is None:
                continue
            if previous is not None and value < previous[1]:
                yield Finding(
                    doc.path,
                    f"{field} ({value.isoformat()}) is before {previous[0]} ({previous[1].isoformat()})",
                    loc=(field,),
                )
            else:
                previous = (field, value)
