from kb.diagnostics import Finding, Level, Span
from kb.rules import Rule, register


def _todos(value, loc=()):
    if isinstance(value, str):
        if value.lstrip().upper().startswith("TODO"):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _todos(item, loc + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _todos(item, loc + (index,))


@register
class TodoPlaceholder(Rule):
    """A value is still a `TODO` placeholder from `kb new`.

    Why: `kb new` writes files that already pass the schema so a postmortem can be filed
    at 3 a.m. in one command; the placeholders it leaves (in the file, and in the routing
    line `kb new card` adds to the router) are marked `TODO` and listed here as warnings,
    so nobody mistakes a skeleton for a finished document.

    Bad:

    ```yaml
    trigger: "TODO: what set it off (not the root cause)"
    ```

    Good:

    ```yaml
    trigger: A config push paused every consumer
    ```
    """

    code = "KB150"
    name = "file/todo-placeholder"
    level = Level.WARNING
    scope = "document"

    def check(self, kb, options):
        for page in kb.router().pages:
            for line in page.lines:
                if "TODO" in line.text:
                    column = line.text.index("TODO") + 1 + (len(line.text) - len(line.text.lstrip()))
                    yield Finding(page.path, "this routing line is still a TODO placeholder: describe the situation",
                                  span=Span(line.line, column, line.line, column + 4))
        for doc in [*kb.cards, *kb.postmortems]:
            if doc.data is None or not doc.has_todo:
                continue
            for loc in _todos(doc.data):
                field = ".".join(str(p) for p in loc)
                yield Finding(doc.path, f"{field} is still a TODO placeholder", loc=loc)
