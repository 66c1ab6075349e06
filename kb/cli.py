"""The `kb` command line: thin verbs over library functions that tests call directly."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kb import __version__

app = typer.Typer(
    name="kb",
    help="Runbooks and postmortems for teams that run AI agents in production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

RootOption = Annotated[
    Optional[Path],
    typer.Option("--root", help="The knowledge base (the folder with mkdocs.yml); default: found from here upwards."),
]


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"kb: {message}", err=True)
    return typer.Exit(code)


def _root(root: Path | None) -> Path:
    from kb.mkdocs_config import NoKnowledgeBase, find_root

    try:
        return find_root(root)
    except NoKnowledgeBase as exc:
        raise fail(str(exc)) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kb {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


def _relative_paths(root: Path, paths: list[Path]) -> set[str]:
    selected = set()
    for path in paths:
        resolved = path.resolve()
        try:
            selected.add(resolved.relative_to(root).as_posix() if resolved != root else "")
        except ValueError:
            raise fail(f"{path} is outside the knowledge base at {root}") from None
    return {p for p in selected if p} if "" not in selected else set()


@app.command()
def check(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Only report on these files or folders.")] = None,
    output_format: Annotated[
        Optional[OutputFormat],
        typer.Option("--format", "-f", help="text (default), json, github (default on GitHub Actions) or sarif."),
    ] = None,
    select: Annotated[
        Optional[list[str]], typer.Option("--select", help="Run only these rules: codes, prefixes (KB2) or names.")
    ] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", help="Skip these rules.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to a file.")] = None,
    changed_since: Annotated[
        Optional[str],
        typer.Option("--changed-since", help="Only files changed since this git ref, and the files that depend on them."),
    ] = None,
    root: RootOption = None,
) -> None:
    """Lint the knowledge base. Exit 0: no errors; 1: errors found; 2: usage or internal failure.

    A run where no input file changed reuses the last result (keyed by content; set
    KB_NO_CACHE=1 to always check from scratch)."""
    from kb.formats import render

    kb_root = _root(root)
    only = _relative_paths(kb_root, paths) if paths else None
    run = lambda key=None: _run_check(kb_root, only, select, ignore, changed_since, key)  # noqa: E731
    if changed_since or os.environ.get("KB_NO_CACHE"):
        result = run()  # --changed-since depends on git state, which the cache key does not cover
    else:
        from kb.check_cache import cached_check

        result = cached_check(kb_root, run, select=_split(select), ignore=_split(ignore), only=sorted(only or []))
    fmt = (output_format.value if output_format else None) or (
        "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    )
    color = fmt == "text" and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    report = render(result, fmt, color=color)
    if output is not None:
        from kb.atomic import write_atomic

        write_atomic(output, report)
    else:
        sys.stdout.write(report)
    raise typer.Exit(result.exit_code)


def _run_check(kb_root: Path, only, select, ignore, changed_since, cache_key: str | None = None):
    from kb.check import run_check
    from kb.kbase import load_kb

    session = None
    if cache_key is not None and not only and not changed_since:
        from kb import incremental

        session = incremental.start(kb_root, cache_key)
    kb = load_kb(kb_root, session)
    if changed_since:
        from kb.changes import ChangesProblem, changed_since as changed, with_dependents

        try:
            selected = with_dependents(kb, changed(kb_root, changed_since))
        except ChangesProblem as exc:
            raise fail(str(exc)) from None
        if selected is not None:
            only = (only & selected) if only else selected
            if not only:
                only = {"\0nothing"}  # nothing changed: report on nothing
    result = run_check(kb, select=_split(select), ignore=_split(ignore), only_paths=only or None)
    if session is not None:
        incremental.finish(kb_root, kb, session, result.scoped)
        result.inputs = session.inputs()
    return result


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


@app.command()
def rules(code: Annotated[Optional[str], typer.Argument(help="A rule code or name: print its documentation.")] = None) -> None:
    """List the rules, or print one rule's documentation."""
    from kb.rules import all_rules, find_rule

    if code:
        rule = find_rule(code)
        if rule is None:
            raise fail(f"no rule '{code}'; `kb rules` lists them")
        typer.echo(f"{rule.code} {rule.name} (default level: {rule.level.value})\n")
        typer.echo(rule.doc())
        defaults = rule.option_defaults()
        if defaults:
            typer.echo("\nOptions (set under plugins: - kb: rules: in mkdocs.yml):")
            for key, value in defaults.items():
                typer.echo(f"  {key}: {value!r}")
        return
    for rule in all_rules().values():
        typer.echo(f"{rule.code}  {rule.name:<38} {rule.level.value:<8} {rule.summary()}")


@app.command()
def schema(
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 when the files differ from the models.")] = False,
    root: RootOption = None,
) -> None:
    """Write the JSON Schemas of cards, postmortems and oncall.yaml to schemas/ (from the models)."""
    from kb.schema import SCHEMA_DIR, stale_schemas, write_schemas

    folder = _root(root) / SCHEMA_DIR
    if check_only:
        stale = stale_schemas(folder)
        for name in stale:
            typer.echo(f"{SCHEMA_DIR}/{name} is out of date; run `kb schema`")
        raise typer.Exit(1 if stale else 0)
    changed = write_schemas(folder)
    typer.echo(f"{len(changed)} schema file(s) written to {SCHEMA_DIR}/" if changed else "schemas are up to date")


@app.command()
def access(
    card: Annotated[Optional[str], typer.Argument(help="Explain one card step by step.")] = None,
    person: Annotated[Optional[str], typer.Option("--person", help="What one person can and cannot run.")] = None,
    rotation: Annotated[Optional[str], typer.Option("--rotation", help="With CARD: judge it for another rotation.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    root: RootOption = None,
) -> None:
    """Who can execute which card: the matrix, one card explained, or one person's view."""
    import json

    from kb import access_report as report
    from kb.kbase import load_kb

    if output_format not in ("text", "json"):
        raise fail("--format is text or json")
    kb = load_kb(_root(root))
    try:
        if person:
            data, render = report.explain_person(kb, person), report.render_person
        elif card:
            data, render = report.explain_card(kb, card, rotation), report.render_card
        else:
            data, render = report.matrix(kb), report.render_matrix
    except report.AccessError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(json.dumps(data, indent=2) if output_format == "json" else render(data), nl=output_format == "json")


new_app = typer.Typer(help="Write a new postmortem or card from the KB's templates.", no_args_is_help=True)
app.add_typer(new_app, name="new")


def _ask(missing: dict[str, str], values: dict[str, object]) -> None:
    """Prompt for missing values on a terminal; elsewhere refuse, naming the flags."""
    absent = [name for name in missing if not values.get(name)]
    if not absent:
        return
    if not sys.stdin.isatty():
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in absent)
        raise fail(f"missing {flags} (not on a terminal, so kb cannot ask)")
    for name in absent:
        values[name] = typer.prompt(missing[name])


@new_app.command("postmortem")
def new_postmortem_command(
    title: Annotated[Optional[str], typer.Option(help="What happened, in one line.")] = None,
    priority: Annotated[Optional[str], typer.Option(help="P1, P2 or P3.")] = None,
    card: Annotated[Optional[list[str]], typer.Option("--card", help="A card used during the incident (repeat).")] = None,
    service: Annotated[Optional[list[str]], typer.Option("--service", help="An affected service (repeat).")] = None,
    alert: Annotated[Optional[str], typer.Option(help="The alert that detected it.")] = None,
    started_at: Annotated[Optional[str], typer.Option(help="ISO 8601 with offset; default: now.")] = None,
    from_alert: Annotated[Optional[str], typer.Option(help="Fill cards, priority and detection from the card this alert routes to.")] = None,
    near_miss: Annotated[bool, typer.Option("--near-miss", help="kind: near_miss instead of incident.")] = False,
    branch: Annotated[bool, typer.Option("--branch", help="Create postmortem/<id>-<slug> from HEAD and commit the file there.")] = False,
    root: RootOption = None,
) -> None:
    """File a new postmortem with the next free id (never reused, even on other branches)."""
    import datetime as dt

    from kb import newfile
    from kb.gitops import GitProblem
    from kb.kbase import load_kb
    from kb.templating import TemplateProblem

    kb = load_kb(_root(root))
    try:
        cards, alert_priority = newfile.from_alert(kb, from_alert) if from_alert else (list(card or []), None)
        values: dict[str, object] = {"title": title, "priority": priority or alert_priority}
        _ask({"title": "Title (what happened, in one line)", "priority": "Priority (P1, P2, P3)"}, values)
        chosen = str(values["priority"]).strip().upper()
        if chosen not in ("P1", "P2", "P3"):
            raise fail(f"--priority must be P1, P2 or P3, not '{values['priority']}'")
        request = newfile.PostmortemRequest(
            title=str(values["title"]).strip(), priority=chosen,
            started_at=newfile.parse_timestamp(started_at) if started_at else dt.datetime.now().astimezone().replace(microsecond=0),
            cards=cards + [c for c in (card or []) if c not in cards], services=list(service or []),
            alert=alert or from_alert, kind="near_miss" if near_miss else "incident", branch=branch,
        )
        if not request.title:
            raise fail("--title is empty")
        created = newfile.new_postmortem(kb, request, kb.config.today())
    except (newfile.NewProblem, GitProblem, TemplateProblem) as exc:
        raise fail(str(exc), 1) from None
    _report_created(kb.root, created)


@new_app.command("card")
def new_card_command(
    title: Annotated[Optional[str], typer.Option(help="The situation, in one line.")] = None,
    card_id: Annotated[Optional[str], typer.Option("--id", help="The card id; default: a slug of the title.")] = None,
    rotation: Annotated[Optional[str], typer.Option(help="The rotation in oncall.yaml that executes it.")] = None,
    priority: Annotated[Optional[str], typer.Option(help="P1, P2 or P3.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="The team that keeps it true.")] = None,
    alert: Annotated[Optional[list[str]], typer.Option("--alert", help="An alert that pages to it (repeat).")] = None,
    service: Annotated[Optional[list[str]], typer.Option("--service", help="A service it is about (repeat).")] = None,
    branch: Annotated[bool, typer.Option("--branch", help="Create card/<id> from HEAD and commit the file there.")] = None,
    root: RootOption = None,
) -> None:
    """Write a new card from the KB's card template."""
    from kb import newfile
    from kb.gitops import GitProblem
    from kb.kbase import load_kb
    from kb.slugs import slugify
    from kb.templating import TemplateProblem

    kb = load_kb(_root(root))
    values: dict[str, object] = {"title": title, "rotation": rotation, "priority": priority, "owner": owner}
    _ask({"title": "Title", "rotation": "Rotation", "priority": "Priority (P1, P2, P3)", "owner": "Owner team"}, values)
    chosen = str(values["priority"]).strip().upper()
    if chosen not in ("P1", "P2", "P3"):
        raise fail(f"--priority must be P1, P2 or P3, not '{values['priority']}'")
    try:
        created = newfile.new_card(
            kb, card_id or slugify(str(values["title"]), "new-card"), str(values["title"]).strip(),
            str(values["rotation"]).strip(), chosen, str(values["owner"]).strip(), list(alert or []),
            list(service or []), kb.config.today(), branch=bool(branch),
        )
    except (newfile.NewProblem, GitProblem, TemplateProblem) as exc:
        raise fail(str(exc), 1) from None
    _report_created(kb.root, created)


followups_app = typer.Typer(help="Open reinforcements across all postmortems, and closing them.")
app.add_typer(followups_app, name="followups")


class FollowupSort(str, enum.Enum):
    owner = "owner"
    due = "due"
    overdue = "overdue"
    postmortem = "postmortem"


@followups_app.callback(invoke_without_command=True)
def followups_list(
    ctx: typer.Context,
    sort: Annotated[FollowupSort, typer.Option("--sort", help="owner, due, overdue or postmortem.")] = FollowupSort.owner,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this owner's follow-ups.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    fail_overdue: Annotated[bool, typer.Option("--fail-overdue", help="Exit 1 when any follow-up is overdue (for a scheduled CI job).")] = False,
    root: RootOption = None,
) -> None:
    """Every open reinforcement, by owner, with due date and days overdue."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from kb.followups import SORTS, open_followups, render_followups
    from kb.kbase import load_kb

    if output_format not in ("text", "json"):
        raise fail("--format is text or json")
    kb = load_kb(_root(root))
    items = sorted(open_followups(kb, kb.config.today()), key=SORTS[sort.value])
    if owner:
        items = [i for i in items if i.owner == owner]
    if output_format == "json":
        typer.echo(json.dumps([i.as_dict() for i in items], indent=2))
    else:
        typer.echo(render_followups(items), nl=False)
    raise typer.Exit(1 if fail_overdue and any(i.days_overdue for i in items) else 0)


def _set_followup(pm_id: str, item_id: str, status: str, why: str | None, root: Path | None) -> None:
    from kb.followups import FollowupProblem, set_status
    from kb.kbase import load_kb

    kb = load_kb(_root(root))
    try:
        path, changed = set_status(kb, pm_id, item_id, status, why)
    except FollowupProblem as exc:
        raise fail(str(exc), 1) from None
    rel = path.relative_to(kb.root).as_posix()
    typer.echo(f"{rel}: {item_id} is {status}" + ("" if changed else " (already)"))
    if changed:
        from kb import emit as emitter

        fresh = load_kb(kb.root)
        if emitter.changes(fresh, emitter.build(fresh)):
            typer.echo(f"{fresh.settings.rules_dir.strip('/')}/ no longer matches the postmortems: run kb emit")


@followups_app.command("done")
def followups_done(pm_id: str, item_id: str, root: RootOption = None) -> None:
    """Mark a reinforcement done, in place (comments and formatting kept)."""
    _set_followup(pm_id, item_id, "done", None, root)


@followups_app.command("wont-do")
def followups_wont_do(
    pm_id: str, item_id: str,
    why: Annotated[str, typer.Option("--why", help="Why it will not be done.")],
    root: RootOption = None,
) -> None:
    """Mark a reinforcement wont_do with the reason, in place."""
    _set_followup(pm_id, item_id, "wont_do", why, root)


@followups_app.command("reopen")
def followups_reopen(pm_id: str, item_id: str, root: RootOption = None) -> None:
    """Set a reinforcement back to open, in place."""
    _set_followup(pm_id, item_id, "open", None, root)


card_app = typer.Typer(help="Stamp a card as verified or drilled today.", no_args_is_help=True)
app.add_typer(card_app, name="card")


def _stamp(card_id: str, field: str, root: Path | None) -> None:
    from kb.followups import FollowupProblem, stamp_card
    from kb.kbase import load_kb

    kb = load_kb(_root(root))
    today = kb.config.today()
    try:
        path, changed = stamp_card(kb, card_id, field, today)
    except FollowupProblem as exc:
        raise fail(str(exc), 1) from None
    rel = path.relative_to(kb.root).as_posix()
    typer.echo(f"{rel}: {field} {today.isoformat()}" + ("" if changed else " (already)"))


@card_app.command("verified")
def card_verified(card_id: str, root: RootOption = None) -> None:
    """Someone walked the card against the live system today: stamp last_verified."""
    _stamp(card_id, "last_verified", root)


@card_app.command("drilled")
def card_drilled(card_id: str, root: RootOption = None) -> None:
    """Someone executed the card in a drill today: stamp last_drilled."""
    _stamp(card_id, "last_drilled", root)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the knowledge base (empty or new).")],
    name: Annotated[Optional[str], typer.Option(help="The site name.")] = None,
) -> None:
    """Create a new knowledge base that passes `kb check` at once."""
    from kb.init import InitProblem, init_kb

    try:
        written = init_kb(directory, name)
    except InitProblem as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"created a knowledge base in {directory} ({len(written)} files); next: cd {directory} && kb check")


@app.command()
def emit(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print a unified diff of what would change; write nothing.")] = False,
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 when rules/ is not what kb emit would write.")] = False,
    root: RootOption = None,
) -> None:
    """Write alert rules, promtool tests, release gates and eval cases from the postmortems' reinforcements."""
    from kb import emit as emitter
    from kb.kbase import load_kb

    kb = load_kb(_root(root))
    emitted = emitter.build(kb)
    try:
        emitter.refuse_unowned(kb)
        emitter.refuse_secrets(kb, emitted)  # before --dry-run too: a diff in a CI log is published
    except emitter.EmitProblem as exc:
        raise fail(str(exc), 1) from None
    changed = emitter.changes(kb, emitted)
    base = kb.settings.rules_dir.strip("/")
    if dry_run or check_only:
        if dry_run:
            typer.echo(emitter.unified_diff(kb, changed), nl=False)
        for name in sorted(changed):
            typer.echo(f"{base}/{name} is out of date" if check_only else f"would write {base}/{name}", err=True)
        if check_only and not changed:
            typer.echo(f"{base}/ is up to date ({len(emitted.sources)} postmortems, {len(emitted.alerts)} alerts)")
        raise typer.Exit(1 if (check_only and changed) else 0)
    written = emitter.write(kb, emitted)
    for name in written:
        typer.echo(f"wrote {base}/{name}")
    typer.echo(f"{len(emitted.alerts)} alerts from {len(emitted.sources)} postmortems; "
               + (f"{len(written)} file(s) changed" if written else "nothing changed"))


def _report_created(root: Path, created) -> None:
    rel = created.path.relative_to(root).as_posix()
    typer.echo(f"created {rel} ({created.id})")
    if created.branch:
        typer.echo(f"on branch {created.branch}, commit {created.commit[:12]}")
    typer.echo(f"next: fill the TODOs, then `kb check {rel}`")


@app.command()
def show(card_id: Annotated[str, typer.Argument(help="The card id.")], root: RootOption = None) -> None:
    """Print a card for the terminal: numbered steps, commands ready to copy, irreversible steps marked."""
    from kb.lookup import run_show

    raise typer.Exit(run_show(card_id, root))


@app.command()
def route(
    query: Annotated[list[str], typer.Argument(help="An alert name, or words describing the situation.")],
    show_card: Annotated[bool, typer.Option("--show", help="Also print the card.")] = False,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    root: RootOption = None,
) -> None:
    """The one card to open for an alert or a situation. Exit 1 when nothing matches."""
    from kb.lookup import run_route

    raise typer.Exit(run_route(" ".join(query), show_card, output_format, root))


def main() -> None:
    from kb.lookup import fast_path

    code = fast_path(sys.argv[1:])  # route and show start without typer: they are run half awake
    if code is not None:
        sys.exit(code)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("kb: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        if os.environ.get("KB_DEBUG"):
            raise
        typer.echo(f"kb: internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for the traceback)", err=True)
        sys.exit(2)
