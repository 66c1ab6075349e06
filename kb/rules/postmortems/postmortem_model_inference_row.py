from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

# what must be filled when involved: each entry is (name shown, the fields any one of which fills it)
REQUIRED_WHEN_INVOLVED = (
    ("failure_mode", ("failure_mode", "failure_modes")),
    ("model", ("model", "models")),
    ("trace_id", ("trace_id", "trace_unavailable")),
    ("inferred", ("inferred",)),
    ("expected", ("expected",)),
)


class ModelInferenceRow(DocumentRule):
    """The `model_inference` row is missing, or neither filled nor ruled out with a reason.

    Why: a template made for deterministic systems has no row for "the agent inferred
    wrong", so that failure gets flattened into "the runbook was unclear" and recurs. Every
    postmortem says whether the model's inference took part: `involved: false` with
    `why_not`, or `involved: true` with at least failure_mode (or failure_modes), model (or
    models), trace_id, inferred and expected. Where no trace exists, `trace_unavailable:
    <why>` stands for trace_id: an invented id would send the next reader to a trace that
    is not there.

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
            missing = [
                name for name, fields in REQUIRED_WHEN_INVOLVED if not any(_filled(getattr(row, f)) for f in fields)
            ]
            if missing:
                yield Finding(
                    doc.path,
                    "model_inference.involved is true but these are empty: "
                    + ", ".join(missing)
                    + (" (no trace? say trace_unavailable: <why>)" if "trace_id" in missing else ""),
                    loc=("model_inference", "involved"),
                )


def _filled(value) -> bool:
    if value is None:
        return False
    if isinstance(value, list):
        return any(_filled(item) for item in value)
    if isinstance(value, str):
        return bool(value.strip())
    if hasattr(value, "model_dump"):
        return any(v not in (None, "") for v in value.model_dump().values())
    return True
