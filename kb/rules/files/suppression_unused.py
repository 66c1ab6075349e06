from kb.core.diagnostics import Level
from kb.rules.base import Rule


class UnusedSuppression(Rule):
    """An inline `# kb: ignore[CODE]` comment suppresses nothing.

    Why: a suppression outlives the problem it hid; left in place it will silently hide
    the next, real problem on that line. kb reports a suppression whose code did not fire
    on its line so it gets removed.

    Bad:

    ```yaml
    - id: rollback
      do: Roll back  # kb: ignore[KB201]
      done_when: The previous version serves 100%
    ```

    Good:

    ```yaml
    - id: rollback
      do: Roll back
      done_when: The previous version serves 100%
    ```
    """

    code = "KB190"
    name = "suppression/unused"
    level = Level.WARNING

    def check(self, ctx, options):
        return ()  # the check engine reports these once it knows what every other rule found
