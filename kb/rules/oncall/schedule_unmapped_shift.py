from pydantic import BaseModel, ConfigDict, Field

from kb.analysis.paging import capped, describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_rotation: int = Field(50, ge=1, description="Findings per rotation before the rest are counted in one.")


class UnmappedShift(Rule):
    """A shift of a rotation's schedule names nobody in oncall.yaml.

    Why: kb maps a shift to a person by ATTENDEE email, then by the name in SUMMARY, through
    `email` and `aliases` on people. A shift that maps to nobody is a shift nobody can be
    checked for (Grafana OnCall calls it an "empty shift"): the pager may page a person kb
    has never heard of. The finding is on the event's line and quotes what it says.

    Bad:

    ```yaml
    # schedules/sre-primary.ics: SUMMARY:On Call - Robert Smith - SRE primary
    people:
      bob: {groups: [sre], email: bob@example.org}
    ```

    Good:

    ```yaml
    people:
      bob: {groups: [sre], email: bob@example.org, aliases: ["Robert Smith"]}
    ```
    """

    code = "KB312"
    name = "schedule/unmapped-shift"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            seen = {}
            for shift, text in paging.unmapped(name):
                seen.setdefault((shift.line, text), []).append(shift)
            shown, rest = capped(list(seen.items()), options.max_per_rotation, lambda pair: len(pair[1]))
            if rest:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name}: {rest} more shifts that name nobody in oncall.yaml"
                    " (raise max_per_rotation to list them)",
                    loc=("rotations", name, "schedule"),
                )
            for (line, text), shifts in shown:
                more = f" (and {len(shifts) - 1} more shifts of this event)" if len(shifts) > 1 else ""
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}: the shift {describe_shift(shifts[0])}{more} names nobody in oncall.yaml: "
                    f"{text}; add that email or name to a person's `email` or `aliases`",
                    span=ics_span(line),
                )
