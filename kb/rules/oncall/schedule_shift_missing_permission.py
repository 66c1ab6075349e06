from pydantic import BaseModel, ConfigDict, Field

from kb.analysis.paging import describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_rotation: int = Field(50, ge=1, description="Findings per rotation before the rest are counted in one.")


class ShiftMissingPermission(Rule):
    """The person the schedule pages during a shift lacks a permission a card of the rotation needs then.

    Why: the pager pages whoever the schedule says, overrides and swaps included; an
    override is exactly where someone without the grants ends up holding the pager. For
    every shift and every card of the rotation, the person paged must hold every permission
    each step requires for the whole shift (a group with `hours: business` grants only in
    business hours in that person's timezone). The finding is on the shift's event and names
    the shift, the person, the card, the step, the permission and how to request it.

    Bad:

    ```yaml
    # schedules/sre-primary.ics: an override puts carol (ai-platform) on sre-primary
    people:
      carol: {groups: [ai-platform], email: carol@example.org}
    # cards/queue-stuck.yaml needs queue:pause:dispatch, granted to sre only
    ```

    Good:

    ```yaml
    people:
      carol: {groups: [ai-platform, sre], email: carol@example.org}
    ```
    """

    code = "KB313"
    name = "schedule/shift-missing-permission"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            folded = {}
            for item in paging.missing(name):
                need = item.need
                key = (item.shift.line, item.person, need.card.id, need.section, need.index, need.permission)
                folded.setdefault(key, []).append(item)
            for count, items in enumerate(folded.values()):
                if count == options.max_per_rotation:
                    rest = sum(len(i) for i in list(folded.values())[count:])
                    yield Finding(
                        ctx.oncall.path,
                        f"rotation {name}: {rest} more shifts whose person cannot run a card step "
                        f"(raise max_per_rotation to list them)",
                        loc=("rotations", name, "schedule"),
                    )
                    break
                first, need = items[0], items[0].need
                more = f" (and {len(items) - 1} more shifts of this event)" if len(items) > 1 else ""
                holds = (
                    f"does not hold {need.permission}"
                    if first.hours == "never"
                    else f"holds {need.permission} only {first.hours}"
                )
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}, shift {describe_shift(first.shift)}{more}: {first.person} is paged but "
                    f"{holds}, which card {need.card.id} "
                    f"{'rollback ' if need.section == 'rollback' else ''}step '{need.step.id}' requires; "
                    f"request: {need.request or 'not in the permissions catalogue'}",
                    span=ics_span(first.shift.line),
                )
