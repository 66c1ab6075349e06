"""`kb card verified|drilled CARD`: stamp last_verified or last_drilled today, in place."""

from __future__ import annotations

from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.edit.stamps import StampProblem, stamp_card
from kb.load.loader import load_kb

FIELDS = {"verified": "last_verified", "drilled": "last_drilled"}


@verb
def run(what: str, card_id: str, root: Path | None = None) -> int:
    field = FIELDS[what]
    kb = load_kb(kb_root(root))
    today = kb.config.today()
    try:
        path, changed = stamp_card(kb, card_id, field, today)
    except StampProblem as exc:
        raise CommandError(str(exc), 1) from None
    rel = path.relative_to(kb.root).as_posix()
    echo(f"{rel}: {field} {today.isoformat()}" + ("" if changed else " (already)"))
    return 0
