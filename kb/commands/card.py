"""`kb card verified|drilled CARD`: stamp last_verified today, or last_drilled from a drill log.

`last_drilled` is evidence, not a claim (KB811): `kb card drilled` sets it to the day of the
card's latest completed drill log under runs/ (`kb run CARD --drill`, ended mitigated), and
refuses when there is none.
"""

from __future__ import annotations

from pathlib import Path

from kb.analysis.runs import last_drill_date, states
from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.ids import card_id_problem
from kb.edit.stamps import StampProblem, stamp_card
from kb.load.loader import load_kb
from kb.load.runs import integrity_problem

FIELDS = {"verified": "last_verified", "drilled": "last_drilled"}


@verb
def run(what: str, card_id: str, root: Path | None = None) -> int:
    field = FIELDS[what]
    kb = load_kb(kb_root(root))
    day = kb.config.today()
    if what == "drilled":
        if problem := card_id_problem(card_id):
            raise CommandError(problem, 1)
        if card_id not in kb.card_by_id():
            raise CommandError(f"no card {card_id}", 1)
        for state in states(kb):  # a drill log that was edited is no evidence (KB802): restore it first
            if state.start is not None and state.start.card == card_id and (problem := integrity_problem(state.log)):
                raise CommandError(problem, 1)
        drilled = last_drill_date(kb, card_id)
        if drilled is None:
            raise CommandError(
                f"no completed drill log of '{card_id}' under {kb.settings.runs_dir}/: run the drill with "
                f"`kb run {card_id} --drill`, which sets last_drilled when it ends mitigated",
                1,
            )
        day = drilled
    try:
        path, changed = stamp_card(kb, card_id, field, day)
    except StampProblem as exc:
        raise CommandError(str(exc), exc.code) from None
    rel = path.relative_to(kb.root).as_posix()
    echo(f"{rel}: {field} {day.isoformat()}" + ("" if changed else " (already)"))
    return 0
