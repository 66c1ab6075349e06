from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class UnknownRootCause(DocumentRule):
    """A reinforcement addresses a root cause id that no root cause has, or two root causes share an id.

    Why: `addresses: [RC2]` is how a reinforcement says which defect it stops; the
    completeness gate counts mechanisms per root cause by these ids. An id that names
    nothing (a typo, a renumbered cause) silently leaves its root cause unaddressed.

    Bad:

    ```yaml
    root_causes:
      - {id: RC1, category: config, description: Requests were routed to the wrong server pool}
    reinforcements:
      - id: R1
        kind: eval
        addresses: [RC2]
        eval: {input: A short-context request, expected: Served by the short-context pool}
    ```

    Good:

    ```yaml
    root_causes:
      - {id: RC1, category: config, description: Requests were routed to the wrong server pool}
    reinforcements:
      - id: R1
        kind: eval
        addresses: [RC1]
        eval: {input: A short-context request, expected: Served by the short-context pool}
    ```
    """

    code = "KB411"
    name = "postmortem/unknown-root-cause"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        seen: set[str] = set()
        for index, cause in enumerate(pm.root_causes):
            if cause.id is None:
                continue
            if cause.id in seen:
                yield Finding(doc.path, f"root cause id {cause.id} is used twice", loc=("root_causes", index, "id"))
            seen.add(cause.id)
        known = ", ".join(sorted(seen)) or "none: give root causes an id (RC1, RC2...)"
        for index, item in enumerate(pm.reinforcements):
            for position, target in enumerate(item.addresses):
                if target not in seen:
                    yield Finding(
                        doc.path,
                        f"reinforcement {item.id} addresses {target}, which is no root cause's id (ids: {known})",
                        loc=("reinforcements", index, "addresses", position),
                    )
