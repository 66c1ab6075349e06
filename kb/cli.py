"""The `kb` command line: typer wiring only. Every verb is `kb.commands.<verb>.run(...) -> int`."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Annotated

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
    Path | None,
    typer.Option("--root", help="The knowledge base (the folder with mkdocs.yml); default: found from here upwards."),
]


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class FollowupSort(str, enum.Enum):
    owner = "owner"
    due = "due"
    overdue = "overdue"
    postmortem = "postmortem"


def _exit(code: int) -> typer.Exit:
    return typer.Exit(code)


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


@app.command()
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Only report on these files or folders.")] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", "-f", help="text (default), json, github (default on GitHub Actions) or sarif."),
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Run only these rules: codes, prefixes (KB2) or names.")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Skip these rules.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to a file.")] = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since", help="Only files changed since this git ref, and the files that depend on them."
        ),
    ] = None,
    root: RootOption = None,
) -> None:
    """Lint the knowledge base. Exit 0: no errors; 1: errors found; 2: usage or internal failure.

    A run where no input file changed reuses the last result (keyed by content; set
    KB_NO_CACHE=1 to always check from scratch)."""
    from kb.commands import check as verb

    fmt = output_format.value if output_format else None
    raise _exit(verb.run(paths, fmt, select, ignore, output, changed_since, root))


@app.command()
def rules(
    code: Annotated[str | None, typer.Argument(help="A rule code or name: print its documentation.")] = None,
) -> None:
    """List the rules, or print one rule's documentation."""
    from kb.commands import rules as verb

    raise _exit(verb.run(code))


@app.command()
def schema(
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 when the files differ from the models.")] = False,
    root: RootOption = None,
) -> None:
    """Write the JSON Schemas of cards, postmortems and oncall.yaml to schemas/ (from the models)."""
    from kb.commands import schema as verb

    raise _exit(verb.run(check_only, root))


@app.command()
def access(
    card: Annotated[str | None, typer.Argument(help="Explain one card step by step.")] = None,
    person: Annotated[str | None, typer.Option("--person", help="What one person can and cannot run.")] = None,
    rotation: Annotated[
        str | None, typer.Option("--rotation", help="With CARD: judge it for another rotation.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    root: RootOption = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Who is on call at this minute (ISO 8601 with offset, or 'now')."),
    ] = None,
    now: Annotated[bool, typer.Option("--now", help="Who is on call now (--at now); --rotation picks one.")] = False,
) -> None:
    """Who can execute which card: the matrix, one card, one person, or who is on call --now or --at a minute."""
    from kb.commands import access as verb

    raise _exit(verb.run(card, person, rotation, output_format, root, at, now))


new_app = typer.Typer(help="Write a new postmortem or card from the KB's templates.", no_args_is_help=True)
app.add_typer(new_app, name="new")


@new_app.command("postmortem")
def new_postmortem_command(
    title: Annotated[str | None, typer.Option(help="What happened, in one line.")] = None,
    priority: Annotated[str | None, typer.Option(help="P1, P2 or P3.")] = None,
    card: Annotated[list[str] | None, typer.Option("--card", help="A card used during the incident (repeat).")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="An affected service (repeat).")] = None,
    alert: Annotated[str | None, typer.Option(help="The alert that detected it.")] = None,
    started_at: Annotated[
        str | None,
        typer.Option(help="ISO 8601 with offset, or a date (YYYY-MM-DD) when only the day is known; default: now."),
    ] = None,
    from_alert: Annotated[
        str | None, typer.Option(help="Fill cards, priority and detection from the card this alert routes to.")
    ] = None,
    near_miss: Annotated[bool, typer.Option("--near-miss", help="kind: near_miss instead of incident.")] = False,
    branch: Annotated[
        bool, typer.Option("--branch", help="Create postmortem/<id>-<slug> from HEAD and commit the file there.")
    ] = False,
    root: RootOption = None,
    from_trace: Annotated[
        Path | None,
        typer.Option(
            "--from-trace",
            help="Prefill model_inference, telemetry and the timeline from an OpenTelemetry trace export "
            "(OTLP/JSON, or the Collector file exporter's JSON Lines).",
        ),
    ] = None,
    trace_id: Annotated[
        str | None, typer.Option("--trace-id", help="With --from-trace: the trace to read when the file has several.")
    ] = None,
    from_run: Annotated[
        Path | None,
        typer.Option("--from-run", help="Fill cards, timestamps and the timeline from a run log (runs/*.jsonl)."),
    ] = None,
) -> None:
    """File a new postmortem with the next free id (never reused, even on other branches)."""
    from kb.commands import new

    raise _exit(
        new.postmortem(
            title,
            priority,
            card,
            service,
            alert,
            started_at,
            from_alert,
            near_miss,
            branch,
            root,
            from_trace,
            trace_id,
            from_run=from_run,
        )
    )


@new_app.command("card")
def new_card_command(
    title: Annotated[str | None, typer.Option(help="The situation, in one line.")] = None,
    card_id: Annotated[str | None, typer.Option("--id", help="The card id; default: a slug of the title.")] = None,
    rotation: Annotated[str | None, typer.Option(help="The rotation in oncall.yaml that executes it.")] = None,
    priority: Annotated[str | None, typer.Option(help="P1, P2 or P3.")] = None,
    owner: Annotated[str | None, typer.Option(help="The team that keeps it true.")] = None,
    alert: Annotated[list[str] | None, typer.Option("--alert", help="An alert that pages to it (repeat).")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="A service it is about (repeat).")] = None,
    branch: Annotated[
        bool, typer.Option("--branch", help="Create card/<id> from HEAD and commit the file there.")
    ] = False,
    root: RootOption = None,
) -> None:
    """Write a new card from the KB's card template."""
    from kb.commands import new

    raise _exit(new.card(title, card_id, rotation, priority, owner, alert, service, branch, root))


followups_app = typer.Typer(help="Open reinforcements across all postmortems, and closing them.")
app.add_typer(followups_app, name="followups")


@followups_app.callback(invoke_without_command=True)
def followups_list(
    ctx: typer.Context,
    sort: Annotated[
        FollowupSort, typer.Option("--sort", help="owner, due, overdue or postmortem.")
    ] = FollowupSort.owner,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's follow-ups.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    fail_overdue: Annotated[
        bool, typer.Option("--fail-overdue", help="Exit 1 when any follow-up is overdue (for a scheduled CI job).")
    ] = False,
    root: RootOption = None,
    status: Annotated[
        str, typer.Option("--status", help="open (default), wont_do or all: which ones the JSON lists.")
    ] = "open",
) -> None:
    """Every open reinforcement, by owner, with due date and days overdue; then the declined
    (wont_do) ones with their reasons."""
    if ctx.invoked_subcommand is not None:
        return
    from kb.commands import followups

    raise _exit(followups.run(sort.value, owner, output_format, fail_overdue, root, status))


@followups_app.command("done")
def followups_done(pm_id: str, item_id: str, root: RootOption = None) -> None:
    """Mark a reinforcement done, in place (comments and formatting kept)."""
    from kb.commands import followups

    raise _exit(followups.set_item(pm_id, item_id, "done", None, root))


@followups_app.command("wont-do")
def followups_wont_do(
    pm_id: str,
    item_id: str,
    why: Annotated[str, typer.Option("--why", help="Why it will not be done.")],
    root: RootOption = None,
) -> None:
    """Mark a reinforcement wont_do with the reason, in place."""
    from kb.commands import followups

    raise _exit(followups.set_item(pm_id, item_id, "wont_do", why, root))


@followups_app.command("reopen")
def followups_reopen(pm_id: str, item_id: str, root: RootOption = None) -> None:
    """Set a reinforcement back to open, in place."""
    from kb.commands import followups

    raise _exit(followups.set_item(pm_id, item_id, "open", None, root))


card_app = typer.Typer(help="Stamp a card as verified today, or drilled from its drill log.", no_args_is_help=True)
app.add_typer(card_app, name="card")


@card_app.command("verified")
def card_verified(card_id: str, root: RootOption = None) -> None:
    """Someone walked the card against the live system today: stamp last_verified."""
    from kb.commands import card

    raise _exit(card.run("verified", card_id, root))


@card_app.command("drilled")
def card_drilled(card_id: str, root: RootOption = None) -> None:
    """Stamp last_drilled with the day of the card's latest completed drill log (`kb run CARD --drill`).

    Refused when the card has no such log: a drilled date must have a drill behind it (KB811)."""
    from kb.commands import card

    raise _exit(card.run("drilled", card_id, root))


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the knowledge base (empty or new).")],
    name: Annotated[str | None, typer.Option(help="The site name.")] = None,
) -> None:
    """Create a new knowledge base that passes `kb check` at once."""
    from kb.commands import init as verb

    raise _exit(verb.run(directory, name))


@app.command()
def emit(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print a unified diff of what would change; write nothing.")
    ] = False,
    check_only: Annotated[
        bool, typer.Option("--check", help="Exit 1 when rules/ is not what kb emit would write.")
    ] = False,
    root: RootOption = None,
) -> None:
    """Write alert rules, promtool tests, release gates and eval cases from the postmortems' reinforcements."""
    from kb.commands import emit as verb

    raise _exit(verb.run(dry_run, check_only, root))


@app.command()
def show(card_id: Annotated[str, typer.Argument(help="The card id.")], root: RootOption = None) -> None:
    """Print a card for the terminal: numbered steps, commands ready to copy, irreversible steps marked."""
    from kb.commands import show as verb

    raise _exit(verb.run(card_id, root))


@app.command()
def route(
    query: Annotated[list[str], typer.Argument(help="An alert name, or words describing the situation.")],
    show_card: Annotated[bool, typer.Option("--show", help="Also print the card.")] = False,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    root: RootOption = None,
) -> None:
    """The one card to open for an alert or a situation. Exit 1 when nothing matches."""
    from kb.commands import route as verb

    raise _exit(verb.run(" ".join(query), show_card, output_format, root))


@app.command("run")
def run_command(
    card_id: Annotated[str, typer.Argument(help="The card to execute.")],
    actor: Annotated[
        str | None, typer.Option("--as", help="Who is acting: a person in oncall.yaml (default: $KB_ACTOR).")
    ] = None,
    drill: Annotated[bool, typer.Option("--drill", help="A drill: timed against the drill targets.")] = False,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue the card's open run from its log (off a terminal: where it stands)."),
    ] = False,
    run_id: Annotated[str | None, typer.Option("--run", help="The run (<YYYY-MM-DD>-<card>-<n>) to add to.")] = None,
    start: Annotated[bool, typer.Option("--start", help="Start a run without the guided walk.")] = False,
    step: Annotated[str | None, typer.Option("--step", help="The step the event is about.")] = None,
    done: Annotated[bool, typer.Option("--done", help="The step is done (needs --evidence).")] = False,
    evidence: Annotated[str | None, typer.Option("--evidence", help="What shows the step is done.")] = None,
    skipped: Annotated[bool, typer.Option("--skipped", help="The step was skipped (needs --why).")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="The step failed (needs --why).")] = False,
    why: Annotated[str | None, typer.Option("--why", help="Why skipped, failed or ended so.")] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Record an approval of the step (with --approver).")
    ] = False,
    approver: Annotated[
        str | None, typer.Option("--approver", help="Who approved: allowed to, and not you nor the runner.")
    ] = None,
    item: Annotated[str | None, typer.Option("--item", help="A worklist item (with --verdict).")] = None,
    verdict: Annotated[str | None, typer.Option("--verdict", help="The item's verdict.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Record a note.")] = None,
    update: Annotated[bool, typer.Option("--update", help="With --note: it is a status update to users.")] = False,
    end: Annotated[str | None, typer.Option("--end", help="End the run: mitigated, abandoned or escalated.")] = None,
    root: RootOption = None,
) -> None:
    """Execute a card step by step; every event goes to runs/<date>-<card>-<n>.jsonl before anything else.

    On a terminal: a guided walk (`--resume` continues the open run). Without one, each
    call appends one event: `--start`, `--step ID --done --evidence TEXT`, `--skipped` or
    `--failed --why TEXT`, `--approve --approver NAME`, `--item ITEM --verdict V`,
    `--note TEXT [--update]`, `--end mitigated|abandoned|escalated`. An ended drill prints its
    times against the drill targets (exit 1 when it missed one) and sets last_drilled."""
    from kb.commands import run as verb

    action = verb.Action(
        start=start, step=step, done=done, skipped=skipped, failed=failed, approve=approve, approver=approver,
        evidence=evidence, why=why, item=item, verdict=verdict, note=note, update=update, end=end,
    )  # fmt: skip
    raise _exit(verb.run(card_id, actor, drill, resume, run_id, action, root))


site_app = typer.Typer(help="Build or serve the site with MkDocs, ProperDocs or Zensical.", no_args_is_help=True)
app.add_typer(site_app, name="site")


class Generator(str, enum.Enum):
    mkdocs = "mkdocs"
    properdocs = "properdocs"
    zensical = "zensical"


class Search(str, enum.Enum):
    pagefind = "pagefind"
    builtin = "builtin"


GeneratorOption = Annotated[
    Generator, typer.Option("--generator", "-g", help="mkdocs (default), properdocs or zensical.")
]


@site_app.command("build")
def site_build(
    generator: GeneratorOption = Generator.mkdocs,
    search: Annotated[
        Search,
        typer.Option("--search", help="pagefind (default: a chunked index, small downloads at any size) or builtin."),
    ] = Search.pagefind,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where the site goes (default: <root>/site).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on the generator's warnings.")] = False,
    root: RootOption = None,
) -> None:
    """Build the site (no plugin API needed: works with every generator, and without docs/)."""
    from kb.site import command

    raise _exit(command.run("build", generator.value, search.value, out, root, strict))


@site_app.command("serve")
def site_serve(
    generator: GeneratorOption = Generator.mkdocs,
    dev_addr: Annotated[
        str | None, typer.Option("--dev-addr", "-a", help="HOST:PORT (default: the generator's).")
    ] = None,
    root: RootOption = None,
) -> None:
    """Serve the site; with mkdocs or properdocs the kb plugin rebuilds it as the KB changes."""
    from kb.site import command

    raise _exit(command.run("serve", generator.value, root=root, dev_addr=dev_addr))


def main() -> None:
    from kb.commands.fast_path import dispatch

    code = dispatch(sys.argv[1:])  # route and show start without the typer app: they are run half awake
    if code is not None:
        sys.exit(code)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("kb: interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # the environment failed (disk full, read-only, no access): say where
        if os.environ.get("KB_DEBUG"):
            raise
        from kb.commands.common import os_error

        typer.echo(f"kb: {os_error(exc)}", err=True)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("KB_DEBUG"):
            raise
        typer.echo(f"kb: internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for the traceback)", err=True)
        sys.exit(2)
