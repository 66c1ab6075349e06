from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class RouterLineLinks(Rule):
    """A routing line links more than one card, or a link on a router page does not resolve.

    Why: "read one line, open exactly one card": a line offering two cards makes a tired
    person choose, and a dead link is a dead end at the worst moment. Links are relative
    to the router page and must stay inside the knowledge base.

    Bad:

    ```yaml
    # router.md
    - Queue stuck → [queue-stuck](cards/queue-stuck.yaml) or [dlq](cards/dlq-recover.yaml)
    - Spend runaway → [token-spend](cards/token-spend.yaml)
    ```

    Good:

    ```yaml
    # router.md
    - Queue stuck, consumers paused → [queue-stuck](cards/queue-stuck.yaml)
    - Dead letters piling up, consumers running → [dlq-recover](cards/dlq-recover.yaml)
    ```
    """

    code = "KB502"
    name = "router/line-links"
    level = Level.ERROR

    def check(self, ctx, options):
        card_files = {doc.path for doc in ctx.cards}
        for page in ctx.router().pages:
            for line in page.lines:
                for link in line.links:
                    if (
                        link.kind == "card"
                        and link.resolved not in card_files
                        and not (ctx.root / link.resolved).is_file()
                    ):
                        yield Finding(
                            page.path,
                            f"link to {link.target} does not resolve (no file {link.resolved})",
                            span=link.span,
                        )
                    elif link.kind == "missing":
                        yield Finding(
                            page.path,
                            f"link to {link.target} does not resolve (no file {link.resolved})",
                            span=link.span,
                        )
                    elif link.kind == "outside":
                        yield Finding(page.path, f"link to {link.target} leaves the knowledge base", span=link.span)
                cards = line.cards
                if len(cards) > 1:
                    names = ", ".join(link.card_id for link in cards)
                    yield Finding(
                        page.path,
                        f"this line routes to {len(cards)} cards ({names}): one line, one card; split it by situation",
                        span=cards[1].span,
                    )
