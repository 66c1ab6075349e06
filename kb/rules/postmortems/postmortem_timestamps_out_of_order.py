from kb.core.diagnostics import Finding, Level
from kb.model.common import certainly_before
from kb.rules.base import DocumentRule

ORDER = ("started_at", "detected_at", "mitigated_at", "resolved_at")
CAUSE_ORDER = ("started_at", "detected_at", "fixed_at")


def out_of_order(values):
    """(field, value, earlier field, its value) for each value certainly before one that came
    before it. Each value is compared with every accepted earlier one, so a date-only value
    on the same day (which cannot be ordered) does not hide two timestamps out of order."""
    accepted: list = []
    for field, value in values:
        if value is None:
            continue
        later = [(f, v) for f, v in accepted if certainly_before(value, v)]
        if later:
            yield field, value, later[-1][0], later[-1][1]
        else:
            accepted.append((field, value))


class TimestampsOutOfOrder(DocumentRule):
    """The incident's timestamps go backwards: started <= detected <= mitigated <= resolved.

    Why: time to detect and time to mitigate are the numbers a postmortem is judged by.
    Out-of-order timestamps (usually a timezone slip) make them negative or absurd. A root
    cause's own times are checked too: started <= detected <= fixed. A date (`2025-08-05`,
    the day known, the time not) is compared by day: on the same day as a timestamp it
    cannot be ordered and passes.

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
        pm = doc.model
        for field, value, before, earlier in out_of_order((f, getattr(pm, f)) for f in ORDER):
            yield Finding(
                doc.path, f"{field} ({value.isoformat()}) is before {before} ({earlier.isoformat()})", loc=(field,)
            )
        for index, cause in enumerate(pm.root_causes):
            name = cause.id or f"root cause {index + 1}"
            for field, value, before, earlier in out_of_order((f, getattr(cause, f)) for f in CAUSE_ORDER):
                yield Finding(
                    doc.path,
                    f"{name}: {field} ({value.isoformat()}) is before {before} ({earlier.isoformat()})",
                    loc=("root_causes", index, field),
                )
