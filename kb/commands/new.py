"""`kb new postmortem|card`: a new file from the KB's templates, with the next free id."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from kb.analysis.from_run import FromRunProblem
from kb.analysis.from_run import prefill as from_run_prefill
from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.gitrepo import GitProblem
from kb.core.slugs import slugify
from kb.core.templating import TemplateProblem
from kb.edit import create
from kb.load.loader import load_kb

PRIORITIES = ("P1", "P2", "P3")


def ask(missing: dict[str, str], values: dict[str, object]) -> None:
    """Prompt for missing values on a terminal; elsewhere refuse, naming the flags."""
    absent = [name for name in missing if not values.get(name)]
    if not absent:
        return
    if not sys.stdin.isatty():
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in absent)
        raise CommandError(f"missing {flags} (not on a terminal, so kb cannot ask)")
    import typer  # the prompt a terminal user sees; only on a terminal

    for name in absent:
        values[name] = typer.prompt(missing[name])


def _priority(value: object) -> str:
    chosen = str(value).strip().upper()
    if chosen not in PRIORITIES:
        raise CommandError(f"--priority must be P1, P2 or P3, not '{value}'")
    return chosen


def _report(root: Path, created: create.Created) -> None:
    rel = created.path.relative_to(root).as_posix()
    echo(f"created {rel} ({created.id})")
    if created.branch:
        echo(f"on branch {created.branch}, commit {(created.commit or '')[:12]}")
    echo(f"next: fill the TODOs, then `kb check {rel}`")


@verb
def postmortem(
    title: str | None = None,
    priority: str | None = None,
    card: list[str] | None = None,
    service: list[str] | None = None,
    alert: str | None = None,
    started_at: str | None = None,
    from_alert: str | None = None,
    near_miss: bool = False,
    branch: bool = False,
    root: Path | None = None,
    from_run: Path | None = None,
) -> int:
    kb = load_kb(kb_root(root))
    try:
        cards, alert_priority = create.from_alert(kb, from_alert) if from_alert else (list(card or []), None)
        run, fields = (from_run_prefill(kb, from_run) if from_run else None), {}
        if run is not None:
            fields = run.fields(started_at=started_at is None)
            cards = cards + ([run.card] if run.card not in cards else [])
            title, alert_priority = title or run.title, alert_priority or run.priority
            service = list(service or []) or run.services
            started_at = started_at or run.started_at.isoformat()
        values: dict[str, object] = {"title": title, "priority": priority or alert_priority}
        ask({"title": "Title (what happened, in one line)", "priority": "Priority (P1, P2, P3)"}, values)
        chosen = _priority(values["priority"])
        request = create.PostmortemRequest(
            title=str(values["title"]).strip(),
            priority=chosen,
            started_at=create.parse_timestamp(started_at)
            if started_at
            else dt.datetime.now().astimezone().replace(microsecond=0),
            cards=cards + [c for c in (card or []) if c not in cards],
            services=list(service or []),
            alert=alert or from_alert,
            kind="near_miss" if near_miss else "incident",
            branch=branch,
            fields=fields,
        )
        if not request.title:
            raise CommandError("--title is empty")
        created = create.new_postmortem(kb, request, kb.config.today())
    except (create.NewProblem, GitProblem, TemplateProblem, FromRunProblem) as exc:
        raise CommandError(str(exc), 1) from None
    _report(kb.root, created)
    return 0


@verb
def card(
    title: str | None = None,
    card_id: str | None = None,
    rotation: str | None = None,
    priority: str | None = None,
    owner: str | None = None,
    alert: list[str] | None = None,
    service: list[str] | None = None,
    branch: bool = False,
    root: Path | None = None,
) -> int:
    kb = load_kb(kb_root(root))
    values: dict[str, object] = {"title": title, "rotation": rotation, "priority": priority, "owner": owner}
    ask({"title": "Title", "rotation": "Rotation", "priority": "Priority (P1, P2, P3)", "owner": "Owner team"}, values)
    chosen = _priority(values["priority"])
    try:
        created = create.new_card(
            kb,
            card_id or slugify(str(values["title"]), "new-card"),
            str(values["title"]).strip(),
            str(values["rotation"]).strip(),
            chosen,
            str(values["owner"]).strip(),
            list(alert or []),
            list(service or []),
            kb.config.today(),
            branch=bool(branch),
        )
    except (create.NewProblem, GitProblem, TemplateProblem) as exc:
        raise CommandError(str(exc), 1) from None
    _report(kb.root, created)
    return 0
