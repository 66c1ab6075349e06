"""The knowledge base in memory: every file loaded, validated and indexed once."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from kb import yamlio
from kb.diagnostics import Finding, Span
from kb.models import Card, Oncall, Postmortem
from kb.schema_errors import findings_from
from kb.settings import Config, load_config

YAML_PARSE = "KB100"
SECRET = "KB701"
M = TypeVar("M", bound=BaseModel)


@dataclass
class Document(Generic[M]):
    path: str  # relative to the KB root, with forward slashes
    data: dict[str, Any] | None = None
    model: M | None = None
    suppressions: bool = False  # the raw text mentions `kb: ignore`
    has_todo: bool = False  # the raw text mentions todo: only then does KB150 walk the values
    # credentials found in the file (kb.secrets), not allowlisted: never published. Only a
    # freshly read document knows them; the check's per-file records keep no secret.
    secret_values: frozenset[str] = frozenset()


@dataclass
class KnowledgeBase:
    config: Config
    cards: list[Document[Card]] = field(default_factory=list)
    postmortems: list[Document[Postmortem]] = field(default_factory=list)
    oncall: Document[Oncall] | None = None
    load_findings: dict[str, list[Finding]] = field(default_factory=dict)
    _access: Any = field(default=None, repr=False)
    _router: Any = field(default=None, repr=False)
    rule_files: list = field(default_factory=list)  # kb.rulefiles.RuleFile, hand-written and emitted
    promtool_hand_written: Any = field(default=None, repr=False)  # kb.promtool.Running, started at load
    _emitted: Any = field(default=None, repr=False)
    session: Any = field(default=None, repr=False)  # kb.incremental.Session: reuse and record per-file state

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def settings(self):
        return self.config.settings

    def card_by_id(self) -> dict[str, Document[Card]]:
        return _index_by_id(self.cards)

    def postmortem_by_id(self) -> dict[str, Document[Postmortem]]:
        return _index_by_id(self.postmortems)

    def documents(self) -> list[Document]:
        docs: list[Document] = [*self.cards, *self.postmortems]
        if self.oncall is not None:
            docs.append(self.oncall)
        return docs

    def access(self):
        """The access model of oncall.yaml, or None when it is missing or invalid."""
        if self.oncall is None or self.oncall.model is None:
            return None
        if self._access is None:
            from kb.access import AccessModel

            self._access = AccessModel(self.oncall.model)
        return self._access

    def router(self):
        """The router and its sub-routers, parsed once."""
        if self._router is None:
            from kb.router import load_router

            s = self.settings
            self._router = load_router(self.root, s.router, s.cards_dir.strip("/"), s.references_dir.strip("/"))
        return self._router

    def emitted(self):
        """What `kb emit` would write now (built once per check)."""
        if self._emitted is None:
            from kb.emit import build

            self._emitted = self.session.emitted(self) if self.session is not None else build(self)
        return self._emitted

    def secret_values(self) -> frozenset[str]:
        """Every credential in the KB that is not allowlisted: documents, references, router pages."""
        from kb.secrets import scan

        values = set().union(*(doc.secret_values for doc in self.documents()))
        for rel in self.text_files():
            try:
                raw = (self.root / rel).read_bytes()
            except OSError:
                continue
            values.update(h.value for h in scan(raw, rel) if not h.allowed)
        return frozenset(values)

    def text_files(self) -> list[str]:
        """The Markdown the site publishes besides the YAML: router pages and references."""
        refs = self.root / self.settings.references_dir.strip("/")
        found = set(self.text_paths())
        if refs.is_dir():
            for path in sorted(refs.rglob("*.md")):
                if not path.is_symlink():
                    found.add(path.relative_to(self.root).as_posix())
        return sorted(found)

    def text_paths(self) -> list[str]:
        """Non-YAML files kb checks (router pages), for inline suppressions."""
        router = self.router()
        return [page.path for page in router.pages]

    def add_finding(self, finding: Finding) -> None:
        self.load_findings.setdefault(finding.code, []).append(finding)


def _index_by_id(docs: list[Document[M]]) -> dict[str, Document[M]]:
    """Documents by id; one that failed validation still owns its id, so a single schema
    error does not cascade into "does not exist" on every file that links it."""
    index: dict[str, Document[M]] = {}
    for doc in docs:
        doc_id = doc.model.id if doc.model is not None else (doc.data or {}).get("id")
        if isinstance(doc_id, str):
            index.setdefault(doc_id, doc)
    return index


def _yaml_files(folder: Path) -> list[Path]:
    return [folder / name for name in _yaml_names(folder)]


def _yaml_names(folder: Path) -> list[str]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(entry.name for entry in entries if entry.name.endswith((".yaml", ".yml")) and entry.is_file())


def _load_folder(kb: KnowledgeBase, folder: str, model: type[M]) -> list[Document[M]]:
    from kb.parallel_load import Prefetch

    folder = os.path.normpath(folder).replace(os.sep, "/")  # "./cards/" names files as cards/<name>
    names = _yaml_names(kb.root / folder)
    outside = set(links_outside(kb.root, [f"{folder}/{name}" for name in names]))
    rels = [f"{folder}/{name}" for name in names if f"{folder}/{name}" not in outside]
    cold = kb.session is None or kb.session.previous is None  # otherwise most files come from records
    with Prefetch(kb, rels if cold else []) as prefetch:
        return [load_document(kb, rel, model, prefetch.take(rel)) for rel in rels]


def links_outside(root: Path, rels: list[str]) -> list[str]:
    """The paths among `rels` that are symlinks resolving outside the KB (never read; KB102)."""
    from kb.paths import inside

    return [rel for rel in rels if os.path.islink(os.path.join(root, rel)) and inside(root, rel) is None]


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@dataclass
class Parsed:
    """What reading one file gives before its model is validated: plain values only, so a
    helper process can produce it (kb.parallel_load)."""

    stat: list | None
    digest: str | None
    raw_flags: tuple[bool, bool]  # (mentions `kb: ignore`, mentions todo)
    data: dict[str, Any] | None
    findings: list[Finding]
    secret_values: frozenset[str]


def load_document(kb: KnowledgeBase, rel: str, model: type[M], parsed: Parsed | None = None) -> Document[M]:
    """The document at `rel` (a path under the KB root, with forward slashes); `parsed` is
    the file already read by a helper process."""
    path = os.path.join(kb.root, rel)  # strings, not Paths: 13,000 files per run
    session = kb.session
    if parsed is None:
        stat = previous = None
        if session is not None:
            from kb import incremental

            stat = incremental.file_stat(path)
            previous = session.previous_record(rel)
            if previous is not None and stat is not None and previous.stat == stat:
                return _reuse(kb, rel, previous, model)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            kb.add_finding(Finding(rel, f"cannot read the file: {exc.strerror}", code=YAML_PARSE))
            return Document(rel)
        digest = None
        if session is not None:
            digest = incremental.file_digest(raw)
            if previous is not None and previous.digest == digest:
                previous.stat = stat
                return _reuse(kb, rel, previous, model)
        parsed = parse_document(rel, raw, kb.settings.max_file_bytes, stat, digest)
    return _validated(kb, rel, model, parsed)


def parse_document(rel: str, raw: bytes, max_bytes: int, stat: list | None, digest: str | None) -> Parsed:
    found, secrets = secret_findings(rel, raw)
    try:
        data = yamlio.load_mapping(raw, max_bytes)
    except yamlio.YamlProblem as problem:
        data = None
        found.append(Finding(rel, problem.message, span=problem.span, code=YAML_PARSE))
    return Parsed(stat, digest, (b"kb: ignore" in raw, b"todo" in raw.lower()), data, found, secrets)


def _validated(kb: KnowledgeBase, rel: str, model: type[M], parsed: Parsed) -> Document[M]:
    doc: Document[M] = Document(rel, data=parsed.data, suppressions=parsed.raw_flags[0], has_todo=parsed.raw_flags[1],
                                secret_values=parsed.secret_values)
    found = list(parsed.findings)
    if doc.data is not None:
        try:
            doc.model = model.model_validate(doc.data)
        except ValidationError as exc:
            found += findings_from(exc, model, rel)
    session = kb.session
    if session is not None:
        from kb import incremental

        session.changed.add(rel)
        session.records[rel] = incremental.Record(
            parsed.stat, parsed.digest, incremental.encode_value(doc.data), doc.model is not None, doc.suppressions,
            doc.has_todo, found)
    for finding in found:
        kb.add_finding(finding)
    if doc.model is not None and not doc.has_todo:
        doc.data = None  # the model holds it all; only KB150 reads raw values, of files that mention todo
    return doc


def secret_findings(rel: str, raw: bytes) -> tuple[list[Finding], frozenset[str]]:
    """KB701 findings for the credentials in `raw`, and the values to keep off every page
    (not allowlisted); a message never holds the value."""
    from kb.secrets import scan

    hits = scan(raw, rel)
    findings = [Finding(rel, secret_message(hit.kind), span=Span(hit.line, hit.column, hit.line, hit.end_column),
                        code=SECRET) for hit in hits]
    return findings, frozenset(h.value for h in hits if not h.allowed)


def secret_message(kind: str) -> str:
    return (f"a credential ({kind}) is pasted here: remove it, rotate it, and reference the secret store "
            "instead; if it is not a credential, say so with `# kb: ignore[KB701]` on this line")


def _reuse(kb: KnowledgeBase, rel: str, record, model: type[M]) -> Document[M]:
    """A document unchanged since the previous check, from its record: no YAML parse."""
    from kb import incremental

    doc: Document[M] = Document(rel, suppressions=record.suppressions, has_todo=record.has_todo)
    if record.data is not None:
        doc.data = incremental.decode_value(record)
        if record.valid:
            doc.model = model.model_validate(doc.data)
            if not doc.has_todo:
                doc.data = None
    kb.session.records[rel] = record
    for finding in record.load_findings:
        kb.add_finding(finding)
    return doc


@contextmanager
def _gc_paused():
    """Loading builds millions of small objects and no cycles; the cyclic collector would walk
    them again and again (a quarter of the load time at 10,000 cards, and two thirds of the
    model validation). Paused while loading; what was built is then frozen out of later
    collections."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def load_kb(root: Path, session=None) -> KnowledgeBase:
    """Every file of the KB at `root`, validated. With a kb.incremental.Session, files unchanged
    since its previous state come from their records, and every file is recorded."""
    from kb import anchors

    anchors.forget()
    kb = KnowledgeBase(load_config(root), session=session)
    for problem in kb.config.problems:
        kb.add_finding(problem)
    settings = kb.settings
    kb.promtool_hand_written = start_promtool(kb)
    with _gc_paused():
        kb.cards = _load_folder(kb, settings.cards_dir, Card)
        kb.postmortems = _load_folder(kb, settings.postmortems_dir, Postmortem)
        oncall = _rel(root, root / settings.oncall)
        if (root / settings.oncall).is_file() and not links_outside(root, [oncall]):
            kb.oncall = load_document(kb, oncall, Oncall)
        kb.rule_files = load_rule_files(kb)
    return kb


def start_promtool(kb: KnowledgeBase):
    """promtool over the hand-written rule files, in the background while the YAML loads."""
    from kb.emit import is_owned
    from kb.promtool import Running, executable

    if executable() is None:
        return None
    files = [p for p in _yaml_files(kb.root / kb.settings.rules_dir) if not is_owned(p)
             and not p.is_symlink() and p.stat().st_size <= kb.settings.max_file_bytes]
    return Running(files)


def load_rule_files(kb: KnowledgeBase) -> list:
    session = kb.session
    files = []
    for path in _yaml_files(kb.root / kb.settings.rules_dir):
        rel = _rel(kb.root, path)
        if links_outside(kb.root, [rel]):
            continue
        record = _rule_file_record(kb, path, rel, session.previous_rule_file(rel) if session else None)
        if record is None:
            continue
        if session is not None:
            session.rule_files[rel] = record
        for finding in record.load_findings:
            kb.add_finding(finding)
        if record.rule_file is not None:
            files.append(record.rule_file)
    return files


def _rule_file_record(kb: KnowledgeBase, path: Path, rel: str, previous):
    """The rule file at `path` as a kb.incremental.RuleFileRecord: the previous one when its stat or
    content is the same, else read now; None when it cannot be read (reported)."""
    from kb import incremental
    from kb.emit import is_owned
    from kb.rulefiles import read_rule_file

    stat = incremental.file_stat(path)
    if previous is not None and previous.stat == stat:
        return previous
    try:
        raw = path.read_bytes()
    except OSError as exc:
        kb.add_finding(Finding(rel, f"cannot read the file: {exc.strerror}", code=YAML_PARSE))
        return None
    digest = incremental.file_digest(raw)
    if previous is not None and previous.digest == digest:
        previous.stat = stat
        return previous
    record = incremental.RuleFileRecord(stat, digest, None)
    try:
        record.rule_file = read_rule_file(rel, raw, is_owned(path), kb.settings.max_file_bytes)
    except yamlio.YamlProblem as problem:
        record.load_findings.append(Finding(rel, problem.message, span=problem.span, code=YAML_PARSE))
    return record
