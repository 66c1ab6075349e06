"""`kb new`: a new postmortem or card from the KB's templates, with the next free id."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core import yamlio
from kb.core.atomic import write_atomic
from kb.core.gitrepo import commit_on_new_branch, plan_branch, postmortem_numbers_in_git
from kb.core.ids import card_id_problem
from kb.core.locking import kb_lock
from kb.core.paths import inside
from kb.core.slugs import slugify
from kb.core.templating import render
from kb.edit.prefill import apply_fields
from kb.load.knowledge_base import KnowledgeBase

PM_NAME = re.compile(r"^PM-(\d{4})-(\d{3,})")


class NewProblem(Exception):
    pass


@dataclass
class PostmortemRequest:
    title: str
    priority: str
    started_at: dt.datetime
    cards: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    alert: str | None = None
    kind: str = "incident"
    branch: bool = False
    fields: dict[str, Any] = field(default_factory=dict)  # set after the template renders (--from-run)


@dataclass
class Created:
    path: Path
    id: str
    branch: str | None = None
    commit: str | None = None


def parse_timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise NewProblem(
            f"--started-at '{text}' is not an ISO 8601 timestamp (e.g. 2026-11-03T02:17:00+01:00)"
        ) from None
    if value.tzinfo is None:
        raise NewProblem(f"--started-at '{text}' has no UTC offset; write e.g. {text}+00:00")
    return value


def from_alert(kb: KnowledgeBase, alert: str) -> tuple[list[str], str]:
    """The card an alert routes to, and its priority."""
    for doc in kb.cards:
        if doc.model is not None and alert in doc.model.triggers.alerts:
            return [doc.model.id], doc.model.priority
    raise NewProblem(f"no card lists alert {alert} in triggers.alerts (kb route {alert} shows the closest)")


def used_postmortem_numbers(kb: KnowledgeBase, year: int) -> set[int]:
    folder = kb.root / kb.settings.postmortems_dir
    numbers = set()
    if folder.is_dir():
        for path in folder.iterdir():
            match = PM_NAME.match(path.name)
            if match and int(match.group(1)) == year:
                numbers.add(int(match.group(2)))
    for doc in kb.postmortems:
        pm_id = doc.model.id if doc.model else (doc.data or {}).get("id")
        match = PM_NAME.match(pm_id) if isinstance(pm_id, str) else None
        if match and int(match.group(1)) == year:
            numbers.add(int(match.group(2)))
    return numbers | postmortem_numbers_in_git(kb.root, kb.settings.postmortems_dir, year)


def next_postmortem_id(kb: KnowledgeBase, year: int) -> str:
    used = used_postmortem_numbers(kb, year)
    return f"PM-{year}-{(max(used) + 1 if used else 1):03d}"


def _write_new(kb: KnowledgeBase, rel: str, text: str) -> Path:
    target = inside(kb.root, rel)
    if target is None:
        raise NewProblem(f"{rel} would be outside the knowledge base")
    try:
        yamlio.load_mapping(text.encode())  # a template must yield a readable file before it is written
    except yamlio.YamlProblem as problem:
        raise NewProblem(f"the template produced invalid YAML at line {problem.span.line}: {problem.message}") from None
    try:
        write_atomic(target, text, exclusive=True)
    except FileExistsError:
        raise NewProblem(f"{rel} already exists; nothing was overwritten") from None
    return target


def new_postmortem(kb: KnowledgeBase, request: PostmortemRequest, today: dt.date) -> Created:
    slug = slugify(request.title)
    with kb_lock(kb.root):
        pm_id = next_postmortem_id(kb, request.started_at.year)
        branch = f"postmortem/{pm_id}-{slug}"
        plan = plan_branch(kb.root, branch) if request.branch else None
        context = {
            "id": pm_id,
            "title": request.title,
            "priority": request.priority,
            "kind": request.kind,
            "services": request.services,
            "cards": request.cards,
            "started_at": request.started_at.isoformat(),
            "detected_at": request.started_at.isoformat() if request.alert else None,
            "detection_method": "alert" if request.alert else "human",
            "alert": request.alert,
            "today": today.isoformat(),
        }
        text = render(kb.root / kb.settings.templates_dir, "postmortem.yaml.j2", context)
        if request.fields:
            text = apply_fields(text, request.fields)
        path = _write_new(kb, f"{kb.settings.postmortems_dir}/{pm_id}-{slug}.yaml", text)
    created = Created(path, pm_id)
    if plan is not None:
        created.branch = branch
        created.commit = commit_on_new_branch(plan, path, f"docs(postmortem): {pm_id} {request.title}"[:200])
    return created


def new_card(
    kb: KnowledgeBase,
    card_id: str,
    title: str,
    rotation: str,
    priority: str,
    owner: str,
    alerts: list[str],
    services: list[str],
    today: dt.date,
    branch: bool = False,
) -> Created:
    if problem := card_id_problem(card_id):
        raise NewProblem(f"--id {problem}; e.g. {slugify(card_id, 'new-card')}")
    plan = plan_branch(kb.root, f"card/{card_id}") if branch else None
    context = {
        "id": card_id,
        "title": title,
        "rotation": rotation,
        "priority": priority,
        "owner": owner,
        "alerts": alerts,
        "services": services,
        "today": today.isoformat(),
    }
    text = render(kb.root / kb.settings.templates_dir, "card.yaml.j2", context)
    path = _write_new(kb, f"{kb.settings.cards_dir}/{card_id}.yaml", text)
    paths = [path]
    router = route_new_card(kb, card_id, alerts)
    if router is not None:
        paths.append(router)
    created = Created(path, card_id)
    if plan is not None:
        created.branch = f"card/{card_id}"
        created.commit = commit_on_new_branch(plan, paths, f"docs(card): add {card_id}")
    return created


def route_new_card(kb: KnowledgeBase, card_id: str, alerts: list[str]) -> Path | None:
    """Append the card's routing line to the router, so the new card is reachable at once."""
    router = inside(kb.root, kb.settings.router)
    if router is None or not router.is_file():
        return None
    text = router.read_text(encoding="utf-8")
    named = " or ".join(f"`{a}`" for a in alerts)
    situation = f"{named}: TODO describe the situation" if named else "TODO describe the situation"
    line = f"- {situation} → [{card_id}]({kb.settings.cards_dir}/{card_id}.yaml)\n"
    write_atomic(router, text + ("" if text.endswith("\n") or not text else "\n") + line)
    return router
