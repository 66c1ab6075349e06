"""`kb new postmortem|card`: a new file from the KB's templates, with the next free id."""

from __future__ import annotations

import datetime as dt
import difflib
import sys
from collections.abc import Callable
from pathlib import Path

from kb.analysis.from_run import FromRunProblem
from kb.analysis.from_run import prefill as from_run_prefill
from kb.analysis.otel import TraceProblem, read_trace_file
from kb.analysis.trace_prefill import Prefill, prefill_from_trace
from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.gitrepo import GitProblem
from kb.core.slugs import slugify
from kb.core.templating import TemplateProblem
from kb.edit import create
from kb.load.knowledge_base import KnowledgeBase
from kb.load.loader import load_kb
from kb.model.common import sort_key

PRIORITIES = ("P1", "P2", "P3")


Check = Callable[[str], "str | None"]  # a value's problem, or None when it is fine


def ask(missing: dict[str, str], values: dict[str, object], checks: dict[str, Check] | None = None) -> None:
    """Prompt for missing values on a terminal; elsewhere refuse, naming the flags.

    A given value that fails its check is refused at once; on a terminal a bad answer to a
    prompt is explained and asked again, so the title typed a moment ago is not lost."""
    checks = checks or {}
    for name, check in checks.items():
        if values.get(name) and (problem := check(str(values[name]))):
            raise CommandError(f"--{name.replace('_', '-')} {problem}")
    absent = [name for name in missing if not values.get(name)]
    if not absent:
        return
    if not sys.stdin.isatty():
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in absent)
        raise CommandError(f"missing {flags} (not on a terminal, so kb cannot ask)")
    import typer  # the prompt a terminal user sees; only on a terminal

    for name in absent:
        while True:
            answer = str(typer.prompt(missing[name])).strip()
            problem = checks[name](answer) if name in checks else (None if answer else "is empty")
            if problem is None:
                values[name] = answer
                break
            echo(f"{missing[name]} {problem}; try again", err=True)


def _alert_problems(alerts: list[str]) -> None:
    """Refuse an --alert that KB110 would find in the written file (AlertName: a Prometheus
    alert name), before anything is written."""
    from pydantic import TypeAdapter, ValidationError

    from kb.model.common import AlertName

    for name in alerts:
        try:
            TypeAdapter(AlertName).validate_python(name)
        except ValidationError as exc:
            why = exc.errors(include_url=False)[0]["msg"]
            raise CommandError(
                f"--alert '{name}' is not an alert name ({why}): a Prometheus alert name is letters, digits, "
                "_ and :, not starting with a digit"
            ) from None


def _priority_problem(value: str) -> str | None:
    return None if value.strip().upper() in PRIORITIES else f"must be P1, P2 or P3, not '{value}'"


def _rotation_check(kb: KnowledgeBase) -> Check:
    """A rotation oncall.yaml defines; with no oncall.yaml there is nothing to check against."""

    def problem(value: str) -> str | None:
        if kb.oncall is None or kb.oncall.model is None:
            return None if value.strip() else "is empty"
        known = sorted(kb.oncall.model.rotations)
        if value.strip() in known:
            return None
        close = difflib.get_close_matches(value.strip(), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"'{value}' is not a rotation in oncall.yaml{hint}; known: {', '.join(known) or 'none'}"

    return problem


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
    from_trace: Path | None = None,
    trace_id: str | None = None,
    from_run: Path | None = None,
) -> int:
    kb = load_kb(kb_root(root))
    _alert_problems([alert] if alert is not None else [])
    if trace_id is not None and from_trace is None:
        raise CommandError("--trace-id chooses a trace in --from-trace FILE; give the file")
    prefill = None
    if from_trace is not None:
        try:  # read before anything is asked or written: a bad file writes nothing
            prefill = prefill_from_trace(read_trace_file(from_trace), trace_id)
        except TraceProblem as exc:
            raise CommandError(str(exc), 1) from None
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
        ask(
            {"title": "Title (what happened, in one line)", "priority": "Priority (P1, P2, P3)"},
            values,
            {"priority": _priority_problem},
        )
        chosen = _priority(values["priority"])
        request = create.PostmortemRequest(
            title=str(values["title"]).strip(),
            priority=chosen,
            started_at=create.parse_timestamp(started_at)
            if started_at
            else (prefill.started_at if prefill and prefill.started_at else None)
            or dt.datetime.now().astimezone().replace(microsecond=0),
            cards=cards + [c for c in (card or []) if c not in cards],
            services=list(service or []),
            alert=alert or from_alert,
            kind="near_miss" if near_miss else "incident",
            branch=branch,
            prefill=_fields(prefill) if prefill else {},
            fields=_with_trace_timeline(fields, prefill),
        )
        if not request.title:
            raise CommandError("--title is empty")
        created = create.new_postmortem(kb, request, kb.config.today())
    except (create.NewProblem, GitProblem, TemplateProblem, FromRunProblem) as exc:
        raise CommandError(str(exc), 1) from None
    for note in prefill.notes if prefill else []:
        echo(f"note: {note}", err=True)
    _report(kb.root, created)
    return 0


def _fields(prefill: Prefill) -> dict[str, object]:
    fields: dict[str, object] = {"model_inference": prefill.model_inference}
    if prefill.telemetry:
        fields["telemetry"] = prefill.telemetry
    if prefill.timeline:
        fields["timeline"] = prefill.timeline
    return fields


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
    _alert_problems(list(alert or []))
    values: dict[str, object] = {"title": title, "rotation": rotation, "priority": priority, "owner": owner}
    ask(
        {"title": "Title", "rotation": "Rotation", "priority": "Priority (P1, P2, P3)", "owner": "Owner team"},
        values,
        {"rotation": _rotation_check(kb), "priority": _priority_problem},
    )
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


def _with_trace_timeline(fields: dict[str, object], prefill: Prefill | None) -> dict[str, object]:
    """--from-run and --from-trace together: one timeline, the run's steps and the trace's
    spans in time order (each source's own rows are kept whole)."""
    run_rows = fields.get("timeline")
    if not prefill or not prefill.timeline or not isinstance(run_rows, list):
        return fields

    def when(row: object) -> tuple[dt.date, float]:
        at = row.get("at") if isinstance(row, dict) else None
        if isinstance(at, str):
            try:
                at = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                at = None
        return sort_key(at) if isinstance(at, dt.date) else (dt.date.min, 0.0)

    return {**fields, "timeline": sorted([*prefill.timeline, *run_rows], key=when)}
