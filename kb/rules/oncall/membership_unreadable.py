from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class MembershipUnreadable(Rule):
    """A group's `members_from` export is missing, unreadable, or in no format kb reads.

    Why: the export is the source of truth for who is in the group; when kb cannot read it,
    the hand-written `people.<name>.groups` is all it has, and that is what drifts. kb reads
    a SCIM 2.0 Group (or a ListResponse of Groups and Users), the GitHub REST team-members
    list, and a ConductorOne baton-file JSON document (`#<resource id>` picks the group).

    Bad:

    ```yaml
    groups:
      sre:
        grants: [queue:*]
        members_from: memberships/okta-sre.csv.json   # a CSV renamed
    ```

    Good:

    ```yaml
    groups:
      sre:
        grants: [queue:*]
        members_from: memberships/okta-sre.scim.json
    ```
    """

    code = "KB318"
    name = "membership/unreadable"
    level = Level.ERROR

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for group, source in paging.memberships.sources.items():
            if source.problem:
                yield Finding(
                    ctx.oncall.path,
                    f"group {group}: {source.problem}; the hand-written members are used",
                    loc=("groups", group, "members_from"),
                )
