from kb.core.diagnostics import Finding, Level, Span
from kb.rules.base import DocumentRule


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


class TodoPlaceholder(DocumentRule):
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
    documents = ("cards", "postmortems")
    needs_model = False  # a file that fails the schema can still hold a TODO

    def check(self, ctx, options):
        for page in ctx.router().pages:
            for line in page.lines:
                if "TODO" in line.text:
                    column = line.text.index("TODO") + 1 + (len(line.text) - len(line.text.lstrip()))
                    yield Finding(
                        page.path,
                        "this routing line is still a TODO placeholder: describe the situation",
                        span=Span(line.line, column, line.line, column + 4),
                    )

    def check_document(self, ctx, doc, options):
        if doc.data is None or not doc.has_todo:
            return
        for loc in _todos(doc.data):
            field = ".".join(str(p) for p in loc)
            yield Finding(doc.path, f"{field} is still a TODO placeholder", loc=loc)
