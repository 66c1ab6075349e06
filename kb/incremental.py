"""The run after a few files changed: re-read only those, re-run per-document rules on them alone.

A check records, per card, postmortem and rule file, its stat, content digest, built YAML
value, load findings and the findings of the rules whose scope is "document" (kb.rules.base);
plus what those rules found on shared files. The next check takes a file's record when its
stat, or failing that its content, is the same, and re-runs document-scoped rules only on the
files that changed; rules that read across documents always run on the whole KB.

A record is used only under the same options key (kb's code, options, the day, promtool) and
the same shared inputs (mkdocs.yml, oncall.yaml, references, templates, router pages): any
change there is a cold run. The state is written with marshal, which builds plain values and
never runs code (pickle would run whatever a poisoned CI cache held), and its shape is checked
on load: a damaged state is a cold run, never a different answer.
"""

from __future__ import annotations

import copy
import hashlib
import marshal
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from kb import __version__, cache
from kb.diagnostics import Finding, Level, Span

STATE_FILE = "check-state.marshal"
FORMAT = 2
RACY_NS = 2_000_000_000  # files modified this recently are hashed next time, as git does with its index


@dataclass
class Record:
    stat: list | None
    digest: str
    data: bytes | None  # marshal of the built YAML value; None when the file did not load
    valid: bool  # the value passed the model
    suppressions: bool
    has_todo: bool
    load_findings: list[Finding] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # document-scoped rules' findings on this file


@dataclass
class RuleFileRecord:
    stat: list | None
    digest: str
    rule_file: object | None  # kb.rulefiles.RuleFile, or None for YAML that is not a rule file
    load_findings: list[Finding] = field(default_factory=list)


@dataclass
class State:
    key: str
    shared: str
    router_pages: list[str]
    records: dict[str, Record] = field(default_factory=dict)
    rule_files: dict[str, RuleFileRecord] = field(default_factory=dict)
    shared_findings: list[Finding] = field(default_factory=list)
    emitted: object | None = None  # kb.emit.Emitted, built from the postmortems in emitted_from
    emitted_from: list[str] = field(default_factory=list)


@dataclass
class Session:
    """One check's view of the previous state and what it records for the next."""

    key: str
    shared: str | None  # digest of the shared inputs, when a previous state was checked against it
    previous: State | None
    records: dict[str, Record] = field(default_factory=dict)
    rule_files: dict[str, RuleFileRecord] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)  # documents whose content is new since the previous run
    _cached: dict[str, list[Finding]] | None = None
    _view: object | None = None

    def inputs(self) -> dict[str, list]:
        """[stat, digest] of every document and rule file as this run read it."""
        return {path: [r.stat, r.digest] for path, r in [*self.records.items(), *self.rule_files.items()]}

    def previous_record(self, path: str) -> Record | None:
        return self.previous.records.get(path) if self.previous else None

    def previous_rule_file(self, path: str) -> RuleFileRecord | None:
        return self.previous.rule_files.get(path) if self.previous else None

    def document_findings(self, kb, rule, options) -> list[Finding]:
        """A document-scoped rule's findings: re-run on the changed documents, the rest as recorded."""
        if self.previous is None:
            return list(rule().check(kb, options))
        if self._cached is None:
            self._cached = {}
            for path, record in self.records.items():
                if path not in self.changed:
                    for finding in record.findings:
                        self._cached.setdefault(finding.code, []).append(finding)
            for finding in self.previous.shared_findings:
                self._cached.setdefault(finding.code, []).append(finding)
        if self._view is None:
            self._view = _view(kb, self.changed)
        view = self._view
        fresh = [f for f in rule().check(view, options) if f.path in self.changed] if self.changed else []
        return fresh + self._cached.get(rule.code, [])


    def emitted(self, kb):
        """What `kb emit` would write: the previous run's when the postmortems are the same
        files with the same content (the settings it reads are shared inputs), else built now."""
        from kb.emit import build

        paths = [doc.path for doc in kb.postmortems]
        previous = self.previous
        if previous is not None and previous.emitted is not None and previous.emitted_from == paths \
                and not self.changed.intersection(paths):
            return previous.emitted
        return build(kb)


def _view(kb, changed: set[str]):
    """The KB with only the changed cards and postmortems; shared parts are built once, on kb."""
    kb.access()
    kb.router()
    view = copy.copy(kb)
    view.cards = [doc for doc in kb.cards if doc.path in changed]
    view.postmortems = [doc for doc in kb.postmortems if doc.path in changed]
    return view


def shared_files(root: Path, settings, router_pages: list[str]) -> list[str]:
    from kb.check_cache import input_files

    documents = (settings.cards_dir.strip("/") + "/", settings.postmortems_dir.strip("/") + "/",
                 settings.rules_dir.strip("/") + "/")
    return [path for path in input_files(root, settings, router_pages) if not path.startswith(documents)]


def shared_digest(root: Path, settings, router_pages: list[str]) -> str:
    overall = hashlib.blake2b(digest_size=16)
    for rel in shared_files(root, settings, router_pages):
        try:
            digest = hashlib.blake2b((root / rel).read_bytes(), digest_size=16).hexdigest()
        except OSError:
            digest = "-"
        overall.update(f"{rel}\0{digest}\0".encode())
    return overall.hexdigest()


def start(root: Path, key: str) -> Session:
    """A session for this check, with the previous state when it is usable."""
    from kb.settings import load_config

    previous = read_state(root)
    if previous is None or previous.key != key:
        return Session(key, None, None)
    shared = shared_digest(root, load_config(root).settings, previous.router_pages)
    if previous.shared != shared:
        return Session(key, None, None)
    return Session(key, shared, previous)


def finish(root: Path, kb, session: Session, scoped: list[Finding]) -> None:
    """Record this run for the next: every document's findings regrouped from this run's."""
    racy = time.time_ns() - RACY_NS
    for record in [*session.records.values(), *session.rule_files.values()]:
        if record.stat is not None and record.stat[0] >= racy:
            record.stat = None  # written just now: a same-size edit in the same clock tick would keep this stat
    for record in session.records.values():
        record.findings = []
    shared: list[Finding] = []
    for finding in scoped:
        record = session.records.get(finding.path)
        (record.findings if record is not None else shared).append(finding)
    pages = kb.text_paths()
    shared_now = session.shared or shared_digest(root, kb.settings, pages)
    state = State(session.key, shared_now, pages, session.records, session.rule_files, shared)
    if kb._emitted is not None:
        state.emitted, state.emitted_from = kb._emitted, [doc.path for doc in kb.postmortems]
    cache.write_bytes(root, STATE_FILE, marshal.dumps(_encode(state)))


def read_state(root: Path) -> State | None:
    raw = cache.read_bytes(root, STATE_FILE)
    if raw is None:
        return None
    try:
        return _decode(marshal.loads(raw))
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def file_digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


# marshal holds only plain values: findings and rule files travel as tuples.

def finding_to_plain(f: Finding) -> tuple:
    span = (f.span.line, f.span.column, f.span.end_line, f.span.end_column) if f.span else None
    return (f.path, f.message, tuple(f.loc), f.at, span, f.code, f.level.value if f.level else None)


def finding_from_plain(t) -> Finding:
    path, message, loc, at, span, code, level = t
    if not (isinstance(path, str) and isinstance(message, str) and isinstance(loc, tuple) and isinstance(code, str)):
        raise TypeError("finding")
    return Finding(path, message, loc, at, Span(*span) if span is not None else None, code,
                   Level(level) if level is not None else None)


def _encode(state: State) -> dict:
    records = {path: (r.stat, r.digest, r.data, r.valid, r.suppressions, r.has_todo,
                      [finding_to_plain(f) for f in r.load_findings], [finding_to_plain(f) for f in r.findings])
               for path, r in state.records.items()}
    rule_files = {}
    for path, r in state.rule_files.items():
        rf = r.rule_file
        encoded = (rf.path, rf.owned, [(a.name, a.group, a.index, a.runbook_url) for a in rf.alerts]) \
            if rf is not None else None
        rule_files[path] = (r.stat, r.digest, encoded, [finding_to_plain(f) for f in r.load_findings])
    return {"format": FORMAT, "kb": __version__, "key": state.key, "shared": state.shared,
            "router_pages": state.router_pages, "records": records, "rule_files": rule_files,
            "shared_findings": [finding_to_plain(f) for f in state.shared_findings],
            "emitted": _emitted_out(state.emitted), "emitted_from": state.emitted_from}


def _emitted_out(emitted) -> tuple | None:
    if emitted is None:
        return None
    return (emitted.files, [(a.group, a.index, a.name, a.path, tuple(a.loc)) for a in emitted.alerts],
            emitted.sources)


def _emitted_in(data):
    from kb.emit import AlertSource, Emitted

    if data is None:
        return None
    files, alerts, sources = data
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise TypeError("emitted")
    return Emitted(files, [AlertSource(*a) for a in alerts], [str(s) for s in sources])


def _decode(data) -> State | None:
    from kb.rulefiles import AlertRule, RuleFile

    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("kb") != __version__:
        return None
    state = State(str(data["key"]), str(data["shared"]), [str(p) for p in data["router_pages"]])
    for path, (stat, digest, value, valid, suppressions, has_todo, loads, found) in data["records"].items():
        if not isinstance(path, str) or not (value is None or isinstance(value, bytes)):
            raise TypeError("record")
        state.records[path] = Record(stat, str(digest), value, bool(valid), bool(suppressions), bool(has_todo),
                                     [finding_from_plain(f) for f in loads], [finding_from_plain(f) for f in found])
    for path, (stat, digest, encoded, loads) in data["rule_files"].items():
        rule_file = None
        if encoded is not None:
            rel, owned, alerts = encoded
            rule_file = RuleFile(str(rel), bool(owned), [AlertRule(*a) for a in alerts])
        state.rule_files[path] = RuleFileRecord(stat, str(digest), rule_file, [finding_from_plain(f) for f in loads])
    state.shared_findings = [finding_from_plain(f) for f in data["shared_findings"]]
    state.emitted = _emitted_in(data["emitted"])
    state.emitted_from = [str(p) for p in data["emitted_from"]]
    return state


def decode_value(record: Record):
    """The recorded YAML value of a document; only plain values pass."""
    value = marshal.loads(record.data)
    if not isinstance(value, dict):
        raise TypeError("value")
    return value


def file_stat(path: Path | str) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def encode_value(value) -> bytes | None:
    return marshal.dumps(value) if value is not None else None
