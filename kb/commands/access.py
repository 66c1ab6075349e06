"""`kb access`: who can execute which card, explained step by step, for people and machines.

Each view is built as data first (what `--format json` prints), then rendered as text."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.analysis.access import AccessModel, CardAccess, describe_hours
from kb.analysis.paging import PagingModel, at_moment, describe_shift
from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.text import neutral
from kb.load.knowledge_base import KnowledgeBase
from kb.load.loader import links_outside, load_document, load_kb
from kb.load.secrets import REDACTED, scan
from kb.model import Card, Oncall

MARKS = {"executable": "ok", "blocked": "blocked", "blocked at night": "night", "no rotation": "-"}


class AccessError(Exception):
    pass


def paging_of(kb: KnowledgeBase, today: dt.date | None = None) -> PagingModel:
    """The access model with memberships from their sources (they win over people.groups) and
    the rotations' schedules, read from `today` (default: the KB's today) on."""
    if kb.oncall is None or kb.oncall.model is None:
        raise AccessError(f"{kb.settings.oncall} is missing or invalid; run `kb check` for the details")
    cards = [doc.model for doc in kb.cards if doc.model is not None]
    return PagingModel(kb.root, kb.oncall.model, cards, kb.settings.business_hours, today or kb.config.today())


def model_of(kb: KnowledgeBase) -> AccessModel:
    return paging_of(kb).access


@dataclass
class WarmCard:
    """One card's access question read from the warm card index: the KB with oncall.yaml and
    the card files that can hold the id, the index (open), those files with their stats, and
    the stats of the other files read, taken before reading them."""

    kb: KnowledgeBase
    index: Any
    candidates: list[tuple[str, str | None]]
    deps: list[tuple[str, str | None]]


def card_kb(root: Path, card_id: str, index: Any = None) -> WarmCard | None:
    """What `kb access CARD` reads, without the rest of the KB: the settings, oncall.yaml, its
    membership exports and the card files that can hold `card_id` (kb.route.index: those whose
    id says so, and any whose id it could not read), in the loader's order, read by the
    loader. None when the index cannot say; then the caller loads the whole KB. `index`: the
    warm index of this KB already open and current (kb.route.index.kept_answer), else opened here."""
    from kb.config.mkdocs import CONFIG_FILE, read_paths
    from kb.config.settings import load_config
    from kb.route.index import dependency_keys, open_index

    deps = dependency_keys(root, [CONFIG_FILE])
    config = load_config(root)
    paths = read_paths(root)
    norm = lambda folder: os.path.normpath(folder).replace(os.sep, "/")
    if norm(paths.cards_dir) != norm(config.settings.cards_dir):
        return None  # an invalid setting: the index and the loader would read different folders
    if index is None:
        index = open_index(paths)
    if index is None:
        return None
    candidates = index.candidates(card_id)
    oncall = norm(config.settings.oncall)
    deps += dependency_keys(root, [oncall])
    kb = KnowledgeBase(config)
    kb.cards = [load_document(kb, rel, Card) for rel, _ in candidates]
    if os.path.lexists(root / oncall) and not links_outside(root, [oncall]):
        kb.oncall = load_document(kb, oncall, Oncall)
    if kb.oncall is not None and kb.oncall.model is not None:
        sources = {g.members_from.partition("#")[0] for g in kb.oncall.model.groups.values() if g.members_from}
        deps += dependency_keys(root, sorted(sources))
    return WarmCard(kb, index, candidates, deps)


def parse_at(text: str) -> dt.datetime:
    """An ISO 8601 timestamp with its offset, or `now`; anything else fails closed."""
    if not text.strip():
        raise AccessError("--at needs a time: an ISO 8601 timestamp with its offset, or 'now' (or use --now)")
    if text.strip().lower() == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise AccessError(f"--at '{text}' is not an ISO 8601 timestamp (e.g. 2026-12-05T02:17:00+01:00)") from None
    if moment.tzinfo is None:
        raise AccessError(f"--at '{text}' has no offset; say which timezone (e.g. {text}+01:00, or Z for UTC)")
    try:  # the schedule is read from the day before to a year after: both must be dates
        moment.astimezone(dt.UTC) - dt.timedelta(days=2) + dt.timedelta(days=800)
    except OverflowError:
        raise AccessError(f"--at '{text}' is outside the range of dates kb can read a schedule for") from None
    return moment


def on_call(kb: KnowledgeBase, at: str, only: str | None = None) -> dict[str, Any]:
    """Per rotation (or the one named `only`): who is on call at that minute and which of its
    cards they can execute."""
    moment = parse_at(at)
    # from the day before: an all-day shift west of UTC ends on a date that is already over in
    # UTC (a shift to 2026-12-10 in Los Angeles still pages at 2026-12-10T07:59Z)
    paging = paging_of(kb, (moment.astimezone(dt.UTC) - dt.timedelta(days=1)).date())
    problems = {
        name: schedule.schedule.problem for name, schedule in paging.rotations.items() if schedule.schedule.problem
    }
    if only is not None and only not in paging.oncall.rotations:
        raise AccessError(f"no rotation '{only}' in {kb.settings.oncall}")
    rotations = []
    for verdict in at_moment(paging, int(moment.timestamp())):
        if only is not None and verdict.rotation != only:
            continue
        shift = verdict.shift
        rotations.append(
            {
                "rotation": verdict.rotation,
                "source": verdict.source,
                "schedule": paging.oncall.rotations[verdict.rotation].schedule,
                "schedule_problem": problems.get(verdict.rotation),
                "shift": describe_shift(shift) if shift else None,
                "on_call": list(verdict.people),
                "cards": [
                    {"card": card, "can_execute": not missing, "missing": missing}
                    for card, missing in sorted(verdict.cards.items())
                ],
            }
        )
    return {"at": moment.isoformat(), "rotations": rotations}


def render_on_call(data: dict[str, Any]) -> str:
    lines = [f"On call at {data['at']}:"]
    for rotation in data["rotations"]:
        lines.append("")
        if rotation["schedule_problem"]:
            lines.append(f"{rotation['rotation']}: SCHEDULE UNREADABLE: {rotation['schedule_problem']}")
            continue
        if rotation["source"] == "schedule":
            who = ", ".join(rotation["on_call"]) or "NOBODY"
            shift = f" (shift {rotation['shift']})" if rotation["shift"] else ""
            lines.append(f"{rotation['rotation']}: {who}{shift} from {rotation['schedule']}")
        else:
            who = ", ".join(rotation["on_call"]) or "nobody (outside business hours)"
            lines.append(f"{rotation['rotation']}: {who} (no schedule: the members, as oncall.yaml declares them)")
        if not rotation["cards"]:
            lines.append("  no card names this rotation")
        for card in rotation["cards"]:
            if card["can_execute"]:
                lines.append(f"  {card['card']}: can execute")
                continue
            lines.append(f"  {card['card']}: CANNOT execute")
            for item in card["missing"]:
                if "problem" in item:
                    lines.append(f"    {item['problem']}")
                elif "approval" in item:
                    reachable = ", ".join(item["reachable"]) or "nobody"
                    lines.append(
                        f"    step '{item['step']}': no {item['approval']} approver reachable (reachable: {reachable})"
                    )
                else:
                    lines.append(
                        f"    step '{item['step']}': {item['person']} lacks {item['permission']} ({item['holds']}); "
                        f"request: {item['request'] or 'not in the permissions catalogue'}"
                    )
    return "\n".join(lines) + "\n"


def _cards(kb: KnowledgeBase):
    return sorted((doc.model for doc in kb.cards if doc.model is not None), key=lambda card: card.id)


def matrix(kb: KnowledgeBase) -> dict[str, Any]:
    """Every card against every rotation: executable, blocked, or blocked at night."""
    access = model_of(kb)
    rotations = sorted(access.oncall.rotations)
    rows = []
    for card in _cards(kb):
        cells = {name: access.evaluate(card, name).verdict for name in rotations}
        rows.append(
            {
                "card": card.id,
                "rotation": card.rotation,
                "verdict": cells.get(card.rotation, "no rotation"),
                "rotations": cells,
            }
        )
    return {"rotations": rotations, "cards": rows}


def render_matrix(data: dict[str, Any]) -> str:
    rotations = data["rotations"]
    card_width = max([len("card")] + [len(r["card"]) for r in data["cards"]])
    widths = [max(len(name), 9) for name in rotations]
    lines = ["  ".join(["card".ljust(card_width)] + [n.ljust(w) for n, w in zip(rotations, widths)]).rstrip()]
    for row in data["cards"]:
        cells = []
        for name, width in zip(rotations, widths):
            mark = MARKS[row["rotations"][name]]
            cells.append((f"[{mark}]" if name == row["rotation"] else mark).ljust(width))
        lines.append("  ".join([row["card"].ljust(card_width)] + cells).rstrip())
    blocked = [r for r in data["cards"] if r["verdict"] != "executable"]
    lines.append("")
    lines.append(
        "[x] the card's own rotation; ok: every member holds every permission at every covered hour; "
        "night: some permission only in business hours; blocked: some member lacks one."
    )
    lines.append(
        f"{len(data['cards']) - len(blocked)} of {len(data['cards'])} cards are executable by their rotation."
        + (f" Not: {', '.join(r['card'] for r in blocked)}." if blocked else "")
    )
    return "\n".join(lines) + "\n"


def _member_detail(access: AccessModel, member: str, permission: str, hours: str | None) -> dict[str, Any]:
    person = access.oncall.people.get(member)
    via = sorted(g for g in (person.groups if person else []) if g in access.index.groups_granting(permission))
    return {
        "member": member,
        "holds": hours is not None,
        "hours": hours,
        "via": via,
        "kind": person.kind if person else None,
    }


def explain_card(kb: KnowledgeBase, card_id: str, rotation: str | None = None) -> dict[str, Any]:
    holders = sorted(doc.path for doc in kb.cards if doc.model is not None and doc.model.id == card_id)
    if len(holders) > 1:  # two files, two answers: naming one would be a guess
        raise AccessError(f"card id '{card_id}' is used by {', '.join(holders)}; give each card its own id (KB121)")
    access = model_of(kb)
    cards = {card.id: card for card in _cards(kb)}
    if card_id not in cards:
        raise AccessError(f"no card '{card_id}'")
    result: CardAccess = access.evaluate(cards[card_id], rotation)
    if result.rotation is None:
        raise AccessError(f"rotation '{result.rotation_name}' is not in {kb.settings.oncall}")
    steps = []
    for step in result.steps:
        permissions = []
        for perm in step.permissions:
            permissions.append(
                {
                    "permission": perm.permission,
                    "in_catalogue": perm.known,
                    "request": perm.request,
                    "members": [_member_detail(access, m.name, perm.permission, m.hours) for m in perm.members],
                    "holders": access.index.holders(perm.permission),
                    "lacking": perm.lacking,
                    "business_hours_only": perm.business_only(result.rotation.coverage),
                }
            )
        approvers = (
            access.approvers(result.rotation_name, step.step.approval)
            if step.step.approval not in (None, "none")
            else []
        )
        steps.append(
            {
                "section": step.field,
                "number": step.index + 1,
                "id": step.step.id,
                "do": step.step.do,
                "irreversible": step.step.irreversible,
                "approval": step.step.approval,
                "approvers": approvers,
                "verdict": step.verdict(result.rotation.coverage),
                "permissions": permissions,
            }
        )
    return {
        "card": card_id,
        "rotation": result.rotation_name,
        "coverage": result.rotation.coverage,
        "members": result.rotation.members,
        "escalation": access.escalation_chain(result.rotation_name)[1:],
        "business_hours": describe_hours(kb.settings.business_hours),
        "verdict": result.verdict,
        "steps": steps,
    }


def render_card(data: dict[str, Any]) -> str:
    lines = [
        f"{data['card']}: {data['verdict'].upper()} by rotation {data['rotation']} "
        f"({data['coverage']}: {', '.join(data['members'])})",
    ]
    if data["escalation"]:
        lines.append(f"escalates to: {' -> '.join(data['escalation'])}")
    section = None
    for step in data["steps"]:
        if step["section"] != section:
            section = step["section"]
            lines.append("")
            lines.append("Rollback:" if section == "rollback" else "Steps:")
        flags = " [irreversible]" if step["irreversible"] else ""
        lines.append(f"  {step['number']}. {step['id']}: {step['do']}{flags}  -> {step['verdict']}")
        if not step["permissions"]:
            lines.append("       needs no permission")
        for perm in step["permissions"]:
            holders = []
            for m in perm["members"]:
                if not m["holds"]:
                    holders.append(f"{m['member']} NO")
                elif m["hours"] == "business":
                    holders.append(f"{m['member']} business hours only ({', '.join(m['via'])})")
                else:
                    holders.append(f"{m['member']} yes ({', '.join(m['via'])})")
            lines.append(f"       {perm['permission']}: {'; '.join(holders)}")
            if perm["lacking"] or perm["business_hours_only"]:
                lines.append(f"         held by: {', '.join(perm['holders']) or 'nobody'}")
                lines.append(f"         request: {perm['request'] or 'not in the permissions catalogue'}")
            if not perm["in_catalogue"]:
                lines.append("         (not in the permissions catalogue)")
        if step["approval"] not in (None, "none"):
            who = ", ".join(step["approvers"]) or "NOBODY reachable"
            lines.append(f"       approval {step['approval']}: {who}")
    return "\n".join(lines) + "\n"


def explain_person(kb: KnowledgeBase, name: str) -> dict[str, Any]:
    access = model_of(kb)
    person = access.oncall.people.get(name)
    if person is None:
        raise AccessError(f"no person '{name}' in {kb.settings.oncall}")
    rotations = sorted(r for r, rot in access.oncall.rotations.items() if name in rot.members)
    cards = []
    for card in _cards(kb):
        if card.rotation not in rotations:
            continue
        result = access.evaluate(card)
        missing = []
        for step in result.steps:
            for perm in step.permissions:
                member = next(m for m in perm.members if m.name == name)
                coverage = result.rotation.coverage if result.rotation else None
                if member.hours is None or (member.hours == "business" and coverage == "24x7"):
                    missing.append(
                        {
                            "step": step.step.id,
                            "section": step.field,
                            "permission": perm.permission,
                            "hours": member.hours,
                            "request": perm.request,
                            "holders": access.index.holders(perm.permission),
                        }
                    )
        cards.append(
            {"card": card.id, "rotation": card.rotation, "can_run_every_step": not missing, "missing": missing}
        )
    return {
        "person": name,
        "kind": person.kind,
        "timezone": person.timezone,
        "groups": person.groups,
        "rotations": rotations,
        "cards": cards,
    }


def render_person(data: dict[str, Any]) -> str:
    lines = [
        f"{data['person']} ({data['kind']}, {data['timezone']}); groups: {', '.join(data['groups']) or 'none'}; "
        f"rotations: {', '.join(data['rotations']) or 'none'}"
    ]
    if not data["cards"]:
        lines.append("No card is executed by a rotation this person is on.")
    for card in data["cards"]:
        if card["can_run_every_step"]:
            lines.append(f"  {card['card']} ({card['rotation']}): can run every step")
            continue
        lines.append(f"  {card['card']} ({card['rotation']}): CANNOT run every step")
        for item in card["missing"]:
            when = "only in business hours" if item["hours"] == "business" else "lacks"
            lines.append(
                f"    {item['section']} '{item['step']}': {when} {item['permission']} "
                f"(held by {', '.join(item['holders']) or 'nobody'}; request: {item['request'] or 'n/a'})"
            )
    return "\n".join(lines) + "\n"


@verb
def run(
    card: str | None = None,
    person: str | None = None,
    rotation: str | None = None,
    output_format: str = "text",
    root: Path | None = None,
    at: str | None = None,
    now: bool = False,
    index: Any = None,
) -> int:
    """`index`: the warm card index already open (kb.commands.fast_path); this closes it."""
    try:
        return _run(card, person, rotation, output_format, root, at, now, index)
    finally:
        if index is not None:
            index.close()  # closing twice is harmless


def _run(card, person, rotation, output_format: str, root, at, now: bool, index: Any) -> int:
    if output_format not in ("text", "json"):
        raise CommandError("--format is text or json")
    if now and at is not None:
        raise CommandError("--now is --at now: give one of them")
    if now:
        at = "now"
    if at is not None and (card or person):
        raise CommandError("--at and --now show the rotations at one minute; they take no CARD or --person")
    if rotation is not None and at is None and not card:
        # the matrix and --person cover every rotation: an ignored --rotation is a wrong answer
        raise CommandError("--rotation applies to a CARD or to --at/--now")
    base = kb_root(root)
    # one card's access needs oncall.yaml and that card, not 100,000 cards loaded and validated
    warm = card_kb(base, card, index) if card and not person and at is None else None
    try:
        return _answer(base, warm.kb if warm else load_kb(base), card, person, rotation, output_format, at, warm)
    finally:
        if warm is not None:
            warm.index.close()


def _answer(
    base: Path,
    kb: KnowledgeBase,
    card: str | None,
    person: str | None,
    rotation: str | None,
    output_format: str,
    at: str | None,
    warm: WarmCard | None,
) -> int:
    try:
        if at is not None:
            data, render = on_call(kb, at, rotation), render_on_call
        elif person:
            data, render = explain_person(kb, person), render_person
        elif card:
            data, render = explain_card(kb, card, rotation), render_card
        else:
            data, render = matrix(kb), render_matrix
    except AccessError as exc:
        raise CommandError(str(exc), 1) from None
    # no value can start a line or drive the terminal; no credential quoted from an export is shown
    output = json.dumps(data, indent=2) + "\n" if output_format == "json" else render(neutral(data))
    output = _without_secrets(output)
    if warm is not None and card is not None and _keepable(base):
        from kb.route.index import answer_key

        key = answer_key(["access", card, rotation, output_format], warm.candidates)
        if key is not None:
            warm.index.keep_answer(key, warm.deps, output)
    echo(output, nl=False)
    return 0


def _keepable(base: Path) -> bool:
    from kb.route.index import answers_keepable

    return answers_keepable(base)


def _without_secrets(output: str) -> str:
    """The view quotes schedules and membership exports (a shift's SUMMARY, a problem's text),
    and a bot posts it to a channel: a credential in them is replaced by value, as in check output."""
    for hit in scan(output, "output.txt"):
        output = output.replace(hit.value, REDACTED)
    return output
