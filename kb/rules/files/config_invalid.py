from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class ConfigInvalid(LoadRule):
    """An option of the `kb` plugin in mkdocs.yml is unknown or has a wrong value.

    Why: kb's settings (router budget, rule levels, paths) live in mkdocs.yml so that the
    site and `kb check` read one configuration. A misspelt option would otherwise be
    ignored and a rule would run with a setting nobody chose.

    Bad:

    ```yaml
    plugins:
      - kb:
          router_budjet: 30
    ```

    Good:

    ```yaml
    plugins:
      - kb:
          router_budget: 30
    ```
    """

    code = "KB101"
    reports = LoadProblem.CONFIG
    name = "config/invalid"
    level = Level.ERROR
