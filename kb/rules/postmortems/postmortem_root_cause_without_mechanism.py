from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


def addressed_by(pm, index: int) -> list:
    """The mechanism reinforcements (not tasks, not wont_do) that address root cause `index`.
    A reinforcement without `addresses` addresses the root cause only when there is one."""
    cause = pm.root_causes[index]
    found = []
    for item in pm.reinforcements:
        if not item.is_mechanism or item.status == "wont_do":
            continue
        if (cause.id is not None and cause.id in item.addresses) or (not item.addresses and len(pm.root_causes) == 1):
            found.append(item)
    return found


class RootCauseWithoutMechanism(DocumentRule):
    """A `complete` postmortem has a root cause that no mechanism addresses and no `no_mechanism` excuses.

    Why: three defects with one alert between them are two defects waiting to recur. The
    completeness gate is per root cause: each one is addressed (`addresses: [RC1]`) by at
    least one mechanism (alert, gate, test, eval, card change) that is not `wont_do`, or
    says why no mechanism is possible (`no_mechanism: <why>`, e.g. the fix is a vendor's
    compiler release). A `task` (tracked work such as "faster debugging tooling") never
    satisfies the gate by itself. With a single root cause, a reinforcement without
    `addresses` addresses it. A version-1 file (no root cause has an id, no reinforcement
    says `addresses`) keeps the version-1 gate of KB405, at least one mechanism, so that an
    upgrade does not fail postmortems closed before; `kb new` writes ids, which opts in.

    Bad:

    ```yaml
    status: complete
    root_causes:
      - {id: RC1, category: config, description: Requests went to the long-context pool}
      - {id: RC2, category: dependency, description: The compiler miscompiled top-k}
    reinforcements:
      - {id: R1, kind: eval, addresses: [RC1], status: done,
         eval: {input: A short request, expected: Served by the short-context pool}}
      - {id: R2, kind: task, addresses: [RC2], status: done,
         task: {description: Work with the compiler team on a fix}}
    ```

    Good:

    ```yaml
    status: complete
    root_causes:
      - {id: RC1, category: config, description: Requests went to the long-context pool}
      - {id: RC2, category: dependency, description: The compiler miscompiled top-k,
         no_mechanism: The fix ships in the vendor's compiler; exact top-k is used meanwhile}
    reinforcements:
      - {id: R1, kind: eval, addresses: [RC1], status: done,
         eval: {input: A short request, expected: Served by the short-context pool}}
      - {id: R2, kind: task, addresses: [RC2], status: done,
         task: {description: Work with the compiler team on a fix}}
    ```
    """

    code = "KB412"
    name = "postmortem/root-cause-without-mechanism"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        if pm.status != "complete":
            return
        if not any(c.id for c in pm.root_causes) and not any(r.addresses for r in pm.reinforcements):
            return  # a version-1 file: KB405 applies the version-1 gate
        several = len(pm.root_causes) > 1
        for index, cause in enumerate(pm.root_causes):
            if (cause.no_mechanism or "").strip() or addressed_by(pm, index):
                continue
            name = cause.id or f"root cause {index + 1}"
            hint = (
                "give it an id and list it in a mechanism's addresses"
                if cause.id is None and several
                else f"add a mechanism with addresses: [{cause.id}]"
                if cause.id
                else "add a mechanism"
            )
            yield Finding(
                doc.path,
                f"{name} is addressed by no mechanism (alert, gate, test, eval, card): {hint}, "
                "or say no_mechanism: <why>",
                loc=("root_causes", index, "id" if cause.id else "category"),
            )
