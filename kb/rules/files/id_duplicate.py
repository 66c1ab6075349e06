from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class IdDuplicate(Rule):
    """Two files claim the same id, or two steps of one card do, or two reinforcements of one postmortem.

    Why: cross-references (a card's postmortems, a postmortem's cards, an alert's card)
    resolve by id; with two owners of one id, a link goes to whichever was read first.
    Postmortem ids are never reused, even across branches. Step ids name steps in
    diagnostics, access reports and links, so they are unique within a card; reinforcement
    ids name what `kb emit` writes (PM-2026-004/R1) and what `kb followups done` closes, so
    they are unique within a postmortem.

    Bad:

    ```yaml
    postmortems/PM-2026-004-queue.yaml: {id: PM-2026-004}
    postmortems/PM-2026-004-dispatch.yaml: {id: PM-2026-004}
    ```

    Good:

    ```yaml
    postmortems/PM-2026-004-queue.yaml: {id: PM-2026-004}
    postmortems/PM-2026-005-dispatch.yaml: {id: PM-2026-005}
    ```
    """

    code = "KB121"
    name = "id/duplicate"
    level = Level.ERROR

    def check(self, ctx, options):
        for docs in (ctx.cards, ctx.postmortems):
            first: dict[str, str] = {}
            for doc in docs:
                if doc.model is None:
                    continue
                if doc.model.id in first:
                    yield Finding(
                        doc.path, f"id '{doc.model.id}' is already used by {first[doc.model.id]}", loc=("id",)
                    )
                else:
                    first[doc.model.id] = doc.path
        for doc in ctx.cards:
            if doc.model is None:
                continue
            for field in ("steps", "rollback"):
                seen: set[str] = set()
                for index, step in enumerate(getattr(doc.model, field, []) or []):
                    if step.id in seen:
                        yield Finding(
                            doc.path, f"step id '{step.id}' appears twice in {field}", loc=(field, index, "id")
                        )
                    seen.add(step.id)
        for doc in ctx.postmortems:
            if doc.model is None:
                continue
            ids: set[str] = set()
            for index, item in enumerate(doc.model.reinforcements):
                if item.id in ids:
                    yield Finding(
                        doc.path,
                        f"reinforcement id '{item.id}' appears twice: emitted rules, evals and gates and "
                        "`kb followups done` name a reinforcement by it",
                        loc=("reinforcements", index, "id"),
                    )
                ids.add(item.id)
