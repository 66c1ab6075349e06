from pydantic import BaseModel, ConfigDict, Field

from kb.analysis.paging import capped, describe_shift, ics_span
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_rotation: int = Field(50, ge=1, description="Findings per rotation before the rest are counted in one.")


class ShiftAgentAlone(Rule):
    """During a shift the schedule pages only an agent, and a card of the rotation has a step only a human may take.

    Why: KB310 asks that a rotation's first responder be human when its cards hold irreversible
    or approval steps, but the pager pages whoever the schedule says: an override or a layer
    can hand the pager to an agent (`kind: agent` with an `email` the schedule's ATTENDEE
    names). An agent must not take irreversible actions nor give or seek approval on its own
    authority, so during that shift the step stalls, or runs unapproved.

    Bad:

    ```yaml
    people:
      triage-bot: {kind: agent, groups: [sre], email: triage-bot@example.org}
    rotations:
      sre-primary:
        members: [alice, triage-bot]
        schedule: schedules/sre-primary.ics   # nights: ATTENDEE:mailto:triage-bot@example.org alone
    ```

    Good:

    ```yaml
    people:
      triage-bot: {kind: agent, groups: [sre], email: triage-bot@example.org}
    rotations:
      sre-primary:
        members: [alice, triage-bot]
        schedule: schedules/sre-primary.ics   # nights: triage-bot and alice, at the same level
    ```
    """

    code = "KB322"
    name = "schedule/shift-agent-alone"
    level = Level.ERROR
    Options = Options

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for name, schedule in paging.rotations.items():
            folded = {}
            for shift, card, section, index, step in paging.agents_alone(name):
                folded.setdefault((shift.line, card.id, section, index), []).append((shift, step))
            shown, rest = capped(list(folded.items()), options.max_per_rotation, lambda pair: len(pair[1]))
            if rest:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name}: {rest} more shifts where only an agent is paged for a step a human must take"
                    " (raise max_per_rotation to list them)",
                    loc=("rotations", name, "schedule"),
                )
            for (line, card_id, _section, _index), items in shown:
                shift, step = items[0]
                more = f" (and {len(items) - 1} more shifts of this event)" if len(items) > 1 else ""
                what = "is irreversible" if step.irreversible else f"needs {step.approval} approval"
                yield Finding(
                    schedule.schedule.path,
                    f"rotation {name}, shift {describe_shift(shift)}{more}: only {', '.join(shift.people)} "
                    f"(agent) is paged, but card {card_id} step '{step.id}' {what}: a human must take it",
                    span=ics_span(line),
                )
