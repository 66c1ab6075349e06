import re

from kb.core.diagnostics import Finding, Level, Span
from kb.load.router import LINK
from kb.rules.base import Rule


class AlertRoutedTwice(Rule):
    """An alert leads to two cards: two cards list it, or two routing lines name it.

    Why: the router maps a situation to exactly one card. An engineer paged by
    `QueueStalled` searches for that name; if two cards claim it, or two lines of the router
    name it, `kb route`, `kb new postmortem --from-alert` and the engineer can each pick a
    different card. Every alert is listed by one card and named on one routing line (the
    line of that card); describe a situation without naming another card's alert.

    Bad:

    ```yaml
    # cards/other.yaml
    triggers:
      alerts: [OtherAlert, QueueStalled]   # queue-stuck lists QueueStalled too
    # router.md: - `OtherAlert`, while `QueueStalled` is quiet → [other](cards/other.yaml)
    ```

    Good:

    ```yaml
    triggers:
      alerts: [OtherAlert]
    # router.md: - `OtherAlert`, while the queue is quiet → [other](cards/other.yaml)
    ```
    """

    code = "KB530"
    name = "router/alert-routed-twice"
    level = Level.ERROR

    def check(self, ctx, options):
        listed: dict[str, list[tuple[str, str, int]]] = {}  # alert -> (card id, path, index)
        for doc in ctx.cards:
            if doc.model is None:
                continue
            for index, alert in enumerate(doc.model.triggers.alerts):
                listed.setdefault(alert, []).append((doc.model.id, doc.path, index))
        for alert, where in listed.items():
            cards = sorted({card for card, _, _ in where})
            if len(where) > 1:
                names = " and ".join(cards) if len(cards) > 1 else f"{cards[0]} twice"
                for _card, path, index in where:
                    yield Finding(
                        path,
                        f"alert {alert} is listed by cards {names}: an alert pages to one card; "
                        "keep it in one card's triggers.alerts",
                        loc=("triggers", "alerts", index),
                    )
        known = set(listed) | {alert.name for rule_file in ctx.rule_files for alert in rule_file.alerts}
        named: dict[str, list] = {}
        for line in ctx.router().routing_lines():
            text = LINK.sub(" ", line.text)
            # a name in backticks, or one that looks like an alert (AgentRunCrashed, job:up); a
            # plain word ("Watchdog lost a run") is prose even when some alert has that name
            words = set(re.findall(r"`([A-Za-z_:][A-Za-z0-9_:]*)`", text)) | {
                word for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text) if re.search(r"[A-Z_:]", word[1:])
            }
            for alert in sorted(words & known):
                named.setdefault(alert, []).append(line)
        for alert, lines in named.items():
            if len(lines) > 1:
                places = ", ".join(f"{line.page}:{line.line}" for line in lines)
                for line in lines:
                    yield Finding(
                        line.page,
                        f"alert {alert} is named on {len(lines)} routing lines ({places}): the router maps a "
                        "situation to one card; name each alert only on the line of its card",
                        span=Span(line.line, 1, line.line, 2),
                    )
