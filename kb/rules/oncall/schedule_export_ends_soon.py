import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(14, ge=0, description="Warn when the export's last shift ends within this many days.")


class ExportEndsSoon(Rule):
    """A schedule export ends soon (or has ended): it is stale.

    Why: an export covers a window (PagerDuty and Grafana OnCall feeds reach some months
    ahead). After its last shift kb knows nothing about who is paged, and the per-shift
    checks silently check nothing. Export it again before it runs out.

    Bad:

    ```yaml
    rotations:
      sre-primary:
        schedule: schedules/sre-primary.ics   # last shift ends in 3 days
        members: [alice, bob]
    ```

    Good:

    ```yaml
    rotations:
      sre-primary:
        schedule: schedules/sre-primary.ics   # re-exported: shifts for the next 90 days
        members: [alice, bob]
    ```
    """

    code = "KB317"
    name = "schedule/export-ends-soon"
    level = Level.WARNING
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        limit = paging.begin + options.days * 86400
        for name, schedule in paging.rotations.items():
            found = schedule.schedule
            if found.problem or found.open_ended:
                continue
            if found.window_end is None:
                message = "has no shift from today on: the export has run out"
            elif found.window_end <= limit:
                last = dt.datetime.fromtimestamp(found.window_end, dt.UTC).isoformat()
                message = f"ends {last}, within {options.days} days: export it again"
            else:
                continue
            yield Finding(
                ctx.oncall.path, f"rotation {name}: {found.path} {message}", loc=("rotations", name, "schedule")
            )
