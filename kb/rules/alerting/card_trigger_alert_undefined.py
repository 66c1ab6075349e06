from kb.core.diagnostics import Finding, Level, LoadProblem
from kb.core.similar import CloseMatches
from kb.rules.base import Rule


class TriggerAlertUndefined(Rule):
    """A card names an alert in `triggers.alerts` that no rule file under rules/ defines.

    Why: a card that waits for an alert nobody defined is never paged to; the router line
    promises a page that will not come. Every trigger alert exists in a hand-written rule
    file or in what `kb emit` writes. A KB whose alerts live outside Prometheus turns this
    rule off (`KB604: off`).

    Bad:

    ```yaml
    triggers:
      alerts: [PublishQueueStaled]
    ```

    Good:

    ```yaml
    triggers:
      alerts: [PublishQueueStalled]   # rules/agents.rules.yml defines it
    ```
    """

    code = "KB604"
    name = "card/trigger-alert-undefined"
    level = Level.ERROR

    def check(self, ctx, options):
        rules_prefix = ctx.settings.rules_dir.strip("/") + "/"
        if any(f.path.startswith(rules_prefix) for f in ctx.kb.load_findings.get(LoadProblem.YAML, [])):
            return  # a rule file that does not load may define them; its own diagnostic comes first
        defined = {a.name for rf in ctx.rule_files for a in rf.alerts} | {a.name for a in ctx.emitted().alerts}
        close_to: CloseMatches | None = None  # built at the first missing alert; a name asked again costs nothing
        for doc in ctx.cards:
            if doc.model is None:
                continue
            for index, alert in enumerate(doc.model.triggers.alerts):
                if alert in defined:
                    continue
                close_to = close_to or CloseMatches(defined, cutoff=0.8)
                close = close_to.best(alert)
                hint = f" (did you mean {close}?)" if close is not None else ""
                yield Finding(
                    doc.path,
                    f"alert {alert} is not defined in any rule file under {ctx.settings.rules_dir}/{hint}",
                    loc=("triggers", "alerts", index),
                )
