from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class BadEscalation(Rule):
    """A rotation escalates to a rotation that does not exist, or the escalation loops.

    Why: when the first responder cannot act, the page goes to `escalates_to`. A misspelt
    name means the escalation goes nowhere; a loop means it never reaches anyone new.

    Bad:

    ```yaml
    rotations:
      sre-primary: {members: [alice, bob], escalates_to: ai-platfrom}
    ```

    Good:

    ```yaml
    rotations:
      sre-primary: {members: [alice, bob], escalates_to: ai-platform}
      ai-platform: {members: [carol, erin]}
    ```
    """

    code = "KB307"
    name = "rotation/bad-escalation"
    level = Level.ERROR

    def check(self, ctx, options):
        access = ctx.access()
        if access is None:
            return
        rotations = access.oncall.rotations
        for name, rotation in rotations.items():
            target = rotation.escalates_to
            if target is None:
                continue
            if target not in rotations:
                yield Finding(
                    ctx.oncall.path,
                    f"rotation {name} escalates to '{target}', which is not a rotation",
                    loc=("rotations", name, "escalates_to"),
                )
                continue
            chain = access.escalation_chain(name)
            last = rotations[chain[-1]].escalates_to
            if last in chain:
                yield Finding(
                    ctx.oncall.path,
                    f"the escalation from {name} loops: {' -> '.join(chain)} -> {last}",
                    loc=("rotations", name, "escalates_to"),
                )
