from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

REQUIRED_WHEN_INVOLVED = ("failure_mode", "model", "trace_id", "inferred", "expected")


class ModelInferenceRow(DocumentRule):
    """The `model_inference` row is missing, or neither filled nor ruled out with a reason.

    Why: a template made for deterministic systems has no row for "the agent inferred
    wrong", so that failure gets flattened into "the runbook was unclear" and recurs. Every
    postmortem says whether the model's inference took part: `involved: false` with
    `why_not`, or `involved: true` with at least failure_mode, model, trace_id, inferred
    and expected.

    Bad:

    ```yaml
    model_inference:
      involved: false
    ```

    Good:

    ```yaml
    model_inference:
      involved: false
      why_not: No agent acted; the consumer crash was a library bug found by a human.
    ```
    """

    code = "KB403"
    name = "postmortem/model-inference-row"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        row = doc.model.model_inference
        if row is None:
            yield Finding(
                doc.path,
                "no model_inference row: fill it, or say involved: false and why_not",
                loc=("model_inference",),
            )
        elif not row.involved:
            if not (row.why_not or "").strip():
                yield Finding(
                    doc.path,
                    "model_inference.involved is false without why_not: say why the agent's inference played no part",
                    loc=("model_inference", "involved"),
                )
        else:
            missing = [f for f in REQUIRED_WHEN_INVOLVED if not _filled(getattr(row, f))]
            if missing:
                yield Finding(
                    doc.path,
                    "model_inference.involved is true but these are empty: " + ", ".join(missing),
                    loc=("model_inference", "involved"),
                )


def _filled(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if hasattr(value, "model_dump"):
        return any(v not in (None, "") for v in value.model_dump().values())
    return True
