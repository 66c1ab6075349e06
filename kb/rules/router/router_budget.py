from kb.core.diagnostics import Finding, Level, Span
from kb.rules.base import Rule


class RouterBudget(Rule):
    """The router is missing, or a router page is longer than its line budget.

    Why: the router is read at 02:17 on a phone: find your situation, open one card. A
    router nobody can scan in a few seconds is a library, and libraries do not get read.
    The budget (`router_budget`, default 40 non-blank lines) applies to the router and to
    each sub-router page it links: split a long router by area into sub-routers.

    Bad:

    ```yaml
    # router.md: 120 routing lines in one page
    router_budget: 40
    ```

    Good:

    ```yaml
    # router.md: 12 lines, linking sub-routers routes/dispatch.md and routes/llm.md,
    # each within 40 lines
    router_budget: 40
    ```
    """

    code = "KB501"
    name = "router/budget"
    level = Level.ERROR

    def check(self, ctx, options):
        router = ctx.router()
        budget = ctx.settings.router_budget
        if router.missing:
            yield Finding(
                "mkdocs.yml",
                f"there is no router page {ctx.settings.router}: write one line per situation, each linking one card",
                span=Span(1, 1, 1, 2),
            )
            return
        for page in router.pages:
            if page.nonblank > budget:
                yield Finding(
                    page.path,
                    f"{page.path} has {page.nonblank} non-blank lines, over the budget of {budget}: "
                    "move a group of lines into a sub-router page",
                    span=Span(budget + 1, 1, budget + 1, 2),
                )
