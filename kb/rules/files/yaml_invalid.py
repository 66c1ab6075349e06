from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class YamlInvalid(LoadRule):
    """The file is not readable YAML data.

    Why: a file kb cannot read is a runbook nobody can render or check. This covers YAML
    syntax errors, tabs in indentation, bytes that are not UTF-8, binary content, an empty
    file, a list or a single value where a mapping of fields belongs, duplicate keys (YAML
    keeps the last one silently, so half a step can vanish), more than one document, tags
    that would build objects (`!!python/object`), alias bombs and absurd nesting.

    Bad:

    ```yaml
    id: queue-stuck
    steps:
        - id: restart   # a tab
    ```

    Good:

    ```yaml
    id: queue-stuck
    steps:
      - id: restart
    ```
    """

    code = "KB100"
    reports = LoadProblem.YAML
    name = "yaml/invalid"
    level = Level.ERROR
