"""Open reinforcements across all postmortems: who owes what, and how late."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from kb.load.knowledge_base import KnowledgeBase


@dataclass
class Followup:
    owner: str
    postmortem: str
    id: str
    kind: str
    title: str
    due: str | None
    days_overdue: int
    path: str
    status: str = "open"
    why: str | None = None  # the reason given for wont_do (and any note on the others)

    def as_dict(self) -> dict:
        return asdict(self)


def _describe(item) -> str:
    payload = getattr(item, item.kind)
    for field in ("name", "summary", "input", "change", "description"):
        value = getattr(payload, field, None)
        if value:
            return str(value)
    return item.kind


def open_followups(kb: KnowledgeBase, today: dt.date) -> list[Followup]:
    return followups(kb, today, ("open",))


def followups(kb: KnowledgeBase, today: dt.date, statuses: tuple[str, ...] = ("open",)) -> list[Followup]:
    """Reinforcements with one of `statuses` (open, wont_do, done) across all postmortems."""
    found = []
    for doc in kb.postmortems:
        if doc.model is None:
            continue
        for item in doc.model.reinforcements:
            if item.status not in statuses:
                continue
            late = item.status == "open" and item.due and item.due < today
            overdue = (today - item.due).days if late and item.due else 0
            found.append(
                Followup(
                    item.owner or "(no owner)",
                    doc.model.id,
                    item.id,
                    item.kind,
                    _describe(item),
                    item.due.isoformat() if item.due else None,
                    overdue,
                    doc.path,
                    item.status,
                    item.why,
                )
            )
    return found


SORTS = {
    "owner": lambda f: (f.owner, f.due or "9999", f.postmortem, f.id),
    "due": lambda f: (f.due or "9999", f.owner, f.postmortem, f.id),
    "overdue": lambda f: (-f.days_overdue, f.due or "9999", f.owner, f.postmortem, f.id),
    "postmortem": lambda f: (f.postmortem, f.id),
}
