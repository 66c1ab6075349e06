from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

INFERENCE_LEVEL = ("eval", "gate")


class InferenceNeedsInferenceLevelFix(DocumentRule):
    """The model's inference was involved, but no reinforcement works at the inference level.

    Why: when the agent's plan was wrong, rewording a runbook does not stop the next wrong
    plan. At least one reinforcement must act on the inference: an `eval` that catches the
    wrong conclusion, a `gate` on the agent's actions, or a card change that narrows the
    agent's authority (`card: {narrows_authority: true}`). A reinforcement declined as
    `wont_do` fixes nothing, so it does not count. Checked from `review` on.

    Bad:

    ```yaml
    status: review
    model_inference: {involved: true, failure_mode: plan_error}
    reinforcements:
      - {id: R1, kind: card, card: {id: queue-stuck, change: Clarify step 2}}
    ```

    Good:

    ```yaml
    status: review
    model_inference: {involved: true, failure_mode: plan_error}
    reinforcements:
      - id: R1
        kind: eval
        eval: {input: "Consumers paused by a config push", expected: "Restart consumers"}
    ```
    """

    code = "KB406"
    name = "postmortem/inference-needs-inference-fix"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        if pm is None or pm.status == "draft" or pm.model_inference is None or not pm.model_inference.involved:
            return
        if any(
            r.status != "wont_do" and (r.kind in INFERENCE_LEVEL or (r.card is not None and r.card.narrows_authority))
            for r in pm.reinforcements
        ):
            return
        yield Finding(
            doc.path,
            "model_inference.involved is true but no reinforcement works at the inference level: "
            "add an eval, a gate on the agent's actions, or a card change with narrows_authority: true",
            loc=("model_inference", "involved"),
        )
