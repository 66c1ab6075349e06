"""`kb followups`: every open reinforcement by owner; `done`, `wont-do` and `reopen` close
or reopen one in place."""

from __future__ import annotations

import json
from pathlib import Path

from kb.analysis.followups import SORTS, Followup, followups
from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.text import one_line
from kb.edit.stamps import StampProblem, set_status
from kb.emit import build as emitter
from kb.load.loader import load_document, load_kb
from kb.model import Postmortem

# --status: which reinforcements the JSON lists; the text always ends with the declined ones and why
STATUSES = {"open": ("open",), "wont_do": ("wont_do",), "all": ("open", "wont_do", "done")}


def render_declined(items: list[Followup]) -> list[str]:
    """The follow-ups a team decided not to do, each with its reason: a decision, not a gap."""
    if not items:
        return []
    lines = [f"Declined (wont_do), {len(items)}:"]
    for item in items:
        lines.append(f"  {item.postmortem} {item.id:<4} {item.kind:<6} {item.owner}  {item.title}")
        lines.append(f"      why: {item.why or '(no reason given: kb check reports it)'}")
    return lines


def render(items: list[Followup], declined: list[Followup] | None = None) -> str:
    extra = render_declined(declined or [])
    if not items:
        return "\n".join(["No open follow-ups.", *extra]) + "\n"
    lines = []
    owner = None
    for item in items:
        if item.owner != owner:
            owner = item.owner
            lines.append(f"{one_line(owner)}:")
        late = f"  OVERDUE {item.days_overdue}d" if item.days_overdue else ""
        lines.append(
            one_line(
                f"  {item.postmortem} {item.id:<4} {item.kind:<6} due {item.due or 'never':<10}{late}  {item.title}"
            )
        )
    overdue = sum(1 for i in items if i.days_overdue)
    lines.append(f"{len(items)} open follow-up{'s' if len(items) != 1 else ''}, {overdue} overdue.")
    return "\n".join(lines + extra) + "\n"


@verb
def run(
    sort: str = "owner",
    owner: str | None = None,
    output_format: str = "text",
    fail_overdue: bool = False,
    root: Path | None = None,
    status: str = "open",
) -> int:
    """Open follow-ups by owner, then the declined ones with their reasons. --status wont_do or
    all puts the declined ones (with `why`) in the JSON too."""
    if output_format not in ("text", "json"):
        raise CommandError("--format is text or json")
    if sort not in SORTS:
        raise CommandError(f"--sort is one of {', '.join(SORTS)}")
    if status not in STATUSES:
        raise CommandError(f"--status is one of {', '.join(STATUSES)}, not '{status}'")
    kb = load_kb(kb_root(root))
    today = kb.config.today()
    items = sorted(followups(kb, today, STATUSES[status]), key=SORTS[sort])
    declined = sorted(followups(kb, today, ("wont_do",)), key=SORTS[sort])
    if owner:
        # a typo'd owner in a scheduled `--fail-overdue` job would pass for ever: fail closed
        known = {i.owner for i in followups(kb, today, STATUSES["all"])}
        if kb.oncall is not None and kb.oncall.model is not None:
            model = kb.oncall.model
            known |= set(model.people) | set(model.groups) | set(model.rotations)
        if owner not in known:
            raise CommandError(f"no follow-up, person, group or rotation is named '{owner}'", 2)
        items = [i for i in items if i.owner == owner]
        declined = [i for i in declined if i.owner == owner]
    if output_format == "json":
        echo(json.dumps([i.as_dict() for i in items], indent=2))
    else:
        shown = [i for i in items if i.status == "open"]
        echo(render(shown, declined), nl=False)
    return 1 if fail_overdue and any(i.days_overdue for i in items) else 0


@verb
def set_item(pm_id: str, item_id: str, status: str, why: str | None = None, root: Path | None = None) -> int:
    """Mark a reinforcement done, wont_do (with why) or open, in place."""
    kb = load_kb(kb_root(root))
    try:
        path, changed = set_status(kb, pm_id, item_id, status, why)
    except StampProblem as exc:
        raise CommandError(str(exc), exc.code) from None
    rel = path.relative_to(kb.root).as_posix()
    echo(f"{rel}: {item_id} is {status}" + ("" if changed else " (already)"))
    if changed:
        # the edited postmortem as written now (only that file is read again), to say whether
        # the files kb emit owns still match the postmortems
        kb.postmortems = [load_document(kb, d.path, Postmortem) if d.path == rel else d for d in kb.postmortems]
        try:
            stale = bool(emitter.changes(kb, emitter.build(kb)))
        except emitter.EmitProblem:
            stale = False  # a rules folder kb cannot use: kb check says why
        if stale:
            echo(f"{kb.settings.rules_dir.strip('/')}/ no longer matches the postmortems: run kb emit")
    return 0
