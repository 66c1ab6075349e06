from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class UnknownPostmortem(Rule):
    """A card lists a postmortem id that no postmortem file has.

    Why: the card's page links the incidents that shaped it; a dead id hides the history
    that explains why a step is there.

    Bad:

    ```yaml
    postmortems: [PM-2026-044]
    ```

    Good:

    ```yaml
    postmortems: [PM-2026-004]   # postmortems/PM-2026-004-*.yaml exists
    ```
    """

    code = "KB131"
    name = "ref/unknown-postmortem"
    level = Level.ERROR

    def check(self, ctx, options):
        known = ctx.postmortem_by_id()
        for doc in ctx.cards:
            if doc.model is None:
                continue
            for index, pm_id in enumerate(doc.model.postmortems):
                if pm_id not in known:
                    yield Finding(doc.path, f"postmortem '{pm_id}' does not exist", loc=("postmortems", index))
