from kb.analysis.access import card_access, permissions_of
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


def holders_text(access, permission: str) -> str:
    groups = sorted(access.index.groups_granting(permission))
    people = access.index.holders(permission)
    if not groups:
        return "no group grants it"
    return f"granted by {', '.join(groups)}; held by {', '.join(people) or 'nobody'}"


class MissingPermission(DocumentRule):
    """A step needs a permission that one or more members of the card's rotation do not hold.

    Why: the card reads fine in daylight, written by someone who holds every grant. At
    02:17 the person paged is whoever is on the rotation, and a step they cannot run is a
    blocked incident. The check is per member: the message names who lacks it, who holds
    it, and how to request it (the catalogue's `request`).

    Bad:

    ```yaml
    # oncall.yaml: sre grants queue:*; bob is in sre only
    rotation: sre-primary          # members: [alice, bob]
    steps:
      - id: rollback
        do: Roll the prompt back
        requires: [deploy:rollback:prompt-service]   # only ai-platform holds it
        done_when: The previous version serves 100%
    ```

    Good:

    ```yaml
    # oncall.yaml: sre grants queue:* and deploy:rollback:prompt-service
    rotation: sre-primary
    steps:
      - id: rollback
        do: Roll the prompt back
        requires: [deploy:rollback:prompt-service]
        done_when: The previous version serves 100%
    ```
    """

    code = "KB301"
    name = "access/missing-permission"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        result = card_access(access, doc.model)
        if result is None:
            return
        for step, perm in permissions_of(result):
            lacking = perm.lacking
            if not lacking:
                continue
            request = f"; request: {perm.request}" if perm.request else ""
            yield Finding(
                doc.path,
                f"step '{step.step.id}': {', '.join(lacking)} of rotation {result.rotation_name} "
                f"lack{'s' if len(lacking) == 1 else ''} {perm.permission} "
                f"({holders_text(access, perm.permission)}){request}",
                loc=(step.field, step.index, "requires", perm.index),
            )
