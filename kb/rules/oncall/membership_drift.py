from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class MembershipDrift(Rule):
    """A group's export and `people.<name>.groups` disagree about who is in the group.

    Why: where a group names `members_from`, the export wins (it is what the identity
    provider grants); the hand-written list has drifted. Someone added in the source holds
    the grants though oncall.yaml says not; someone removed no longer holds them, and every
    card that counted on them is blocked. The finding names the person, the change and the file.

    Bad:

    ```yaml
    groups:
      sre: {grants: [queue:*], members_from: memberships/okta-sre.scim.json}   # alice, dave
    people:
      alice: {groups: [sre]}
      bob: {groups: [sre]}       # removed in Okta
      dave: {}                   # added in Okta
    ```

    Good:

    ```yaml
    groups:
      sre: {grants: [queue:*], members_from: memberships/okta-sre.scim.json}   # alice, dave
    people:
      alice: {groups: [sre]}
      bob: {}
      dave: {groups: [sre]}
    ```
    """

    code = "KB319"
    name = "membership/drift"
    level = Level.WARNING

    def check(self, ctx, options):
        paging = ctx.paging()
        if paging is None:
            return
        for diff in paging.memberships.differences:
            if diff.change == "added":
                message = (
                    f"{diff.person} is in group {diff.group} according to {diff.source} (added there) but "
                    f"people.{diff.person}.groups does not list it; the export wins"
                )
            else:
                message = (
                    f"{diff.person} lists group {diff.group} but {diff.source} does not have them (removed there); "
                    f"the export wins: they hold none of its grants"
                )
            yield Finding(ctx.oncall.path, message, loc=("people", diff.person), at="key")
