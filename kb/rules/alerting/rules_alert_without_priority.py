from kb.core.diagnostics import Finding, Level
from kb.rules.alerting.rules_alert_without_card import external_runbook
from kb.rules.base import Rule

PRIORITIES = ("P1", "P2", "P3")


class AlertWithoutPriority(Rule):
    """An alert in a rule file has no `priority` label, or one that is not P1, P2 or P3.

    Why: Alertmanager routes on labels. An alert without a priority falls through to the
    default route, so a situation a card calls P1 may never page anyone. `kb emit` labels
    every alert it writes; hand-written rule files (subfolders and PrometheusRule manifests
    too) must say it themselves. Alerts whose runbook_url points at a host in
    `external_runbook_hosts` follow their own project's conventions and are left alone.

    Bad:

    ```yaml
    - alert: QueueStalled
      expr: max(queue_oldest_job_age_seconds) > 900
      labels:
        severity: warning
    ```

    Good:

    ```yaml
    - alert: QueueStalled
      expr: max(queue_oldest_job_age_seconds) > 900
      labels:
        severity: warning
        priority: P2
    ```
    """

    code = "KB607"
    name = "rules/alert-without-priority"
    level = Level.WARNING

    def check(self, ctx, options):
        hosts = ctx.settings.external_runbook_hosts
        for rule_file in ctx.rule_files:
            if rule_file.owned:
                continue
            for alert in rule_file.alerts:
                if external_runbook(alert.runbook_url, hosts):
                    continue
                if alert.priority is None:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name} has no priority label: add labels: {{priority: P1|P2|P3}} so it routes",
                        loc=alert.loc,
                    )
                elif alert.priority not in PRIORITIES:
                    yield Finding(
                        rule_file.path,
                        f"alert {alert.name}'s priority label is '{alert.priority}', not P1, P2 or P3",
                        loc=alert.rule_loc + ("labels", "priority"),
                    )
