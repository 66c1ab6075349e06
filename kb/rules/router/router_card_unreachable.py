from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class CardUnreachable(Rule):
    """A card is not reachable from the router, directly or through a sub-router.

    Why: nobody reads the library front to back; the router is the only way in. A card
    the router does not link will not be found when its situation happens.

    Bad:

    ```yaml
    # cards/queue-stuck.yaml exists, router.md never links it
    id: queue-stuck
    ```

    Good:

    ```yaml
    # router.md: - Jobs pending > 15 min → [queue-stuck](cards/queue-stuck.yaml)
    id: queue-stuck
    ```
    """

    code = "KB503"
    name = "router/card-unreachable"
    level = Level.ERROR

    def check(self, ctx, options):
        router = ctx.router()
        if router.missing:
            return
        routed = router.routes_by_card()
        for doc in ctx.cards:
            card_id = doc.model.id if doc.model else None
            if card_id and card_id not in routed:
                yield Finding(
                    doc.path,
                    f"card {card_id} is not reachable from {ctx.settings.router}: add one line "
                    f"that routes its situation to it",
                    loc=("id",),
                )
