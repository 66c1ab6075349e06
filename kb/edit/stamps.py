"""Stamps on files kb owns the format of: a reinforcement's status, a card's verified and
drilled dates. Round-trip edits (kb.edit.roundtrip): every other byte stays as it was."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from kb.core.ids import card_id_problem, postmortem_id_problem
from kb.core.locking import file_lock
from kb.core.paths import OutsideKB, confine
from kb.edit.roundtrip import EditProblem, set_values
from kb.load.knowledge_base import KnowledgeBase


class StampProblem(Exception):
    """An edit that cannot be done; `code` 2 when the environment is at fault (a disk, a
    permission, a read-only file system), 1 when the request is."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def set_status(kb: KnowledgeBase, pm_id: str, item_id: str, status: str, why: str | None = None) -> tuple[Path, bool]:
    if problem := postmortem_id_problem(pm_id):
        raise StampProblem(problem)
    doc = kb.postmortem_by_id().get(pm_id)
    if doc is None:
        broken = next((d for d in kb.postmortems if Path(d.path).name.startswith(pm_id + "-")), None)
        if broken is not None:
            doc = broken
        else:
            raise StampProblem(f"no postmortem {pm_id}")
    if doc.model is None:
        problems = [f for findings in kb.load_findings.values() for f in findings if f.path == doc.path]
        first = problems[0] if problems else None
        where = (
            f"{doc.path}:{first.span.line}:{first.span.column}: {first.message}" if first and first.span else doc.path
        )
        raise StampProblem(f"cannot edit a file that does not load: {where} (kb check {doc.path})")
    for index, item in enumerate(doc.model.reinforcements):  # noqa: B007 - index is used after the loop
        if item.id == item_id:
            break
    else:
        known = ", ".join(r.id for r in doc.model.reinforcements) or "none"
        raise StampProblem(f"{pm_id} has no reinforcement {item_id} (it has: {known})")
    if sum(1 for r in doc.model.reinforcements if r.id == item_id) > 1:
        raise StampProblem(
            f"{pm_id} has more than one reinforcement {item_id}: give each its own id first (kb check {doc.path})"
        )
    if status == "wont_do" and not (why or item.why):
        raise StampProblem("wont_do needs --why: say why this will not be done")
    updates = [(("reinforcements", index, "status"), status)]
    if why:
        updates.append((("reinforcements", index, "why"), why))
    return _edit(kb, doc.path, updates)


def _edit(kb: KnowledgeBase, rel: str, updates: list) -> tuple[Path, bool]:
    """The round-trip edit of `rel`, confined to the KB and under the file's lock, so that two
    edits at once both land: the file is read again inside the lock."""
    try:
        path = confine(kb.root, rel)
        with file_lock(kb.root, rel):
            return path, set_values(path, updates)
    except EditProblem as exc:
        raise StampProblem(str(exc)) from None
    except OutsideKB as exc:
        raise StampProblem(f"{exc}; kb edits only files inside the knowledge base") from None
    except OSError as exc:
        raise StampProblem(f"{_where(kb.root, exc, rel)}: {exc.strerror or exc}; nothing was changed", 2) from None


def _where(root: Path, exc: OSError, rel: str) -> str:
    """The path an OSError names (the lock folder, the file), relative to the KB when inside it."""
    if not exc.filename:
        return rel
    named = os.fspath(exc.filename)
    try:
        return Path(named).relative_to(root).as_posix()
    except ValueError:
        return str(named)


def stamp_card(kb: KnowledgeBase, card_id: str, field: str, day: dt.date) -> tuple[Path, bool]:
    if problem := card_id_problem(card_id):
        raise StampProblem(problem)
    doc = kb.card_by_id().get(card_id)
    if doc is None:
        raise StampProblem(f"no card {card_id}")
    return _edit(kb, doc.path, [((field,), day)])
