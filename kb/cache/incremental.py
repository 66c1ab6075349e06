"""The run after a few files changed: re-read only those, re-run per-document rules on them alone.

A check records, per card, postmortem and rule file, its stat, content digest, built YAML
value, load findings and the findings of the document rules (kb.rules.base.DocumentRule).
The next check takes a file's record when its stat, or failing that its content, is the same,
and runs document rules only on the files that changed; rules that read across documents
always run on the whole KB. The session plugs into the loader as its Recorder and into the
engine as its DocumentMemo (protocols those layers define).

A record is used only under the same options key (kb's code, options, the day, promtool) and
the same shared inputs (mkdocs.yml, oncall.yaml, references, templates, router pages): any
change there is a cold run. The state is written with marshal (zlib-compressed), which builds plain values and
never runs code (pickle would run whatever a poisoned CI cache held), and its shape is checked
on load: a damaged state is a cold run, never a different answer.
"""

from __future__ import annotations

import hashlib
import io
import marshal
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import __version__
from kb.cache import delta, store
from kb.cache.result import RACY_NS, changed_during, file_clock_ns, input_files, path_kind, stat_inputs
from kb.config.settings import Settings, load_config
from kb.core import safefile
from kb.core.diagnostics import Finding
from kb.emit.build import AlertSource, Emitted, ReplaySuite, build
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.records import Record, RuleFileRecord
from kb.load.rulefiles import AlertRule, RuleFile
from kb.model import Postmortem

STATE_FILE = "check-state.marshal"
MAX_PLAIN = 1 << 31  # the uncompressed state (about 5 KB per document)
FORMAT = 10  # 6: emitted files one per postmortem; 7: replay suites; 8: stats carry the ctime; 9: zlib, streamed;
# 10: a record's suppressions flag is any `kb:` (a `kb:ignore[...]` without a space was missed)


@dataclass
class State:
    key: str
    shared: str
    router_pages: list[str]
    records: dict[str, Record] = field(default_factory=dict)
    rule_files: dict[str, RuleFileRecord] = field(default_factory=dict)
    emitted: Emitted | None = None  # built from the postmortems in emitted_from
    emitted_from: list[str] = field(default_factory=list)
    count: int = 0  # records that follow the head in the stored stream


@dataclass
class Session:
    """One check's view of the previous state and what it records for the next."""

    key: str
    shared: str | None  # digest of the shared inputs, when a previous state was checked against it
    previous: State | None
    records: dict[str, Record] = field(default_factory=dict)
    rule_files: dict[str, RuleFileRecord] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)  # documents whose content is new since the previous run
    before: dict[str, Any] = field(default_factory=dict)  # the shared inputs' stats before the run read them
    started_ns: int = 0

    # -- kb.load.records.Recorder
    @property
    def warm(self) -> bool:
        return self.previous is not None

    def previous_record(self, path: str) -> Record | None:
        return self.previous.records.get(path) if self.previous else None

    def previous_rule_file(self, path: str) -> RuleFileRecord | None:
        return self.previous.rule_files.get(path) if self.previous else None

    def keep(self, path: str, record: Record, fresh: bool) -> None:
        self.records[path] = record
        if fresh:
            self.changed.add(path)

    def keep_rule_file(self, path: str, record: RuleFileRecord) -> None:
        self.rule_files[path] = record

    # -- kb.check.engine.DocumentMemo
    def fresh(self, path: str) -> bool:
        return self.previous is None or path in self.changed or path not in self.records

    def recorded(self, path: str) -> list[Finding]:
        return list(self.records[path].findings)

    def remember(self, path: str, findings: list[Finding]) -> None:
        record = self.records.get(path)
        if record is not None:
            record.findings = list(findings)

    def inputs(self) -> dict[str, list[Any]]:
        """[stat, digest] of every document and rule file as this run read it."""
        kept: dict[str, list[Any]] = {path: [r.stat, r.digest] for path, r in self.records.items()}
        kept.update({path: [r.stat, r.digest] for path, r in self.rule_files.items()})
        return kept

    def emitted(self, kb: KnowledgeBase) -> Emitted:
        """What `kb emit` would write: the previous run's when the postmortems are the same
        files with the same content (the settings it reads are shared inputs), else built now."""
        paths = [doc.path for doc in kb.postmortems]
        previous = self.previous
        if (
            previous is not None
            and previous.emitted is not None
            and previous.emitted_from == paths
            and not self.changed.intersection(paths)
        ):
            return previous.emitted
        return build(kb)


def shared_files(root: Path, settings: Settings, router_pages: list[str]) -> list[str]:
    documents = (
        settings.cards_dir.strip("/") + "/",
        settings.postmortems_dir.strip("/") + "/",
        settings.rules_dir.strip("/") + "/",
    )
    # the documents are records, and rules across documents always run; but a page there that
    # a card cites or the router looked for (rules/notes.md#section) is judged per document: shared
    named = set(router_pages)
    return [
        path for path in input_files(root, settings, router_pages) if not path.startswith(documents) or path in named
    ]


def shared_digest(root: Path, settings: Settings, router_pages: list[str]) -> str:
    overall = hashlib.blake2b(digest_size=16)
    for rel in shared_files(root, settings, router_pages):
        try:
            digest = hashlib.blake2b(safefile.read_bytes(root / rel), digest_size=16).hexdigest()
        except OSError:
            digest = f"-{path_kind(str(root / rel))}"  # a folder, a link and its target, nothing
        overall.update(f"{rel}\0{digest}\0".encode())
    return overall.hexdigest()


def start(root: Path, key: str) -> Session:
    """A session for this check, with the previous state when it is usable."""
    previous = read_state(root)
    settings = load_config(root).settings
    # the shared inputs' stats before anything reads them: finish keeps nothing if one changed during the run
    before = stat_inputs(root, shared_files(root, settings, previous.router_pages if previous is not None else []))
    started_ns = file_clock_ns()
    if previous is None or previous.key != key:
        return Session(key, None, None, before=before, started_ns=started_ns)
    shared = shared_digest(root, settings, previous.router_pages)
    if previous.shared != shared:
        return Session(key, None, None, before=before, started_ns=started_ns)
    return Session(key, shared, previous, before=before, started_ns=started_ns)


def finish(
    root: Path,
    settings: Settings,
    session: Session,
    router_pages: list[str],
    emitted: Emitted | None,
    postmortem_paths: list[str],
    postmortems: list[Document[Postmortem]] | None = None,
    cited: frozenset[str] | None = None,
) -> None:
    """Record this run for the next (`postmortems`, the loaded ones, tell kb.cache.delta which
    postmortems' emitted files are their own; `cited`, the files documents cite as references,
    which no edit is local to: kb.cache.delta.cited_paths)."""
    racy = time.time_ns() - RACY_NS
    records: list[Record | RuleFileRecord] = [*session.records.values(), *session.rule_files.values()]
    for record in records:
        if record.stat is not None and record.stat[0] >= racy:
            record.stat = None  # written just now: a same-size edit in the same clock tick would keep this stat
    if changed_during(root, shared_files(root, settings, router_pages), session.before, session.started_ns):
        return  # a shared input changed while the run read it: findings from a mix are never replayed
    shared_now = session.shared or shared_digest(root, settings, router_pages)
    state = State(session.key, shared_now, router_pages, session.records, session.rule_files)
    if emitted is not None:
        state.emitted, state.emitted_from = emitted, list(postmortem_paths)
    store.write_bytes(root, STATE_FILE, _dump(state))
    # what a later check needs to take a prose-only edit from the last result (kb.cache.delta)
    documents = tuple(folder.strip("/") + "/" for folder in (settings.cards_dir, settings.postmortems_dir))
    delta.record_facts(root, session.records, (documents[0], documents[1]), postmortems, cited)


def read_state(root: Path) -> State | None:
    raw = store.read_bytes(root, STATE_FILE)
    if raw is None:
        return None
    try:
        return _load(raw)
    except Exception:  # noqa: BLE001 - any decode or validation failure means a cold run, never a crash
        return None


def _record_out(r: Record) -> tuple:
    return (
        r.stat,
        r.digest,
        r.data,
        r.valid,
        r.suppressions,
        r.has_todo,
        [f.to_plain() for f in r.load_findings],
        [f.to_plain() for f in r.findings],
    )


def _dump(state: State) -> bytearray:
    """The state as a zlib stream of marshal objects: the head, then one (path, record) per
    document. Record by record, so that the check never holds a second, whole copy of every
    record's value (110 MB at 10,000 cards, the check's peak memory); compressed, a seventh."""
    compressor = zlib.compressobj(1)
    out = bytearray(compressor.compress(marshal.dumps(_encode(state))))  # grown in place: never chunks and their join
    for path, record in state.records.items():
        out += compressor.compress(marshal.dumps((path, _record_out(record))))
    out += compressor.flush()
    return out


def _load(raw: bytes) -> State | None:
    inflater = zlib.decompressobj()
    plain = inflater.decompress(raw, MAX_PLAIN)
    if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
        raise ValueError("state too large or truncated")  # a poisoned cache is a cold run, never 10 GB
    stream = io.BytesIO(plain)
    state = _decode(marshal.load(stream))
    if state is None:
        return None
    for _ in range(state.count):
        path, (stat, digest, value, valid, suppressions, has_todo, loads, found) = marshal.load(stream)
        if not isinstance(path, str) or not (value is None or isinstance(value, bytes)):
            raise TypeError("record")
        state.records[path] = Record(
            stat,
            str(digest),
            value,
            bool(valid),
            bool(suppressions),
            bool(has_todo),
            [Finding.from_plain(f) for f in loads],
            [Finding.from_plain(f) for f in found],
        )
    if stream.read(1):
        raise TypeError("trailing data")
    return state


def _encode(state: State) -> dict:
    """Everything but the documents' records (which _dump writes one by one after it)."""
    rule_files = {}
    for path, r in state.rule_files.items():
        rf = r.rule_file
        encoded = (
            (
                rf.path,
                rf.owned,
                [(a.name, a.group, a.index, a.runbook_url, a.priority, a.base) for a in rf.alerts],
                rf.kind,
            )
            if rf is not None
            else None
        )
        rule_files[path] = (r.stat, r.digest, encoded, [f.to_plain() for f in r.load_findings])
    return {
        "format": FORMAT,
        "kb": __version__,
        "key": state.key,
        "shared": state.shared,
        "router_pages": state.router_pages,
        "count": len(state.records),
        "rule_files": rule_files,
        "emitted": _emitted_out(state.emitted),
        "emitted_from": state.emitted_from,
    }


def _emitted_out(emitted) -> tuple | None:
    if emitted is None:
        return None
    return (
        emitted.files,
        [(a.group, a.index, a.name, a.path, tuple(a.loc), a.test, a.file) for a in emitted.alerts],
        emitted.sources,
        emitted.ids,
        emitted.origin,
        # KB605 runs these: an Emitted read back without them would replay nothing and pass
        [(suite.group, suite.tests) for suite in emitted.suites],
    )


def _emitted_in(data):
    if data is None:
        return None
    files, alerts, sources, ids, origin, suites = data
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in [*files.items(), *origin.items()]):
        raise TypeError("emitted")
    if set(origin) != set(files):
        raise TypeError("emitted")
    if not all(isinstance(k, str) and all(isinstance(i, str) for i in v) for k, v in ids.items()):
        raise TypeError("emitted")
    if not all(isinstance(group, dict) and isinstance(tests, list) for group, tests in suites):
        raise TypeError("emitted")
    return Emitted(
        files,
        [AlertSource(*a) for a in alerts],
        [str(s) for s in sources],
        dict(ids),
        dict(origin),
        [ReplaySuite(group, tests) for group, tests in suites],
    )


def _decode(data) -> State | None:
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("kb") != __version__:
        return None
    state = State(str(data["key"]), str(data["shared"]), [str(p) for p in data["router_pages"]])
    state.count = int(data["count"])
    for path, (stat, digest, encoded, loads) in data["rule_files"].items():
        rule_file = None
        if encoded is not None:
            rel, owned, alerts, kind = encoded
            rule_file = RuleFile(str(rel), bool(owned), [AlertRule(*a) for a in alerts], str(kind))
        state.rule_files[path] = RuleFileRecord(stat, str(digest), rule_file, [Finding.from_plain(f) for f in loads])
    state.emitted = _emitted_in(data["emitted"])
    state.emitted_from = [str(p) for p in data["emitted_from"]]
    return state
