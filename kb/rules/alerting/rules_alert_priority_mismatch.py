from pydantic import BaseModel, ConfigDict, Field

from kb.core.diagnostics import Finding, Level
from kb.rules.alerting.rules_alert_without_card import card_of_url, external_runbook
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_more_urgent_by: int = Field(
        1, ge=0, le=2, description="How many levels an alert may be more urgent than its card (P1 alert, P2 card: 1)."
    )


def disagree(alert_priority: str, card_priority: str, allowed: int) -> bool:
    """An alert less urgent than its card, or more urgent by more than `allowed` levels."""
    levels = {"P1": 1, "P2": 2, "P3": 3}
    if alert_priority not in levels or card_priority not in levels:
        return False  # a priority that is not P1-P3 is KB607's (or the schema's) to report
    gap = levels[card_priority] - levels[alert_priority]  # > 0: the alert is more urgent
    return gap < 0 or gap > allowed


def alert_cards(ctx) -> dict[str, str]:
    """Alert name -> the card that lists it in triggers.alerts (the first, by card id)."""
    found: dict[str, str] = {}
    for doc in sorted(ctx.cards, key=lambda d: d.path):
        if doc.model is not None:
            for alert in doc.model.triggers.alerts:
                found.setdefault(alert, doc.model.id)
    return found


def linked_card(ctx, alert, named: dict[str, str]) -> str | None:
    """The card an alert in a rule file leads to: its runbook_url, else a card naming it."""
    target = card_of_url(ctx.config.site_url, alert.runbook_url)
    return target if target is not None else named.get(alert.name)


class AlertPriorityMismatch(Rule):
    """An alert's priority differs from the priority of the card it leads to.

    Why: the `priority` label decides how the alert routes (P1 pages a human at once, P3
    waits for the morning); the card's priority says how urgent the situation is. A P1
    alert linking a P3 card pages someone at night for a card that says it can wait, and
    a P3 alert linking a P1 card lets a P1 situation wait until morning. An alert may be
    more urgent than its card by `allow_more_urgent_by` levels (1: a P1 alert may lead to a
    P2 card that covers a milder form of the same situation); never less urgent. Checked for alerts
    in rule files under rules/ (subfolders and PrometheusRule manifests too) and for the
    alerts of postmortem reinforcements.

    Bad:

    ```yaml
    - alert: QueueStalled
      expr: max(queue_oldest_job_age_seconds) > 900
      labels:
        priority: P1   # cards/queue-stuck.yaml says priority: P3
      annotations:
        runbook_url: https://kb.example.org/cards/queue-stuck/
    ```

    Good:

    ```yaml
    - alert: QueueStalled
      expr: max(queue_oldest_job_age_seconds) > 900
      labels:
        priority: P3
      annotations:
        runbook_url: https://kb.example.org/cards/queue-stuck/
    ```
    """

    code = "KB606"
    name = "rules/alert-priority-mismatch"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        named = alert_cards(ctx)
        hosts = ctx.settings.external_runbook_hosts
        for rule_file in ctx.rule_files:
            if rule_file.owned:
                continue  # kb emit's alerts are judged at their postmortem, below
            for alert in rule_file.alerts:
                if alert.priority is None or external_runbook(alert.runbook_url, hosts):
                    continue
                card_id = linked_card(ctx, alert, named)
                card = cards.get(card_id) if card_id else None
                if card is None or card.model is None:
                    continue
                if not disagree(alert.priority, card.model.priority, options.allow_more_urgent_by):
                    continue
                yield Finding(
                    rule_file.path,
                    f"alert {alert.name} is labelled {alert.priority} but leads to card {card_id}, "
                    f"which is {card.model.priority}: make them agree",
                    loc=alert.rule_loc + ("labels", "priority"),
                )
        for doc in ctx.postmortems:
            if doc.model is None:
                continue
            for index, item in enumerate(doc.model.reinforcements):
                alert = item.alert if item.kind == "alert" else None
                if alert is None or item.status == "wont_do":
                    continue
                card = cards.get(alert.card)
                if card is None or card.model is None:
                    continue
                if not disagree(alert.priority, card.model.priority, options.allow_more_urgent_by):
                    continue
                yield Finding(
                    doc.path,
                    f"alert {alert.name} is {alert.priority} but its card {alert.card} is {card.model.priority}: "
                    "make them agree",
                    loc=("reinforcements", index, "alert", "priority"),
                )
