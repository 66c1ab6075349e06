from kb.diagnostics import Finding, Level
from kb.rules import Rule, register

FIELDS = ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")


@register
class RecoveryAboveTarget(Rule):
    """A recovery figure is worse than its drill target (5 / 15 / 30 minutes by default).

    Why: the drill targets say how fast switching back, recovering the core path and the
    first status update should be. An incident that missed them points at what the next
    drill should practise. Informational; targets are the `drill_targets` setting.

    Bad:

    ```yaml
    recovery: {switchback_minutes: 41, core_recovery_minutes: 116, first_update_minutes: 9}
    ```

    Good:

    ```yaml
    recovery: {switchback_minutes: 4, core_recovery_minutes: 12, first_update_minutes: 9}
    ```
    """

    code = "KB408"
    name = "postmortem/recovery-above-target"
    level = Level.INFO
    scope = "document"

    def check(self, kb, options):
        targets = kb.settings.drill_targets
        for doc in kb.postmortems:
            recovery = doc.model.recovery if doc.model else None
            if recovery is None:
                continue
            for field in FIELDS:
                value, target = getattr(recovery, field), getattr(targets, field)
                if value is not None and value > target:
                    yield Finding(doc.path, f"{field} {value:g} is above the drill target of {target:g}",
                                  loc=("recovery", field))
