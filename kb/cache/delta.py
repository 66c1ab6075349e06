"""The check after a few cards or postmortems changed only in their prose: the last result,
with those files' own findings computed again, without loading the knowledge base.

Every rule that reads across documents (the router, the access model, what `kb emit` would
write, ids and references...) reads a document only through its model, its built value, its
flags and its credentials. When an edited file's built value is the same except for the keys
in LOCAL_KEYS (which only the file's own document rules read: tests/test_edit_speed_delta.py
holds the list of the modules that may name them), when it validates, loads without a finding,
holds no credential, mentions no `kb:` (no suppression comment, before or after) and had no
finding in the last result, then no rule that reads across documents can answer differently,
nor place anything in the file: the last result stands, plus what the file's document rules
(kb.rules.base.DocumentRule) find in it now. They run on a context that holds the file,
oncall.yaml and mkdocs.yml only: a rule that reaches for any other document (the cards of a
rotation, the router, the emitted files) stops this path, and the whole check runs.

What this needs of the old content (its digest, the digest of its value without the local
keys, whether it mentions `kb:` and todo) is kept per file in FACTS_FILE, written by every
whole check (kb.cache.incremental.finish) and by this path; a fact is used only for the
content digest the last result was computed from.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat as stat_module
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb import __version__
from kb.cache import store
from kb.check.engine import CheckResult, _document_findings, _place, _without_secrets, configure_rules, help_url
from kb.config.settings import Config
from kb.core import safefile, yamlio
from kb.core.diagnostics import Diagnostic, Span
from kb.core.paths import is_outside, path_problem
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.loader import _Loader, links_outside
from kb.load.records import Record, RuleFileRecord, decode_value, file_digest
from kb.load.rulefiles import yaml_names
from kb.model import Card, Oncall, Postmortem
from kb.rules import DocumentRule
from kb.rules.context import RuleContext

FACTS_FILE = "check-delta.marshal"
FORMAT = 1
MAX_CHANGED = 16  # more edited files than this: a whole check (the index and the route table catch up then)

# Top-level keys of a card or a postmortem that only the document's own rules read (KB404,
# KB506, KB150 and the secret scan, all run again here on the new text). Adding a key here
# needs every reader of it outside those rules gone: the test names the modules that may.
LOCAL_KEYS = frozenset({"summary"})

Fact = tuple[str, str, bool, bool]  # (content digest, projection digest, mentions "kb:", mentions todo)


class NeedsWholeKB(BaseException):
    """A document rule reached for another document: this path cannot answer. A BaseException,
    so that no rule's `except Exception` can swallow it (the context also remembers it)."""


# -- facts --------------------------------------------------------------------------------------
def projection(value: Any) -> str | None:
    """A digest of a document's built value without its local keys; None when the value holds
    something whose repr could hide a difference (only plain values qualify)."""
    if not isinstance(value, dict) or not _plain(value):
        return None
    kept = {key: item for key, item in value.items() if key not in LOCAL_KEYS}
    return hashlib.blake2b(repr(kept).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, sub in item.items():
                if type(key) not in _SCALARS:
                    return False
                stack.append(sub)
        elif kind is list:
            stack.extend(item)
        elif kind not in _SCALARS:
            return False  # a set (ordered by hash), bytes, a tuple...: not worth proving
    return True


def fact_of(raw: bytes, record: Record) -> Fact | None:
    """The fact of a file whose bytes are `raw` and whose load made `record`; None when the
    file does not qualify (invalid, a load finding, a credential, a value that is not plain)."""
    if record.data is None or not record.valid or record.load_findings or file_digest(raw) != record.digest:
        return None
    try:
        value = decode_value(record.data)
    except (ValueError, TypeError, EOFError):
        return None
    projected = projection(value)
    if projected is None:
        return None
    return (record.digest, projected, b"kb:" in raw, record.has_todo)


def facts_key() -> str:
    """Facts depend on kb's parser and models: its version and its code."""
    return hashlib.blake2b(repr((__version__, store.code_stamp())).encode(), digest_size=16).hexdigest()


def read_facts(root: Path, key: str) -> dict[str, Fact]:
    raw = store.read_bytes(root, FACTS_FILE)
    if raw is None:
        return {}
    try:
        data = marshal.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return {}
        facts = data["facts"]
        if not isinstance(facts, dict):
            return {}
        return {str(path): (str(d), str(p), bool(k), bool(t)) for path, (d, p, k, t) in facts.items()}
    except Exception:  # noqa: BLE001 - a damaged file is no fact, never a crash
        return {}


def write_facts(root: Path, key: str, facts: dict[str, Fact]) -> None:
    store.write_bytes(root, FACTS_FILE, marshal.dumps({"format": FORMAT, "key": key, "facts": facts}))


def record_facts(root: Path, records: dict[str, Record], folders: tuple[str, ...]) -> None:
    """After a whole check: the fact of every card and postmortem it read, kept from the last
    facts when the content is the same, else from the file (read again: the record keeps no
    bytes, and whether the text mentions `kb:` needs them)."""
    key = facts_key()
    previous = read_facts(root, key)
    facts: dict[str, Fact] = {}
    for path, record in records.items():
        if not path.startswith(folders):
            continue
        old = previous.get(path)
        if old is not None and old[0] == record.digest:
            if record.valid and not record.load_findings and record.data is not None and old[3] == record.has_todo:
                facts[path] = old
            continue
        try:
            raw = safefile.read_bytes(os.path.join(root, path), 1 << 62)
        except OSError:
            continue
        fact = fact_of(raw, record)
        if fact is not None:
            facts[path] = fact
    write_facts(root, key, facts)


# -- the check ----------------------------------------------------------------------------------
class _Forbidden(list):
    """Where the whole KB's documents would be: any look at them stops the delta path."""

    def __init__(self, ctx_flag: list[bool]):
        super().__init__()
        self.flag = ctx_flag

    def _stop(self, *args, **kwargs):
        self.flag[0] = True
        raise NeedsWholeKB

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = __reversed__ = _stop
    index = count = copy = _stop


class _DeltaContext(RuleContext):
    """A RuleContext over one document, oncall.yaml and mkdocs.yml: what the other documents
    would give (the cards of a rotation, the router, the emitted files) stops the path."""

    def __init__(self, kb: KnowledgeBase, stopped: list[bool]):
        super().__init__(kb)
        self.stopped = stopped

    def _stop(self):
        self.stopped[0] = True
        raise NeedsWholeKB

    def paging(self):
        from kb.analysis.paging import PagingModel

        if self.kb.oncall is None or self.kb.oncall.model is None:
            return None
        if self._paging is None:
            # the access model comes from oncall.yaml and the membership exports alone; the
            # cards of a rotation are other documents
            self._paging = PagingModel(
                self.kb.root,
                self.kb.oncall.model,
                _Forbidden(self.stopped),
                self.kb.settings.business_hours,
                self.kb.config.today(),
            )
        return self._paging

    def router(self):
        self._stop()

    def emitted(self):
        self._stop()


class _Capture:
    """A kb.load.records.Recorder that offers nothing and keeps what the loader read."""

    warm = True

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def previous_record(self, path: str) -> Record | None:
        return None

    def previous_rule_file(self, path: str) -> RuleFileRecord | None:
        return None

    def keep(self, path: str, record: Record, fresh: bool) -> None:
        self.records[path] = record

    def keep_rule_file(self, path: str, record: RuleFileRecord) -> None:
        pass


def _folder(setting: str) -> str:
    return os.path.normpath(setting).replace(os.sep, "/")


def try_delta(
    root: Path, config: Config, key: str, entry: dict | None, seen: dict | None, select: list[str], ignore: list[str]
) -> tuple[CheckResult, dict[str, Fact]] | None:
    """The result of a whole check from the last one when only the prose of a few cards or
    postmortems changed since (see the module), with the facts to keep; None otherwise."""
    if not entry or not seen or entry.get("options") != key or config.unreadable or config.problems:
        return None
    old_files = entry.get("files")
    if not isinstance(old_files, dict) or set(old_files) != set(seen):
        return None  # a file added or removed
    changed = [rel for rel, (_, digest) in seen.items() if old_files[rel][1] != digest]
    if not changed or len(changed) > MAX_CHANGED:
        return None
    settings = config.settings
    models = {_folder(settings.cards_dir): Card, _folder(settings.postmortems_dir): Postmortem}
    spelled = (settings.cards_dir.strip("/"), settings.postmortems_dir.strip("/"))
    if len(models) != 2 or list(models) != list(spelled):
        return None  # ./cards: names the walk and the loader spell differently
    old_diagnostics = entry.get("diagnostics")
    if not isinstance(old_diagnostics, list):
        return None
    with_findings = {d.get("path") for d in old_diagnostics if isinstance(d, dict)}
    fkey = facts_key()
    facts = read_facts(root, fkey)
    targets = []
    listed: dict[str, set[str]] = {}
    for rel in changed:
        folder, _, name = rel.rpartition("/")
        model = models.get(folder)
        old = facts.get(rel)
        if model is None or rel in with_findings or old is None or old[0] != old_files[rel][1] or old[2]:
            return None
        if folder not in listed:
            if is_outside(root, folder):
                return None
            listed[folder] = set(yaml_names(root / folder))
        if name not in listed[folder] or path_problem(rel) is not None or links_outside(root, [rel]):
            return None
        targets.append((rel, folder, model, old))
    try:
        found = _changed_findings(root, config, targets, seen, select, ignore)
    except NeedsWholeKB:
        return None
    if found is None:
        return None
    result, new_facts = found
    if sorted(result.rules) != entry.get("rules"):
        return None
    try:
        result.diagnostics = _old_diagnostics(old_diagnostics) + result.diagnostics
    except (KeyError, TypeError, ValueError):
        return None
    result.diagnostics.sort(key=Diagnostic.sort_key)
    result.files_checked = entry["files_checked"]
    result.router_pages = list(entry.get("router_pages") or [])
    facts.update(new_facts)
    return result, facts


def _old_diagnostics(items: list[dict]) -> list[Diagnostic]:
    return [Diagnostic.from_plain(d) for d in items]


def _oncall(root: Path, rel: str, max_bytes: int) -> Document[Oncall]:
    """oncall.yaml's model as the loader builds it, without its secret scan and findings: those
    stand in the last result, and oncall.yaml is unchanged since (a shared input)."""
    try:
        data = yamlio.load_mapping(safefile.read_bytes(root / rel, max_bytes), max_bytes)
    except (OSError, yamlio.YamlProblem):
        return Document(rel)
    try:
        return Document(rel, model=Oncall.model_validate(data))
    except ValidationError:
        return Document(rel)


def _changed_findings(
    root: Path, config: Config, targets: list, seen: dict, select: list[str], ignore: list[str]
) -> tuple[CheckResult, dict[str, Fact]] | None:
    active, problems = configure_rules(config, select, ignore)
    if problems:
        return None
    settings = config.settings
    kb = KnowledgeBase(config)
    oncall = _folder(settings.oncall)
    if os.path.lexists(root / oncall) and not links_outside(root, [oncall]):
        kb.oncall = _oncall(root, oncall, settings.max_file_bytes)
    stopped = [False]
    for name in ("cards", "postmortems", "rule_files", "runs"):
        setattr(kb, name, _Forbidden(stopped))
    ctx = _DeltaContext(kb, stopped)
    document_rules = [entry for entry in active if issubclass(entry.rule, DocumentRule)]
    by_code = {entry.rule.code: entry for entry in document_rules}
    instances = [(entry, rule) for entry in document_rules if isinstance(rule := entry.rule(), DocumentRule)]
    findings = []
    new_facts: dict[str, Fact] = {}
    for rel, folder, model, old in targets:
        path = os.path.join(root, rel)
        try:
            st = os.lstat(path)
            raw = safefile.read_bytes(path, settings.max_file_bytes)
        except OSError:
            return None
        if not stat_module.S_ISREG(st.st_mode) or file_digest(raw) != seen[rel][1]:
            return None  # changed again since the look-up hashed it
        capture = _Capture()
        loaded = KnowledgeBase(config)
        doc: Document[Any] = _Loader(loaded, capture).document(rel, model)
        record = capture.records.get(rel)
        if record is None or loaded.load_findings or doc.secret_hits or doc.model is None:
            return None
        fact = fact_of(raw, record)
        if fact is None or fact[2] or fact[1] != old[1] or fact[3] != old[3] or fact[0] != seen[rel][1]:
            return None
        new_facts[rel] = fact
        found = list(_document_findings(ctx, folders_kind(folder, settings), doc, instances))
        if stopped[0]:
            return None
        findings += [(by_code[f.code], f) for f in found]
    _place(ctx, [f for _, f in findings])
    diagnostics = [
        Diagnostic(
            f.path,
            f.span or Span(1, 1, 1, 1),
            e.rule.code,
            e.rule.name,
            f.level or e.level,
            _without_secrets(f.message),
            help_url(config.site_url, e.rule.code),
            f.loc,
        )
        for e, f in findings
    ]
    return CheckResult(diagnostics, 0, {a.rule.code: a.rule for a in active}), new_facts


def folders_kind(folder: str, settings) -> str:
    """The name run_check gives the document's folder ("cards" or "postmortems")."""
    return "cards" if folder == _folder(settings.cards_dir) else "postmortems"
