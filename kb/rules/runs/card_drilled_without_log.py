from kb.analysis.runs import drill_dates, states
from kb.core.diagnostics import Finding, Level
from kb.rules.base import Rule


class DrilledWithoutLog(Rule):
    """A card's `last_drilled` date has no completed drill log behind it.

    Why: "rollback readiness is trained, not declared". `last_drilled` says someone executed
    the card in a drill on that day; the proof is a run log under runs/ written by `kb run
    CARD --drill` that started or ended that day and ended `mitigated`. `kb run --drill` and
    `kb card drilled` set the date only from such a log. A date with no log behind it is a
    claim nobody can check: run the drill, or remove the date.

    Bad:

    ```yaml
    id: queue-stuck
    last_drilled: 2026-11-03   # no completed drill log of queue-stuck on that day
    ```

    Good:

    ```yaml
    id: queue-stuck
    last_drilled: 2026-11-22   # runs/2026-11-22-queue-stuck-1.jsonl: drill, ended mitigated
    ```
    """

    code = "KB811"
    name = "card/drilled-without-log"
    level = Level.WARNING

    def check(self, ctx, options):
        proven: dict[str, set] = {}
        for state in states(ctx.kb):
            if state.start is not None:
                proven.setdefault(state.start.card, set()).update(drill_dates(state))
        for doc in ctx.cards:
            card = doc.model
            if card is None or card.last_drilled is None:
                continue
            if card.last_drilled not in proven.get(card.id, set()):
                days = ", ".join(sorted(d.isoformat() for d in proven.get(card.id, set()))) or "none"
                yield Finding(
                    doc.path,
                    f"last_drilled {card.last_drilled} has no completed drill log under "
                    f"{ctx.settings.runs_dir}/ (drilled on: {days}); run `kb run {card.id} --drill`",
                    loc=("last_drilled",),
                )
