from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule

FIELDS = ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")


class RecoveryAboveTarget(DocumentRule):
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
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        targets = ctx.settings.drill_targets
        recovery = doc.model.recovery
        if recovery is None:
            return
        for field in FIELDS:
            value, target = getattr(recovery, field), getattr(targets, field)
            if value is not None and value > target:
                yield Finding(
                    doc.path, f"{field} {value:g} is above the drill target of {target:g}", loc=("recovery", field)
                )
