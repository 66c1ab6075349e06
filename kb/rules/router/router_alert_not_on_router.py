from kb.core.diagnostics import Finding, Level, Span
from kb.rules.base import Rule


class AlertNotOnRouter(Rule):
    """An alert a card lists in `triggers.alerts` is not on the router line that routes to it.

    Why: the engineer paged by `AgentSpendRateHigh` searches the router for that name. If
    the line routing to the card does not carry it, the search finds nothing, or finds a
    different card. Put every alert of the card on its routing line.

    Bad:

    ```yaml
    # cards/token-spend-runaway.yaml
    triggers:
      alerts: [AgentSpendRateHigh, AgentBudgetCapReached]
    # router.md: - Spend running away → [token-spend-runaway](cards/token-spend-runaway.yaml)
    ```

    Good:

    ```yaml
    triggers:
      alerts: [AgentSpendRateHigh, AgentBudgetCapReached]
    # router.md: - `AgentSpendRateHigh` or `AgentBudgetCapReached` → [token-spend-runaway](...)
    ```
    """

    code = "KB505"
    name = "router/alert-not-on-router"
    level = Level.ERROR

    def check(self, ctx, options):
        routes = ctx.router().routes_by_card()
        for doc in ctx.cards:
            card = doc.model
            if card is None or card.id not in routes:
                continue
            line, link = routes[card.id][0]
            missing = [a for a in card.triggers.alerts if a not in line.text]
            if missing:
                yield Finding(
                    line.page,
                    f"the line routing to {card.id} does not name its alert"
                    f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}: a paged engineer searches "
                    "the router for the alert name",
                    span=Span(line.line, 1, line.line, 2),
                )
