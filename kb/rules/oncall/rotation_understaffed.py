from pydantic import BaseModel, ConfigDict, Field

from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_humans: int = Field(2, ge=1)


class RotationUnderstaffed(Rule):
    """A rotation has fewer than two humans (settable as `min_humans`).

    Why: a rotation nobody can hand over to is not staffed: the one person burns out, goes
    on holiday, or is asleep after the last page. Agents do not count: they cannot approve,
    acknowledge or take over a failing runbook.

    Bad:

    ```yaml
    rotations:
      ai-platform:
        members: [carol, triage-bot]
    ```

    Good:

    ```yaml
    rotations:
      ai-platform:
        members: [carol, erin, triage-bot]
    ```
    """

    code = "KB305"
    name = "rotation/understaffed"
    level = Level.WARNING
    Options = Options

    def check(self, ctx, options):
        access = ctx.access()
        if access is None:
            return
        for name in access.oncall.rotations:
            humans = access.humans([name])
            if len(humans) < options.min_humans:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name} has {len(humans)} human member(s) "
                    f"({', '.join(humans) or 'none'}); it needs at least {options.min_humans} to hand over",
                    loc=("rotations", name, "members"),
                )
