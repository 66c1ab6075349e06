from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class CompleteNeedsReinforcements(DocumentRule):
    """A `complete` postmortem has reinforcements that are not closed, owned, dated or proven.

    Why: a postmortem changes the system only when its conclusions are encoded as alert
    rules, gates, tests and evals. `complete` therefore means: a resolution time, at least
    one mechanism (alert, gate, test, eval or card change: a `task` is tracked work and never
    counts alone), every reinforcement with an owner and a due date, each `done` (or
    `wont_do` with a `why`), and every alert carrying the `replay` that proves it would have
    fired. Where no mechanism can exist, every root cause says so with `no_mechanism: <why>`
    (KB412 checks the gate per root cause).

    Bad:

    ```yaml
    status: complete
    reinforcements:
      - id: R1
        kind: eval
        status: open
        eval: {input: "Consumers paused", expected: "Restart consumers"}
    ```

    Good:

    ```yaml
    status: complete
    reinforcements:
      - id: R1
        kind: eval
        owner: ai-platform
        due: 2026-12-01
        status: done
        eval: {input: "Consumers paused", expected: "Restart consumers"}
    ```
    """

    code = "KB405"
    name = "postmortem/complete-needs-reinforcements"
    level = Level.ERROR
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        pm = doc.model
        if pm is None or pm.status != "complete":
            return
        if pm.resolved_at is None:
            yield Finding(doc.path, "status complete needs resolved_at", loc=("resolved_at",))
        excused = bool(pm.root_causes) and all(c.no_mechanism for c in pm.root_causes)
        if not pm.reinforcements and not excused:
            yield Finding(
                doc.path, "status complete needs at least one reinforcement: what changes the system?", loc=("status",)
            )
        elif not any(r.is_mechanism for r in pm.reinforcements) and not excused:
            yield Finding(
                doc.path,
                "status complete needs a mechanism (alert, gate, test, eval or card): tasks track work, "
                "they do not change the system (or say no_mechanism: <why> on each root cause)",
                loc=("status",),
            )
        for index, item in enumerate(pm.reinforcements):
            loc = ("reinforcements", index)
            if item.status == "open":
                yield Finding(
                    doc.path,
                    f"reinforcement {item.id} is still open; complete needs it done or wont_do",
                    loc=loc + ("status",),
                )
            for field in ("owner", "due"):
                if getattr(item, field) is None:
                    yield Finding(doc.path, f"reinforcement {item.id} needs {field}", loc=loc + ("id",))
            if item.alert is not None and item.alert.replay is None and item.status == "done":
                yield Finding(
                    doc.path,
                    f"alert {item.alert.name} needs a replay: the incident as series, proof the rule would have fired",
                    loc=loc + ("alert",),
                )
