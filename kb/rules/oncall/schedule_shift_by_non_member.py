from kb.analysis.paging import describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


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

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            folded = {}
            for shift, person in paging.non_members(name):
                folded.setdefault((shift.line, person), []).append(shift)
            for (line, person), shifts in folded.items():
                more = f" (and {len(shifts) - 1} more shifts of this event)" if len(shifts) > 1 else ""
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}, shift {describe_shift(shifts[0])}{more}: {person} is paged but is not a "
                    f"member of {name} in oncall.yaml",
                    span=ics_span(line),
                )
