from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class UnknownCard(Rule):
    """A postmortem (or an alert it defines) names a card that does not exist.

    Why: a postmortem lists the cards used during the incident, and an alert's
    `runbook_url` is built from its card. A dead card id becomes a dead link in the page
    someone opens at 02:17.

    Bad:

    ```yaml
    cards: [queue-stuk]
    ```

    Good:

    ```yaml
    cards: [queue-stuck]   # cards/queue-stuck.yaml exists
    ```
    """

    code = "KB132"
    name = "ref/unknown-card"
    level = Level.ERROR

    def check(self, ctx, options):
        known = ctx.card_by_id()
        for doc in ctx.postmortems:
            if doc.model is None:
                continue
            for index, card_id in enumerate(doc.model.cards):
                if card_id not in known:
                    yield Finding(doc.path, f"card '{card_id}' does not exist", loc=("cards", index))
            for index, item in enumerate(doc.model.reinforcements):
                if item.alert is not None and item.alert.card not in known:
                    yield Finding(
                        doc.path,
                        f"alert {item.alert.name} pages to card '{item.alert.card}', which does not exist",
                        loc=("reinforcements", index, "alert", "card"),
                    )
                if item.card is not None and item.card.id not in known:
                    yield Finding(
                        doc.path, f"card '{item.card.id}' does not exist", loc=("reinforcements", index, "card", "id")
                    )
