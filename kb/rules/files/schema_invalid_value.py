from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class SchemaInvalidValue(LoadRule):
    """A field has a value of the wrong type or outside its allowed set.

    Why: the format is a contract (FORMAT.md). `priority: high` cannot map to the fixed P1
    action, `requires: deploy` is not a permission kb can check against the rotation, and
    an id with capitals or slashes breaks the card's URL.

    Bad:

    ```yaml
    priority: high
    steps:
      - id: Roll Back
        requires: deploy
    ```

    Good:

    ```yaml
    priority: P1
    steps:
      - id: roll-back
        requires: [deploy:rollback:prompt-service]
    ```
    """

    code = "KB110"
    reports = LoadProblem.INVALID_VALUE
    name = "schema/invalid-value"
    level = Level.ERROR
