"""Open reinforcements across all postmortems, and closing them in place."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.edit import EditProblem, set_values
from kb.ids import card_id_problem, postmortem_id_problem
from kb.kbase import KnowledgeBase


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

    def as_dict(self) -> dict:
        return asdict(self)


def _describe(item) -> str:
    payload = getattr(item, item.kind)
    for field in ("name", "summary", "input", "change"):
        value = getattr(payload, field, None)
        if value:
            return str(value)
    return item.kind


def open_followups(kb: KnowledgeBase, today: dt.date) -> list[Followup]:
    found = []
    for doc in kb.postmortems:
        if doc.model is None:
            continue
        for item in doc.model.reinforcements:
            if item.status != "open":
                continue
            overdue = (today - item.due).days if item.due and item.due < today else 0
            found.append(Followup(item.owner or "(no owner)", doc.model.id, item.id, item.kind, _describe(item),
                                  item.due.isoformat() if item.due else None, overdue, doc.path))
    return found


SORTS = {
    "owner": lambda f: (f.owner, f.due or "9999", f.postmortem, f.id),
    "due": lambda f: (f.due or "9999", f.owner, f.postmortem, f.id),
    "overdue": lambda f: (-f.days_overdue, f.due or "9999", f.owner, f.postmortem, f.id),
    "postmortem": lambda f: (f.postmortem, f.id),
}


def render_followups(items: list[Followup]) -> str:
    if not items:
        return "No open follow-ups.\n"
    lines = []
    owner = None
    for item in items:
        if item.owner != owner:
            owner = item.owner
            lines.append(f"{owner}:")
        late = f"  OVERDUE {item.days_overdue}d" if item.days_overdue else ""
        lines.append(f"  {item.postmortem} {item.id:<4} {item.kind:<6} due {item.due or 'never':<10}{late}  {item.title}")
    overdue = sum(1 for i in items if i.days_overdue)
    lines.append(f"{len(items)} open follow-up{'s' if len(items) != 1 else ''}, {overdue} overdue.")
    return "\n".join(lines) + "\n"


class FollowupProblem(Exception):
    pass


def set_status(kb: KnowledgeBase, pm_id: str, item_id: str, status: str, why: str | None = None) -> tuple[Path, bool]:
    if problem := postmortem_id_problem(pm_id):
        raise FollowupProblem(problem)
    doc = kb.postmortem_by_id().get(pm_id)
    if doc is None:
        broken = next((d for d in kb.postmortems if Path(d.path).name.startswith(pm_id + "-")), None)
        if broken is not None:
            doc = broken
        else:
            raise FollowupProblem(f"no postmortem {pm_id}")
    if doc.model is None:
        problems = [f for findings in kb.load_findings.values() for f in findings if f.path == doc.path]
        first = problems[0] if problems else None
        where = f"{doc.path}:{first.span.line}:{first.span.column}: {first.message}" if first and first.span else doc.path
        raise FollowupProblem(f"cannot edit a file that does not load: {where} (kb check {doc.path})")
    for index, item in enumerate(doc.model.reinforcements):
        if item.id == item_id:
            break
    else:
        known = ", ".join(r.id for r in doc.model.reinforcements) or "none"
        raise FollowupProblem(f"{pm_id} has no reinforcement {item_id} (it has: {known})")
    if status == "wont_do" and not (why or item.why):
        raise FollowupProblem("wont_do needs --why: say why this will not be done")
    updates = [(("reinforcements", index, "status"), status)]
    if why:
        updates.append((("reinforcements", index, "why"), why))
    path = kb.root / doc.path
    try:
        return path, set_values(path, updates)
    except EditProblem as exc:
        raise FollowupProblem(str(exc)) from None


def stamp_card(kb: KnowledgeBase, card_id: str, field: str, day: dt.date) -> tuple[Path, bool]:
    if problem := card_id_problem(card_id):
        raise FollowupProblem(problem)
    doc = kb.card_by_id().get(card_id)
    if doc is None:
        raise FollowupProblem(f"no card {card_id}")
    path = kb.root / doc.path
    try:
        return path, set_values(path, [((field,), day)])
    except EditProblem as exc:
        raise FollowupProblem(str(exc)) from None
