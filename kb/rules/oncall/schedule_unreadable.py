from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class ScheduleUnreadable(Rule):
    """A rotation's schedule file is missing, unreadable, or not an iCalendar file kb can expand.

    Why: the schedule is who the pager actually pages. A file kb cannot read proves nothing
    about the person paged at 02:17, so kb says so instead of passing the rotation. Floating
    times (no TZID, no `Z`, no X-WR-TIMEZONE) are refused: nobody can say when they are.

    Bad:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob]
        schedule: schedules/sre-primary.ics   # the export was never committed
    ```

    Good:

    ```yaml
    rotations:
      sre-primary:
        members: [alice, bob]
        schedule: schedules/sre-primary.ics   # exported from the paging tool, committed
    ```
    """

    code = "KB311"
    name = "schedule/unreadable"
    level = Level.ERROR

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            if schedule.schedule.problem:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name}: {schedule.schedule.problem}",
                    loc=("rotations", name, "schedule"),
                )
