from kb.analysis.identities import Identities
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class AmbiguousIdentity(Rule):
    """Two people share a name, email or alias, so a shift or member naming it is nobody's.

    Why: kb maps a schedule's ATTENDEE and SUMMARY and a membership export's members to
    people by these spellings (case does not matter). A spelling two people share cannot say
    who is paged, so kb maps it to neither.

    Bad:

    ```yaml
    people:
      alice: {email: oncall@example.org}
      bob: {email: oncall@example.org}
    ```

    Good:

    ```yaml
    people:
      alice: {email: alice@example.org}
      bob: {email: bob@example.org}
    ```
    """

    code = "KB321"
    name = "oncall/ambiguous-identity"
    level = Level.ERROR

    def check(self, ctx, options):
        oncall = ctx.oncall.model if ctx.oncall is not None else None
        if oncall is None:
            return
        for spelling, names in sorted(Identities(oncall).ambiguous().items()):
            for name in names[1:]:
                person = oncall.people[name]
                field = "email" if person.email and person.email.casefold() == spelling else "aliases"
                yield Finding(
                    ctx.oncall.path,
                    f"'{spelling}' names both {names[0]} and {name}: shifts and members spelt so map to nobody",
                    loc=("people", name, field) if field == "email" or person.aliases else ("people", name),
                )
