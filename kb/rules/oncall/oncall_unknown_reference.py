from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class OncallUnknownReference(Rule):
    """oncall.yaml names a group or a person it does not define.

    Why: a person in a misspelt group holds none of its grants, and a rotation member who
    is not under `people:` cannot be checked at all; both hide a blocked step.

    Bad:

    ```yaml
    people:
      alice: {groups: [sres]}
    rotations:
      sre-primary: {members: [alice, bobb]}
    ```

    Good:

    ```yaml
    people:
      alice: {groups: [sre]}
      bob: {groups: [sre]}
    rotations:
      sre-primary: {members: [alice, bob]}
    ```
    """

    code = "KB308"
    name = "oncall/unknown-reference"
    level = Level.ERROR

    def check(self, ctx, options):
        access = ctx.access()
        if access is None:
            return
        oncall = access.oncall
        for name, person in oncall.people.items():
            for index, group in enumerate(person.groups):
                if group not in oncall.groups:
                    yield Finding(
                        ctx.oncall.path,
                        f"{name} is in group '{group}', which is not defined under groups:",
                        loc=("people", name, "groups", index),
                    )
        for name, rotation in oncall.rotations.items():
            for index, member in enumerate(rotation.members):
                if member not in oncall.people:
                    yield Finding(
                        ctx.oncall.path,
                        f"rotation {name} lists '{member}', who is not under people:",
                        loc=("rotations", name, "members", index),
                    )
