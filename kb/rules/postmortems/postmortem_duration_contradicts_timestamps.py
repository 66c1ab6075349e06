from kb.core.diagnostics import Finding, Level
from kb.model.common import is_date_only
from kb.rules.base import DocumentRule


class DurationContradictsTimestamps(DocumentRule):
    """`impact.duration_minutes` disagrees with started_at to mitigated_at, or cannot be checked.

    Why: the stated duration and the timestamps are both read as the length of the
    incident; when they disagree (a typo, a timezone slip), one of them is wrong. kb
    computes started_at to mitigated_at (or resolved_at) and warns when the stated minutes
    differ by more than 10% (at least 5 minutes). Where either end is known only to the
    day (`2025-08-05`), no duration can be computed: kb says so (info) instead of guessing
    a time of day.

    Bad:

    ```yaml
    started_at: 2026-11-03T01:52:00+00:00
    mitigated_at: 2026-11-03T02:55:00+00:00
    impact: {duration_minutes: 163}
    ```

    Good:

    ```yaml
    started_at: 2026-11-03T01:52:00+00:00
    mitigated_at: 2026-11-03T02:55:00+00:00
    impact: {duration_minutes: 63}
    ```
    """

    code = "KB410"
    name = "postmortem/duration-contradicts-timestamps"
    level = Level.WARNING
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        stated = pm.impact.duration_minutes if pm.impact else None
        if stated is None:
            return
        end_field = "mitigated_at" if pm.mitigated_at is not None else "resolved_at"
        end = getattr(pm, end_field)
        if end is None:
            return
        loc = ("impact", "duration_minutes")
        vague = [f for f, v in (("started_at", pm.started_at), (end_field, end)) if is_date_only(v)]
        if vague:
            yield Finding(
                doc.path,
                f"cannot check duration_minutes {stated:g} against the timestamps: "
                + " and ".join(f"{f} is known only to the day" for f in vague),
                loc=loc,
                level=Level.INFO,
            )
            return
        computed = (end - pm.started_at).total_seconds() / 60
        if abs(computed - stated) > max(5.0, 0.1 * computed):
            yield Finding(
                doc.path,
                f"duration_minutes {stated:g} disagrees with started_at to {end_field}: {computed:g} minutes",
                loc=loc,
            )
