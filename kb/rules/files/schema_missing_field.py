from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class SchemaMissingField(LoadRule):
    """A required field is absent.

    Why: a card without a `rotation` cannot be checked for executability, a step without
    `do` is not a step, a postmortem without `started_at` cannot be placed in time.

    Bad:

    ```yaml
    id: queue-stuck
    title: Publishing queue stuck
    steps: []
    ```

    Good:

    ```yaml
    id: queue-stuck
    title: Publishing queue stuck
    summary: Jobs pending for more than 15 minutes. Restart consumers first.
    owner: team-publishing
    rotation: sre-primary
    priority: P2
    steps:
      - id: restart
        do: Restart the publishing consumers
        done_when: Queue depth falls for five minutes in a row
    ```
    """

    code = "KB112"
    reports = LoadProblem.MISSING_FIELD
    name = "schema/missing-field"
    level = Level.ERROR
