from pydantic import BaseModel, ConfigDict, Field

from kb.analysis.paging import capped, describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_rotation: int = Field(50, ge=1, description="Findings per rotation before the rest are counted in one.")


class ShiftByNonMember(Rule):
    """A shift is held by someone who is not a member of the rotation in oncall.yaml.

    Why: the paging tool and oncall.yaml have drifted apart: the schedule pages someone the
    file does not list (a swap, an override, a new hire). The per-member checks of KB301 do
    not cover that person; the per-shift checks do, and this says the file is out of date.

    Bad:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob]                  # the schedule also pages dave
        schedule: schedules/sre-primary.ics
    ```

    Good:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob, dave]
        schedule: schedules/sre-primary.ics
    ```
    """

    code = "KB316"
    name = "schedule/shift-by-non-member"
    level = Level.WARNING
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            folded = {}
            for shift, person in paging.non_members(name):
                folded.setdefault((shift.line, person), []).append(shift)
            shown, rest = capped(list(folded.items()), options.max_per_rotation, lambda pair: len(pair[1]))
            if rest:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name}: {rest} more shifts paged to someone who is not a member"
                    " (raise max_per_rotation to list them)",
                    loc=("rotations", name, "schedule"),
                )
            for (line, person), shifts in shown:
                more = f" (and {len(shifts) - 1} more shifts of this event)" if len(shifts) > 1 else ""
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}, shift {describe_shift(shifts[0])}{more}: {person} is paged but is not a "
                    f"member of {name} in oncall.yaml",
                    span=ics_span(line),
                )
