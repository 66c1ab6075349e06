"""A cached `kb check` result, for the run where nothing changed.

The key is the content of every input file (cards, postmortems, references, rules,
templates, schedules, memberships, runs, oncall.yaml, mkdocs.yml and every router page),
kb's version, the options, the day (stale-card and overdue rules depend on it), whether
promtool is installed, and what the configured rules declare they read or run
(`Rule.reads`: KB608's Alertmanager file; `Rule.tools`: amtool's and promtool's builds). File
stats only decide which files to hash again: a file whose stat changed is re-read, so a
touched but unchanged file still hits, and an edited one never does. A damaged cache entry
is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat as stat_module
import time
from pathlib import Path

from kb import __version__
from kb.analysis.schedule import tz_stamp
from kb.cache import delta
from kb.cache import store as cache
from kb.check.engine import CheckResult, configure_rules
from kb.config.mkdocs import read_paths
from kb.config.settings import load_config
from kb.core import markdown_render, safefile
from kb.core.diagnostics import Diagnostic
from kb.core.paths import OutsideKB, confine, is_outside
from kb.emit import promtool
from kb.load.router import router_for
from kb.rules import all_rules

RACY_NS = 2_000_000_000  # files modified this recently are hashed next time, as git does with its index

CACHE_FILE = "check-result.json"


def _walk(root: Path, folder: str) -> list[str]:
    found: list[str] = []
    base = root / folder
    if not base.is_dir() or is_outside(root, folder):
        return found  # a folder linked out of the KB is never read (KB102), nor walked here (runs -> /tmp)
    visited: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")  # once per folder: 13,000 files share one
        visited.add(os.path.realpath(dirpath))
        # hidden folders and folders linked inside the KB are read by the loaders: walked too
        dirnames[:] = _descend(root, dirpath, rel, sorted(dirnames), found, visited)
        found += [f"{rel}/{name}" for name in sorted(filenames)]
    return found


def _descend(root: Path, dirpath: str, rel: str, dirnames: list[str], found: list[str], visited: set[str]) -> list[str]:
    """The subfolders to walk: every one, but a link out of the KB (KB102 reports it) or to a
    folder already walked (a loop, or the same files twice) is an input itself (its target's
    stat), never walked."""
    kept = []
    for name in dirnames:
        full = os.path.join(dirpath, name)
        if os.path.islink(full):
            if is_outside(root, f"{rel}/{name}") or os.path.realpath(full) in visited:
                found.append(f"{rel}/{name}")
                continue
        kept.append(name)
    return kept


def input_files(root: Path, settings, router_pages: list[str]) -> list[str]:
    files = []
    for folder in (
        settings.cards_dir,
        settings.postmortems_dir,
        settings.references_dir,
        settings.rules_dir,
        settings.templates_dir,
        "schedules",  # rotations' iCalendar exports and groups' membership exports (oncall.yaml names them)
        "memberships",
        settings.runs_dir,
    ):
        # the folder itself too: when it is a link, a file or a loop, nothing is walked
        files += [folder.strip("/"), *_walk(root, folder.strip("/"))]
    files += [settings.oncall, "mkdocs.yml", settings.router, *router_pages]
    return sorted(set(files))


def _stat(path: Path | str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # ctime too: an edit that puts the mtime back (cp -p, rsync -t) still moves it (outside review)
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _digest(path: str) -> str | None:
    try:
        return hashlib.blake2b(safefile.read_bytes(path), digest_size=16).hexdigest()
    except OSError:
        return path_kind(path)


def path_kind(path: str) -> str | None:
    """What a path that is not read as a file is: a folder, a link with its target's text, or
    something else; None when nothing is there. A configured folder that becomes a link out of
    the KB, a plain file or a link loop changes the answer (KB102, KB103): it changes this too."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat_module.S_ISLNK(st.st_mode):
        try:
            return "link:" + os.readlink(path)
        except OSError:
            return "link"
    return "dir" if stat_module.S_ISDIR(st.st_mode) else "file" if stat_module.S_ISREG(st.st_mode) else "special"


def fingerprint(
    root: Path,
    files: list[str],
    previous: dict | None,
    known: dict[str, list] | None = None,
    taken: dict[str, list[int] | None] | None = None,
) -> tuple[dict[str, list], str]:
    """Stats and a content hash of the input files; unchanged stats reuse the previous digests.
    `known` gives [stat, digest] of files already seen this run, taken as they are; `taken`,
    when given, receives every stat as taken (racy ones too), before the file was read."""
    old = (previous or {}).get("files") or {}
    known = known or {}
    racy = time.time_ns() - RACY_NS
    stats: dict[str, list] = {}
    overall = hashlib.blake2b(digest_size=16)
    base = str(root)
    for rel in files:
        if rel in known:
            stats[rel] = known[rel]
            overall.update(f"{rel}\0{known[rel][1]}\0".encode())
            continue
        path = os.path.join(base, rel)
        stat = _stat(path)
        if taken is not None:
            taken[rel] = stat
        entry = old.get(rel)
        if stat is None:
            digest = path_kind(path)  # nothing there, or a link that leads nowhere (a loop)
        elif isinstance(entry, list) and len(entry) == 2 and entry[0] == stat:
            digest = entry[1]
        else:
            digest = _digest(path)
        if stat is not None and stat[0] >= racy:
            stat = None  # modified just now: hash it again next time (a same-size edit may share this stat)
        stats[rel] = [stat, digest]
        overall.update(f"{rel}\0{digest}\0".encode())
    return stats, overall.hexdigest()


def options_key(**options) -> str:
    data = {**options, "kb": __version__, "code": cache.code_stamp(), "promtool": promtool.executable() is not None}
    data["tz"] = tz_stamp()  # schedules' offsets come from the time-zone database (outside review)
    return hashlib.blake2b(json.dumps(data, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def _tool_stamp(name: str) -> list | None:
    """Where a program is and which build (the resolved file's stat: installing, upgrading or
    replacing it changes it); None when it is not on PATH."""
    found = shutil.which(name)
    if found is None:
        return None
    real = os.path.realpath(found)
    return [real, *(_stat(real) or [])]


def _read_digest(root: Path, rel: str) -> str | None:
    """A configured file's content digest, when it is a file inside the KB (a rule reports any other)."""
    try:
        return _digest(str(confine(root, rel)))
    except (OutsideKB, OSError):
        return None


def rule_inputs(root: Path, config, select: list[str], ignore: list[str]) -> dict:
    """What the configured rules read beyond the KB's folders and the programs they run: the
    files' contents and the programs' stamps, for the key (a stale pass after editing the
    Alertmanager configuration, or an "amtool not installed" kept after installing it, is a
    wrong answer)."""
    active, _ = configure_rules(config, select, ignore)
    files = sorted({rel for entry in active for rel in entry.rule.reads(entry.options)})
    tools = sorted({name for entry in active for name in entry.rule.tools})
    return {
        "docs_dir": path_kind(os.path.join(root, config.docs_dir)),  # KB104 looks at it
        "reads": {rel: _read_digest(root, rel) for rel in files},
        "tools": {name: _tool_stamp(name) for name in tools},
    }


def cached_check(root: Path, run, **options):
    """The result of `run()` for this KB, or the cached one when no input changed since."""
    config = load_config(root)
    if markdown_render.reads_files(config.markdown_extensions):
        # an extension reads files no cache lists, relative to the working folder: never cached
        return run(None)
    inputs = rule_inputs(root, config, options.get("select") or [], options.get("ignore") or [])
    # mkdocs.yml's !ENV values come from the environment, not the file: the resolved config is part of the key
    key = options_key(
        **options,
        today=config.today().isoformat(),
        rules=inputs,
        site_url=config.site_url,
        settings=config.settings.model_dump_json(),
        markdown_extensions=config.markdown_extensions,
    )
    taken: dict[str, list[int] | None] = {}  # the look-up's stats, each before it read the file
    hit, previous, seen = lookup(root, config.settings, key, taken)
    if hit is not None:
        rules = all_rules()
        return CheckResult(hit[0], hit[1], {code: rules[code] for code in hit[2] if code in rules})
    if seen is not None:  # the look-up walked and stat'ed every input: its listing and its stats, before any read
        listed, before = list(taken), taken
    else:
        listed = input_files(root, config.settings, (previous or {}).get("router_pages") or [])
        # every input's stat BEFORE the run reads it: one that changed during the run is never stored
        before = stat_inputs(root, listed)
    started_ns = file_clock_ns()
    if not options.get("only"):
        chosen, skipped = options.get("select") or [], options.get("ignore") or []
        found = delta.try_delta(root, config, key, previous, seen, chosen, skipped)
        if found is not None:
            result, facts, read = found
            # the delta path keeps the last router pages: the files are the look-up's, walked once
            if not changed_during(root, delta.watched(config.settings, listed, read), before, started_ns):
                store(root, config.settings, key, result, result.router_pages or [], previous, seen, listed)
                delta.write_facts(root, delta.facts_key(), facts)
            return result
    result = run(key)
    pages = result.router_pages if result.router_pages is not None else _router_pages(root)
    # What this result was computed from: the digests of the files the run read (never a
    # later re-read, which could pair new content with an old result), else the lookup's.
    known = {**(seen or {}), **result.inputs}
    if not changed_during(root, input_files(root, config.settings, pages), before, started_ns):
        store(root, config.settings, key, result, pages, previous, known)
    return result


def file_clock_ns() -> int:
    """The start of a run, to compare with the mtime and ctime of files the run found that were
    not listed before it. The fine real-time clock: a file written before the run began has a
    time before it, fine-grained or coarse (never a false "changed"). One written after it on a
    coarse-stamped file system may read up to a tick (a few ms) earlier; a run reads no router
    page or cited file that early (it loads settings, stats its inputs and reads the cards
    first), so such a write came before the run read the file, and the run saw it. (The
    coarse clock itself was tried: file times there run ahead of it, a false "changed".)"""
    return time.time_ns()


def stat_inputs(root: Path, files: list[str]) -> dict[str, list[int] | None]:
    """The stat (None: absent or unreadable) of each input, taken before a run reads it."""
    base = str(root)
    return {rel: _stat(os.path.join(base, rel)) for rel in files}


def changed_during(root: Path, files: list[str], before: dict[str, list[int] | None], started_ns: int) -> bool:
    """Whether an input may have changed while the run read it: its stat is not the one taken
    before the run, or (a file the run found that was not listed before: a new router page, a
    cited file) it changed after the run began. A result computed from such a mix is not kept:
    a save during a cold check would otherwise be stored as checked (outside review)."""
    base = str(root)
    for rel in files:
        now = _stat(os.path.join(base, rel))
        if rel in before:
            if now != before[rel]:
                return True
        elif now is not None and max(now[0], now[3]) >= started_ns:
            return True
    return False


def _router_pages(root: Path) -> list[str]:
    try:
        paths = read_paths(root)
    except OSError:
        return []  # mkdocs.yml unreadable: kb check reports it at the file
    return [page.path for page in router_for(root, paths).pages]


def lookup(root: Path, settings, options: str, taken: dict[str, list[int] | None] | None = None):
    """The cached (diagnostics, files_checked, rule codes) or None, the cache entry, and the
    stats and digests seen of the input files (`taken` receives the stats as taken)."""
    entry = cache.read(root, CACHE_FILE)
    if not entry or entry.get("options") != options:
        return None, entry, None
    try:
        files = input_files(root, settings, entry.get("router_pages") or [])
        stats, digest = fingerprint(root, files, entry, taken=taken)
        if digest != entry.get("digest"):
            return None, entry, stats
        diagnostics = [Diagnostic.from_plain(d) for d in entry["diagnostics"]]
        if stats != entry.get("files"):  # touched, unchanged: keep the new stats so the next run skips hashing
            cache.write(root, CACHE_FILE, {**entry, "files": stats})
        return (diagnostics, entry["files_checked"], entry["rules"]), entry, stats
    except Exception:  # noqa: BLE001 - a damaged entry is a miss, never a crash
        return None, None, None


def store(
    root: Path,
    settings,
    options: str,
    result,
    router_pages: list[str],
    previous: dict | None,
    known: dict[str, list] | None = None,
    files: list[str] | None = None,
) -> None:
    files = files if files is not None else input_files(root, settings, router_pages)
    stats, digest = fingerprint(root, files, previous, known)
    diagnostics = [d.to_plain() for d in result.diagnostics]
    cache.write(
        root,
        CACHE_FILE,
        {
            "options": options,
            "digest": digest,
            "files": stats,
            "router_pages": router_pages,
            "diagnostics": diagnostics,
            "files_checked": result.files_checked,
            "rules": sorted(result.rules),
        },
    )
