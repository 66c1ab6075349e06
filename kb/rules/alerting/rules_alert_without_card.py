from urllib.parse import urlsplit

from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


def external_runbook(url: str | None, hosts: list[str]) -> bool:
    """The runbook_url points at a configured external runbook host (or a subdomain of one)."""
    if not url or not hosts:
        return False
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h.lower().strip(".") or host.endswith("." + h.lower().strip(".")) for h in hosts)


def card_of_url(site_url: str, url: str | None) -> str | None:
    """The card id a runbook_url points at, when it points into this KB's cards/."""
    if not url:
        return None
    rest = url[len(site_url) :] if site_url and url.startswith(site_url) else url if not site_url else None
    if rest is None or not rest.startswith("cards/"):
        return None
    return rest[len("cards/") :].strip("/").split("/")[0] or None


class AlertWithoutCard(Rule):
    """An alert in a rule file under rules/ leads to no card of this knowledge base.

    Why: the page fires, the engineer clicks the runbook link, and lands nowhere. Every
    alert, hand-written or emitted, has a `runbook_url` that resolves to a card of this KB
    (`<site_url>cards/<id>/`), or is named in some card's `triggers.alerts`. A runbook_url
    into this KB's cards/ that names no card is reported even when a card lists the alert.
    Rule files in subfolders of rules/ and Kubernetes `PrometheusRule` manifests count too;
    an alert whose runbook_url points at a host listed in `external_runbook_hosts` (third
    party rules such as kube-prometheus link runbooks.prometheus-operator.dev) has its
    runbook elsewhere and needs no card.

    Bad:

    ```yaml
    - alert: PublishQueueStalled
      expr: max(dispatch_oldest_pending_job_age_seconds) > 900
      annotations:
        runbook_url: https://ctx.example.org/cards/queue-stalled/
    ```

    Good:

    ```yaml
    - alert: PublishQueueStalled
      expr: max(dispatch_oldest_pending_job_age_seconds) > 900
      annotations:
        runbook_url: https://ctx.example.org/cards/queue-stuck/
    ```
    """

    code = "KB603"
    name = "rules/alert-without-card"
    level = Level.ERROR

    def check(self, ctx, options):
        cards = ctx.card_by_id()
        named = {a for doc in ctx.cards if doc.model for a in doc.model.triggers.alerts}
        site = ctx.config.site_url
        hosts = ctx.settings.external_runbook_hosts
        for rule_file in ctx.rule_files:
            for alert in rule_file.alerts:
                if external_runbook(alert.runbook_url, hosts):
                    continue
                target = card_of_url(site, alert.runbook_url)
                if target is not None and target not in cards:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name}'s runbook_url points at card '{target}', which does not exist",
                        loc=alert.loc,
                    )
                elif target is None and alert.name not in named:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name} leads to no card: give it a runbook_url "
                        f"{site}cards/<id>/ or list it in a card's triggers.alerts",
                        loc=alert.loc,
                    )
