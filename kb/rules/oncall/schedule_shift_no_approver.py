from pydantic import BaseModel, ConfigDict, Field

from kb.analysis.paging import capped, describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_rotation: int = Field(50, ge=1, description="Findings per rotation before the rest are counted in one.")


class ShiftNoApprover(Rule):
    """During a shift, nobody reachable can give the approval an irreversible step of a card needs.

    Why: `approval: incident-commander` needs someone paged at that minute (on the rotation,
    then along its escalations, each by its own schedule) in a group that `approves` it;
    `second-person` needs two humans paged then. A rotation without a schedule reaches all
    its members. At 02:17 the approval desk that works office hours is not reachable.

    Bad:

    ```yaml
    groups:
      incident-commanders: {approves: [incident-commander], hours: business}
    rotations:
      sre-primary: {members: [alice], schedule: schedules/sre-primary.ics, escalates_to: command}
      command: {members: [ivan]}
    ```

    Good:

    ```yaml
    groups:
      incident-commanders: {approves: [incident-commander]}
    rotations:
      sre-primary: {members: [alice], schedule: schedules/sre-primary.ics, escalates_to: command}
      command: {members: [ivan]}
    ```
    """

    code = "KB314"
    name = "schedule/shift-no-approver"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            folded = {}
            for item in paging.no_approver(name):
                folded.setdefault((item.shift.line, item.card.id, item.section, item.index), []).append(item)
            shown, rest = capped(list(folded.values()), options.max_per_rotation)
            if rest:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name}: {rest} more shifts with nobody reachable who may approve a card step"
                    " (raise max_per_rotation to list them)",
                    loc=("rotations", name, "schedule"),
                )
            for items in shown:
                first = items[0]
                more = f" (and {len(items) - 1} more shifts of this event)" if len(items) > 1 else ""
                who = ", ".join(first.reachable) or "nobody"
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}, shift {describe_shift(first.shift)}{more}: card {first.card.id} step "
                    f"'{first.step.id}' needs {first.step.approval} approval, but of those reachable then "
                    f"({who}) none can give it",
                    span=ics_span(first.shift.line),
                )
