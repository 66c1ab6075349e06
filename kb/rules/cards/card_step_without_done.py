from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class StepWithoutDone(DocumentRule):
    """A step (or rollback step) has no `done_when`.

    Why: at 02:17 nobody can tell whether a step worked unless the card says what done
    looks like. Without it people repeat steps, skip ahead too early, or stop at the first
    command that exits 0.

    Bad:

    ```yaml
    - id: rollback
      do: Roll the prompt back to the previous version
      run: deployctl rollback prompt-service --to previous
    ```

    Good:

    ```yaml
    - id: rollback
      do: Roll the prompt back to the previous version
      run: deployctl rollback prompt-service --to previous
      done_when: deployctl status prompt-service shows the previous version serving 100%
    ```
    """

    code = "KB201"
    name = "card/step-without-done"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        for field, index, step in doc.model.all_steps():
            if not (step.done_when or "").strip():
                yield Finding(
                    doc.path,
                    f"step '{step.id}' has no done_when: say what done looks like",
                    loc=(field, index, "done_when"),
                )
