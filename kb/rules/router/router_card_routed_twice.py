from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class CardRoutedTwice(Rule):
    """A card appears on more than one routing line.

    Why: each card appears on the router once, with its situation and its alerts on that
    one line. Two lines for one card drift apart (one gets the new alert, the other does
    not) and the router grows past what fits on a phone.

    Bad:

    ```yaml
    # router.md:
    # - Queue stuck → [queue-stuck](cards/queue-stuck.yaml)
    # - `PublishQueueStalled` → [queue-stuck](cards/queue-stuck.yaml)
    ```

    Good:

    ```yaml
    # router.md:
    # - `PublishQueueStalled`, or jobs pending > 15 min → [queue-stuck](cards/queue-stuck.yaml)
    ```
    """

    code = "KB504"
    name = "router/card-routed-twice"
    level = Level.ERROR

    def check(self, ctx, options):
        for card_id, routes in ctx.router().routes_by_card().items():
            first = routes[0][0]
            for line, link in routes[1:]:
                yield Finding(
                    line.page,
                    f"card {card_id} is already routed on {first.page}:{first.line}: route each card once",
                    span=link.span,
                )
