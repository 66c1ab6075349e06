from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

FIVE = ("trigger", "guardrail_missed", "observability_gap", "rollback_speed", "prevention")


def _blank(value) -> bool:
    return value is None or (
        isinstance(value, str) and (not value.strip() or value.lstrip().upper().startswith("TODO"))
    )


class ReviewNeedsNarrative(DocumentRule):
    """A postmortem in `review` or `complete` lacks part of its narrative.

    Why: reviewers judge the mechanism, not a skeleton. Before `status: review` the
    postmortem says what happened and why: summary, detection and mitigation times, the
    timeline, the trigger, root causes, and all five questions answered (not TODO).

    Bad:

    ```yaml
    status: review
    trigger: "TODO: what set it off"
    five_questions: {trigger: A config push}
    ```

    Good:

    ```yaml
    status: review
    trigger: A config push paused every consumer
    five_questions:
      trigger: A config push paused every consumer at once
      guardrail_missed: The recovery script had no precondition on consumer state
      observability_gap: No alert on paused consumers with work queued
      rollback_speed: Slow; nobody human was looking for 17 minutes
      prevention: An alert, a gate and an eval (reinforcements R1-R3)
    ```
    """

    code = "KB404"
    name = "postmortem/review-needs-narrative"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        if pm is None or pm.status == "draft":
            return
        for field in ("summary", "trigger", "detected_at", "mitigated_at"):
            if _blank(getattr(pm, field)):
                yield Finding(doc.path, f"status {pm.status} needs {field}", loc=(field,))
        if not pm.timeline:
            yield Finding(doc.path, f"status {pm.status} needs a timeline", loc=("timeline",))
        if not pm.root_causes:
            yield Finding(doc.path, f"status {pm.status} needs at least one root cause", loc=("root_causes",))
        for index, cause in enumerate(pm.root_causes):
            if _blank(cause.description):
                yield Finding(
                    doc.path, "a root cause is still a placeholder", loc=("root_causes", index, "description")
                )
        answers = pm.five_questions
        missing = [q for q in FIVE if answers is None or _blank(getattr(answers, q))]
        if missing:
            yield Finding(
                doc.path,
                f"status {pm.status} needs all five questions answered; missing: " + ", ".join(missing),
                loc=("five_questions",) if answers is not None else ("status",),
                at="key",
            )
