from kb.analysis.schedule import gaps, span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class CoverageGap(Rule):
    """A 24x7 rotation's schedule leaves minutes with nobody on call.

    Why: `coverage: 24x7` promises someone is paged at every minute. A gap in the paging
    tool's schedule (a deleted layer, an override that ends early) pages nobody. Checked from
    the start of today (UTC) to the export's last shift (or the expansion horizon): days before
    the export's first shift are a gap too.

    Bad:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob]
        coverage: 24x7
        schedule: schedules/sre-primary.ics   # nights of Dec 24 to 26 are empty
    ```

    Good:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob]
        coverage: 24x7
        schedule: schedules/sre-primary.ics   # every minute has someone on call
    ```
    """

    code = "KB315"
    name = "schedule/coverage-gap"
    level = Level.ERROR

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            rotation = paging.oncall.rotations[name]
            if rotation.coverage != "24x7" or schedule.schedule.problem:
                continue
            shifts = schedule.shifts
            if not shifts:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name} covers 24x7 but {schedule.schedule.path} has no shift from today on",
                    loc=("rotations", name, "schedule"),
                )
                continue
            # from the start of today (a 24x7 rotation is paged now: an export whose first shift
            # is days away leaves those days with nobody) to the export's last shift
            found = gaps(shifts, paging.begin, max(s.end for s in shifts))
            shown = "; ".join(span(*gap) for gap in found[:5])
            if found:
                minutes = sum(b - a for a, b, _, _ in found) // 60
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name} covers 24x7 but its schedule pages nobody for {minutes} minutes in "
                    f"{len(found)} gaps: {shown}{' ...' if len(found) > 5 else ''}",
                    loc=("rotations", name, "schedule"),
                )
