from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class UnknownMember(Rule):
    """A group's export names a member who is nobody in oncall.yaml.

    Why: the identity provider grants the group to someone kb cannot match to a person by
    name, `email` or `aliases`: their shifts and cards cannot be checked, and the group's
    membership in oncall.yaml is incomplete.

    Bad:

    ```yaml
    groups:
      sre: {grants: [queue:*], members_from: memberships/github-sre.json}   # logins alice, octocat
    people:
      alice: {groups: [sre]}
    ```

    Good:

    ```yaml
    groups:
      sre: {grants: [queue:*], members_from: memberships/github-sre.json}
    people:
      alice: {groups: [sre]}
      mona: {groups: [sre], aliases: [octocat]}
    ```
    """

    code = "KB320"
    name = "membership/unknown-member"
    level = Level.WARNING

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for group, source in paging.memberships.sources.items():
            for text in source.unknown:
                yield Finding(
                    ctx.oncall.path,
                    f"group {group}: {source.reference} names '{text}', who is nobody in oncall.yaml; "
                    "add them to people, or that name or email to someone's `aliases` or `email`",
                    loc=("groups", group, "members_from"),
                )
