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

    Why: the page fires, the engineer clicks the runbook link, and lands nowhere, or on
    another card than the one the router sends them to. Every alert, hand-written or
    emitted, has a `runbook_url` that resolves to a card of this KB (`<site_url>cards/<id>/`),
    or is named in some card's `triggers.alerts`; when a card names the alert, its
    runbook_url is that card's page (not another card's, not a typo'd host, not TODO, not
    missing), and a postmortem's alert reinforcement names that card in `alert.card`. A
    runbook_url into this KB's cards/ that names no card is reported even when a card lists
    the alert.
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
        named: dict[str, list[str]] = {}  # alert -> the cards that list it
        for doc in ctx.cards:
            for alert in doc.model.triggers.alerts if doc.model else []:
                named.setdefault(alert, []).append(doc.model.id)
        site = ctx.config.site_url
        hosts = ctx.settings.external_runbook_hosts
        for rule_file in ctx.rule_files:
            for alert in rule_file.alerts:
                if external_runbook(alert.runbook_url, hosts):
                    continue
                target = card_of_url(site, alert.runbook_url)
                namers = sorted(named.get(alert.name, []))
                if target is not None and target not in cards:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name}'s runbook_url points at card '{target}', which does not exist",
                        loc=alert.loc,
                    )
                elif namers and target not in namers:
                    page = f"{site}cards/{namers[0]}/"
                    what = f"runbook_url {alert.runbook_url!r}" if alert.runbook_url else "has no runbook_url: its link"
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name} {what} is not the page of card {' or '.join(namers)}, which names "
                        f"the alert: the engineer it pages lands elsewhere; set runbook_url: {page}",
                        loc=alert.loc,
                    )
                elif target is None and not namers:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name} leads to no card: give it a runbook_url "
                        f"{site}cards/<id>/ or list it in a card's triggers.alerts",
                        loc=alert.loc,
                    )
        postmortems = {doc.path: doc.model for doc in ctx.postmortems if doc.model is not None}
        for source in ctx.emitted().alerts:  # what kb emit writes: its runbook_url is `alert.card`'s page
            pm = postmortems.get(source.path)
            item = pm.reinforcements[source.loc[1]] if pm is not None else None
            if item is None or item.alert is None:
                continue
            namers = sorted(named.get(item.alert.name, []))
            if namers and item.alert.card not in namers:
                yield Finding(
                    source.path,
                    f"card {' and '.join(namers)} names alert {item.alert.name} in triggers.alerts, but this "
                    f"reinforcement emits it with the runbook of card {item.alert.card}: set card: {namers[0]}",
                    loc=(*source.loc, "card"),
                )
