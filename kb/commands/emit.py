"""`kb emit`: alert rules, promtool tests, release gates and eval cases from the postmortems'
reinforcements, written under rules/ as one set."""

from __future__ import annotations

from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.locking import LockProblem, kb_lock
from kb.emit import build as emitter
from kb.load.loader import load_kb
from kb.rules import secret_allowlist


@verb
def run(dry_run: bool = False, check_only: bool = False, root: Path | None = None) -> int:
    if dry_run or check_only:
        return _run(dry_run, check_only, kb_root(root))
    # two emits at once would interleave their sets (one removing what the other just wrote):
    # the second waits, then loads the postmortems as they are after the first
    try:
        with kb_lock(kb_root(root), "emit"):
            return _run(False, False, kb_root(root))
    except LockProblem as exc:
        raise CommandError(f"{exc.filename}: {exc.strerror}", 2) from None  # the environment is at fault


def _run(dry_run: bool, check_only: bool, root: Path) -> int:
    kb = load_kb(root)
    if kb.config.problems:
        # a setting kb could not read falls back to its default (site_url, rules_dir...):
        # emitting with it would rewrite live alert rules with wrong runbook URLs or folders
        first = kb.config.problems[0]
        where = f"{first.path}:{first.span.line}:{first.span.column}" if first.span else first.path
        raise CommandError(
            f"{where}: {first.message}; kb emit writes nothing until mkdocs.yml reads cleanly (see kb check)",
            1,
        )
    emitted = emitter.build(kb)
    allowlist = secret_allowlist()
    try:
        emitter.refuse_unloaded(kb)
        emitter.refuse_unowned(kb, emitted)
        emitter.refuse_secrets(kb, emitted, allowlist)  # before --dry-run too: a diff in a CI log is published
        changed = emitter.changes(kb, emitted)
    except emitter.EmitProblem as exc:
        raise CommandError(str(exc), exc.code) from None
    base = kb.settings.rules_dir.strip("/")
    if dry_run or check_only:
        if dry_run:
            echo(emitter.unified_diff(kb, changed), nl=False)
        for name in sorted(changed):
            if check_only:
                echo(f"{base}/{name} is out of date", err=True)
            else:
                echo(f"would {'write' if name in emitted.files else 'remove'} {base}/{name}", err=True)
        if check_only and not changed:
            echo(f"{base}/ is up to date ({len(emitted.sources)} postmortems, {len(emitted.alerts)} alerts)")
        return 1 if (check_only and changed) else 0
    try:
        written = emitter.write(kb, emitted, allowlist)
    except emitter.EmitProblem as exc:
        raise CommandError(str(exc), exc.code) from None
    for name in written:
        echo(f"wrote {base}/{name}" if name in emitted.files else f"removed {base}/{name}")
    echo(
        f"{len(emitted.alerts)} alerts from {len(emitted.sources)} postmortems; "
        + (f"{len(written)} file(s) changed" if written else "nothing changed")
    )
    return 0
