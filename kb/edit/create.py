"""`kb new`: a new postmortem or card from the KB's templates, with the next free id."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core import safefile, yamlio
from kb.core.atomic import write_atomic
from kb.core.gitrepo import commit_on_new_branch, plan_branch, postmortem_numbers_in_git
from kb.core.ids import card_id_problem
from kb.core.locking import file_lock, kb_lock
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
    started_at: dt.datetime | dt.date  # a date where only the day is known
    cards: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    alert: str | None = None
    kind: str = "incident"
    branch: bool = False
    # fields read from elsewhere (a trace, a run log): top-level keys of the postmortem; a
    # mapping is merged into the template's mapping, anything else replaces the value
    prefill: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # set after the template renders (--from-run)


@dataclass
class Created:
    path: Path
    id: str
    branch: str | None = None
    commit: str | None = None


DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
WITH_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def parse_timestamp(text: str, flag: str = "--started-at") -> dt.datetime | dt.date:
    """A timestamp with its offset, or a date (YYYY-MM-DD) when only the day is known."""
    cleaned = text.strip()
    if DATE_ONLY.match(cleaned):
        try:
            return dt.date.fromisoformat(cleaned)
        except ValueError:
            raise NewProblem(f"{flag} '{text}' is not a valid date (YYYY-MM-DD)") from None
    if not WITH_TIME.match(cleaned):  # `2025-08-05+00:00`: a date with an offset is neither
        raise NewProblem(
            f"{flag} '{text}' is neither a timestamp with a time and an offset (e.g. 2026-11-03T02:17:00+01:00) "
            f"nor a date alone (e.g. {cleaned[:10] if DATE_ONLY.match(cleaned[:10]) else '2026-11-03'}, "
            "when only the day is known)"
        )
    try:
        value = dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise NewProblem(
            f"{flag} '{text}' is not an ISO 8601 timestamp with an offset (e.g. 2026-11-03T02:17:00+01:00) "
            "nor a date (e.g. 2026-11-03, when only the day is known)"
        ) from None
    if value.tzinfo is None:
        raise NewProblem(
            f"{flag} '{text}' has no UTC offset; write the offset of the clock it was read from, e.g. "
            f"{value.isoformat()}+00:00 for UTC, or only the date ({value.date().isoformat()}) if the time is unknown"
        )
    return value


def from_alert(kb: KnowledgeBase, alert: str) -> tuple[list[str], str]:
    """The card an alert routes to, and its priority; two cards listing it is no answer (KB530)."""
    found = [doc.model for doc in kb.cards if doc.model is not None and alert in doc.model.triggers.alerts]
    if len(found) > 1:
        names = ", ".join(sorted(card.id for card in found))
        raise NewProblem(f"alert {alert} is listed by {len(found)} cards ({names}); pick with --card (kb check: KB530)")
    if found:
        return [found[0].id], found[0].priority
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


def _checked_new(kb: KnowledgeBase, rel: str, text: str) -> Path:
    """Where a new file goes, after checking it is inside the KB, yields readable YAML and
    would overwrite nothing."""
    target = inside(kb.root, rel)
    if target is None:
        raise NewProblem(f"{rel} would be outside the knowledge base")
    try:
        yamlio.load_mapping(text.encode())  # a template must yield a readable file before it is written
    except yamlio.YamlProblem as problem:
        raise NewProblem(f"the template produced invalid YAML at line {problem.span.line}: {problem.message}") from None
    if os.path.lexists(target):
        raise NewProblem(f"{rel} already exists; nothing was overwritten")
    return target


def _write_new(kb: KnowledgeBase, rel: str, text: str) -> Path:
    target = _checked_new(kb, rel, text)
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
        text = render(kb.root / kb.settings.templates_dir, "postmortem.yaml.j2", context, kb.root)
        if request.prefill:
            text = apply_prefill(text, request.prefill)
        if request.fields:
            text = apply_fields(text, request.fields)
        rel = f"{kb.settings.postmortems_dir}/{pm_id}-{slug}.yaml"
        if plan is None:
            return Created(_write_new(kb, rel, text), pm_id)
        # under the lock until the branch exists, so the next `kb new` sees this id on it
        created = Created(_checked_new(kb, rel, text), pm_id, branch=branch)
        message = f"docs(postmortem): {pm_id} {request.title}"[:200]
        created.commit = commit_on_new_branch(plan, kb.root, message, {rel: text.encode("utf-8")})
    return created


def _plain(value: Any) -> Any:
    """Values as YAML writes them for kb: timestamps as ISO 8601 text with their offset."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def apply_prefill(text: str, prefill: dict[str, Any]) -> str:
    """The rendered template with prefilled fields set, its comments kept. A mapping merges
    into the template's (a None value removes the key: `why_not` once involved is true)."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from kb.edit.roundtrip import private_representers

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    private_representers(  # the template's `null` stays written, not an empty value
        yaml, {type(None): lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")}
    )
    try:
        data = yaml.load(text)
    except Exception as exc:  # noqa: BLE001 - any ruamel failure: the template, not the prefill, is at fault
        raise NewProblem(f"the postmortem template cannot be prefilled: {exc}") from None
    if not isinstance(data, CommentedMap):
        raise NewProblem("the postmortem template does not produce a mapping")
    for key, value in prefill.items():
        value = _plain(value)
        current = data.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            for inner, item in value.items():
                if item is None:
                    current.pop(inner, None)
                elif isinstance(item, dict) and isinstance(current.get(inner), dict):
                    current[inner].update({k: v for k, v in item.items()})
                else:
                    current[inner] = item
        elif key in data:
            data[key] = value
        else:  # a new block (telemetry) goes after the row it belongs with
            keys = list(data)
            anchor = keys.index("model_inference") + 1 if "model_inference" in keys else len(keys)
            data.insert(anchor, key, value)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


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
    for doc in kb.cards:  # an alert pages to one card (KB530): a second card for it is refused, not written
        if doc.model is None:
            continue
        taken = [a for a in alerts if a in doc.model.triggers.alerts]
        if taken:
            raise NewProblem(
                f"alert {taken[0]} is already listed by card {doc.model.id} ({doc.path}): an alert pages to one "
                "card; change that card, or give this one its own alert"
            )
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
    text = render(kb.root / kb.settings.templates_dir, "card.yaml.j2", context, kb.root)
    rel = f"{kb.settings.cards_dir}/{card_id}.yaml"
    if plan is None:
        path = _write_new(kb, rel, text)
        route_new_card(kb, card_id, alerts)
        return Created(path, card_id)
    # a transaction: nothing is written in the working tree before the branch exists
    created = Created(_checked_new(kb, rel, text), card_id, branch=f"card/{card_id}")
    routed = router_line(kb, card_id, alerts)
    appends = {kb.settings.router: routed[1]} if routed is not None else {}
    created.commit = commit_on_new_branch(
        plan, kb.root, f"docs(card): add {card_id}", {rel: text.encode("utf-8")}, appends
    )
    return created


def _appended(text: str, line: str) -> str:
    return text + ("" if text.endswith("\n") or not text else "\n") + line


def router_line(kb: KnowledgeBase, card_id: str, alerts: list[str]) -> tuple[Path, str] | None:
    """The router and the routing line of a new card, or None when the KB has no router."""
    router = inside(kb.root, kb.settings.router)
    if router is None or not router.is_file():
        return None
    named = " or ".join(f"`{a}`" for a in alerts)
    situation = f"{named}: TODO describe the situation" if named else "TODO describe the situation"
    return router, f"- {situation} → [{card_id}]({kb.settings.cards_dir}/{card_id}.yaml)\n"


def route_new_card(kb: KnowledgeBase, card_id: str, alerts: list[str]) -> tuple[Path, str] | None:
    """Append the card's routing line to the router, so the new card is reachable at once;
    the router and the line."""
    routed = router_line(kb, card_id, alerts)
    if routed is None:
        return None
    router, line = routed
    with file_lock(kb.root, kb.settings.router):  # read, append, write: no other writer in between
        text = safefile.read_text(router)
        write_atomic(router, _appended(text, line))
    return router, line
