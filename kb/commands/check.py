"""`kb check`: lint the knowledge base. Exit 0: no errors; 1: errors found; 2: usage or
internal failure.

A run where no input file changed reuses the last result (kb.cache.result); a run after a
few files changed re-reads only those (kb.cache.incremental). promtool checks the
hand-written rule files on the other core while the YAML loads.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from kb.analysis.changes import ChangesProblem, with_dependents
from kb.analysis.changes import changed_since as git_changed_since
from kb.cache import delta, incremental
from kb.cache.replays import PassedReplays
from kb.cache.result import cached_check
from kb.check.engine import CheckResult, configure_rules, run_check, unknown_patterns
from kb.check.formats import FORMATS, render
from kb.commands.common import CommandError, echo, kb_root, split_list, verb
from kb.config.settings import load_config
from kb.core.atomic import write_atomic
from kb.emit.promtool import start_hand_written
from kb.load.loader import load_kb
from kb.route.index import refresh_after_check
from kb.rules.alerting.emit_promql_invalid import PromqlInvalid
from kb.rules.context import RuleContext


def repository_prefix(root: Path) -> str:
    """The knowledge base's folder inside its repository ("" at the top, "ops/kb/" below it):
    GitHub resolves annotation and SARIF paths against the repository root. On Actions the
    workspace is the repository; elsewhere the nearest folder above with a .git entry."""
    here = root.resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    candidates = [Path(workspace).resolve()] if workspace else []
    candidates += [folder for folder in (here, *here.parents) if (folder / ".git").exists()][:1]
    for top in candidates:
        try:
            rel = here.relative_to(top).as_posix()
        except ValueError:
            continue
        return "" if rel in ("", ".") else rel + "/"
    return ""


def relative_paths(root: Path, paths: list[Path]) -> set[str]:
    """The KB-relative paths to report on; empty when one of them is the KB itself."""
    selected = set()
    for path in paths:
        if not os.path.lexists(path):
            raise CommandError(f"{path}: no such file or folder; nothing to check there (a typo?)")
        resolved = path.resolve()
        try:
            selected.add(resolved.relative_to(root).as_posix() if resolved != root else "")
        except ValueError:
            raise CommandError(f"{path} is outside the knowledge base at {root}") from None
    return {p for p in selected if p} if "" not in selected else set()


def check_once(
    root: Path,
    only: set[str] | None,
    select: list[str],
    ignore: list[str],
    changed_since: str | None = None,
    cache_key: str | None = None,
) -> CheckResult:
    """One check from the files (with the per-file records when `cache_key` is given)."""
    started_ns = time.time_ns()
    config = load_config(root)
    session = incremental.start(root, cache_key) if cache_key is not None and not only and not changed_since else None
    active, _ = configure_rules(config, select, ignore)
    settings = config.settings
    promtool = (
        start_hand_written(root, settings.rules_dir, settings.max_file_bytes)
        if any(entry.rule is PromqlInvalid for entry in active)
        else None
    )
    with promtool or nullcontext():
        kb = load_kb(root, session, config)
        replays = PassedReplays(root) if cache_key is not None else None
        ctx = RuleContext(kb, promtool, emitted=session.emitted if session is not None else None, replays=replays)
        if only and not changed_since:
            # `kb check FILE` also reports what FILE causes elsewhere: KB601 when a postmortem adds an
            # alert, the router when a card changes... (the same dependents as --changed-since)
            widened = with_dependents(kb, only, ctx.text_paths())
            only = None if widened is None else widened
        if changed_since:
            try:
                selected = with_dependents(kb, git_changed_since(root, changed_since), ctx.text_paths())
            except ChangesProblem as exc:
                raise CommandError(str(exc)) from None
            if selected is not None:
                only = (only & selected) if only else selected
                if not only:
                    only = {"\0nothing"}  # nothing changed: report on nothing
        result = run_check(ctx, select=select, ignore=ignore, only_paths=only or None, memo=session)
    if replays is not None:
        replays.save()
    if session is not None:
        incremental.finish(
            root,
            kb.settings,
            session,
            result.router_pages or [],
            ctx.emitted_if_built,
            [doc.path for doc in kb.postmortems],
            kb.postmortems,
            delta.cited_paths(root, [*kb.cards, *kb.postmortems]),
        )
        result.inputs = session.inputs()
        # the warm card index kb route and kb access read, from the cards this check read
        refresh_after_check(root, kb.cards, session.records, started_ns, len(session.changed))
    return result


def write_report(path: Path, report: str) -> None:
    """The report into a file, atomically; into a device or a pipe (`-o /dev/stdout`) as a
    stream, since those cannot be replaced (and must never be: -o /dev/full fails, ENOSPC)."""
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(report)
        except OSError as exc:
            if exc.filename is None:  # a failed write or flush does not name the file: kb does
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            raise
        return
    write_atomic(path, report)


@verb
def run(
    paths: list[Path] | None = None,
    output_format: str | None = None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    output: Path | None = None,
    changed_since: str | None = None,
    root: Path | None = None,
) -> int:
    if output_format is not None and output_format not in FORMATS:
        raise CommandError(f"--format is one of {', '.join(FORMATS)}, not '{output_format}'")
    # `kb check sub/kb/cards/x.yaml` from a repository root (what pre-commit runs) finds the
    # knowledge base from the paths given
    start = root if root is not None or not paths else (paths[0] if paths[0].is_dir() else paths[0].parent)
    base = kb_root(start)
    only = relative_paths(base, paths) if paths else None
    chosen, skipped = split_list(select), split_list(ignore)
    for flag, patterns in (("--select", chosen), ("--ignore", skipped)):
        if unknown := unknown_patterns(patterns):
            raise CommandError(f"{flag}: no rule matches {', '.join(map(repr, unknown))} (see `kb rules`)")

    def once(key: str | None = None) -> CheckResult:
        return check_once(base, only, chosen, skipped, changed_since, key)

    if changed_since or os.environ.get("KB_NO_CACHE"):
        result = once()  # --changed-since depends on git state, which the cache key does not cover
    else:
        result = cached_check(base, once, select=chosen, ignore=skipped, only=sorted(only or []))
    fmt = output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    color = fmt == "text" and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    config = load_config(base) if fmt in ("github", "sarif") else None
    report = render(
        result,
        fmt,
        color=color,
        path_prefix=repository_prefix(base) if config else "",
        site_url=config.site_url if config else "",
    )
    if output is not None:
        write_report(output, report)
    else:
        echo(report, nl=False)
    return result.exit_code
