from kb.analysis.access import card_access, describe_hours, describe_uncovered, permissions_of
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class BusinessHoursOnly(DocumentRule):
    """A rotation covers 24x7, but a member holds a step's permission only in business hours.

    Why: a group with `hours: business` grants its permissions only within business hours
    in each member's timezone (time-boxed elevation, approval desks that sleep). A 24x7
    rotation paged at 02:17 cannot use it; the message names the uncovered hours.

    Bad:

    ```yaml
    # oncall.yaml: finops grants budget:set:* with hours: business
    rotation: sre-primary          # coverage: 24x7, members in finops only
    steps:
      - id: raise-cap
        do: Raise the tenant's budget cap
        requires: [budget:set:llm-gateway]
        done_when: The new cap shows in the gateway
    ```

    Good:

    ```yaml
    rotation: sre-primary
    steps:
      - id: halt
        do: Halt the agent at the gateway; finops raises caps in business hours
        requires: [budget:halt:llm-gateway]   # granted 24x7 to sre
        done_when: The agent makes no new calls
    ```
    """

    code = "KB302"
    name = "access/business-hours-only"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        result = card_access(access, doc.model)
        if result is None:
            return
        hours = ctx.settings.business_hours
        for step, perm in permissions_of(result):
            names = perm.business_only(result.rotation.coverage)  # steps exist only when the rotation does
            if not names:
                continue
            uncovered = "; ".join(
                f"{name}: {describe_uncovered(hours, access.oncall.people[name].timezone)}" for name in names
            )
            yield Finding(
                doc.path,
                f"step '{step.step.id}': {', '.join(names)} hold{'s' if len(names) == 1 else ''} "
                f"{perm.permission} only in business hours ({describe_hours(hours)}) but rotation "
                f"{result.rotation_name} covers 24x7; uncovered: {uncovered}",
                loc=(step.field, step.index, "requires", perm.index),
            )
