from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class SchemaUnknownField(LoadRule):
    """A field the format does not define, usually a typo; the message suggests the name.

    Why: a misspelt `done_wen` would be dropped silently and the step would have no done
    criterion at 02:17. Unknown fields are errors, with a "did you mean" suggestion.

    Bad:

    ```yaml
    - id: rollback
      do: Roll the prompt back
      done_wen: The previous version serves 100%
    ```

    Good:

    ```yaml
    - id: rollback
      do: Roll the prompt back
      done_when: The previous version serves 100%
    ```
    """

    code = "KB111"
    reports = LoadProblem.UNKNOWN_FIELD
    name = "schema/unknown-field"
    level = Level.ERROR
