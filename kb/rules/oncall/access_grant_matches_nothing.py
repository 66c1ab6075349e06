from kb.analysis.access import pattern_matches
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class GrantMatchesNothing(Rule):
    """A group grants a pattern that matches no permission in the catalogue.

    Why: a grant that matches nothing is a typo (`traces:raed:*`) or a leftover from a
    renamed system; the people in the group believe they hold an access they do not.

    Bad:

    ```yaml
    groups:
      sre:
        grants: [queue:*, traces:raed:*]
    ```

    Good:

    ```yaml
    groups:
      sre:
        grants: [queue:*, traces:read:*]
    ```
    """

    code = "KB304"
    name = "access/grant-matches-nothing"
    level = Level.WARNING

    def check(self, ctx, options):
        access = ctx.access()
        if access is None:
            return
        catalogue = list(access.catalogue)
        for name, group in access.oncall.groups.items():
            for index, pattern in enumerate(group.grants):
                if not any(pattern_matches(pattern, permission) for permission in catalogue):
                    yield Finding(
                        ctx.oncall.path,
                        f"group {name} grants {pattern}, which matches no permission in the catalogue",
                        loc=("groups", name, "grants", index),
                    )
