"""The check after a few cards or postmortems changed only in their own text: the last result,
with those files' own findings computed again, without loading the knowledge base.

Every rule that reads across documents (the router, the access model, what `kb emit` would
write, ids and references, run logs...) reads a document only through its model, its built
value, its flags and its credentials. When an edited file's built value is the same except
for its local fields (LOCAL_KEYS, LOCAL_STEP_KEYS: a summary, a title, a step's `do` and
`done_when`, which only the file's own document rules read; tests/test_delta_local_fields.py
traces every cross-document rule and view and fails if one reads them), when it validates,
loads without a finding, holds no credential, mentions no `kb:` (no suppression comment,
before or after) and had no finding in the last result but its own document rules', then no
rule that reads across documents can answer differently, nor place anything in the file: the
last result stands, plus what the file's document rules (kb.rules.base.DocumentRule) find in
it now. They run on a context that holds the file, oncall.yaml and mkdocs.yml only: a rule
that reaches for any other document (the cards of a rotation, the router, the emitted files)
stops this path, and the whole check runs.

A postmortem's title is local unless kb emit writes it (an alert that states no description).
Where it does, the emitted files of that postmortem change and nothing else does: KB601,
KB602 and KB605, the rules that read what emit writes, are asked again about those files
alone (_emit_findings), when the last whole check saw every postmortem load and no other
postmortem with its id, everything in kb emit's folder is a readable regular file (else a whole
check's KB601 says nothing at all), each of those names that is there is kb emit's (a
hand-written file there is a rule file to KB602 too), and no other rule had a finding on them.

A file that a document cites as a reference is never edited locally: the citing card's rules
read its raw text, comments included (KB506, KB134).

What this needs of the old content (its digest, the digests of its value without the local
fields, whether it mentions `kb:` and todo) is kept per file in FACTS_FILE, written by every
whole check (kb.cache.incremental.finish) and by this path; a fact is used only for the
content digest the last result was computed from, and the whole-KB answers (which
postmortems' emitted files are their own, which files are cited) only with a result computed
from the very cards and postmortems they were found from (Facts.basis).
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
from kb.cache.replays import ENTRY as REPLAYS_ENTRY
from kb.cache.replays import PassedReplays
from kb.check.engine import (
    ActiveRule,
    CheckResult,
    _document_findings,
    _place,
    _suppressions,
    _without_secrets,
    configure_rules,
    help_url,
)
from kb.config.settings import Config
from kb.core import safefile, yamlio
from kb.core.diagnostics import Diagnostic, Finding, Span
from kb.core.paths import is_outside, path_problem
from kb.emit import promtool
from kb.emit.build import Emitted, OnDisk, is_owned, rules_dir
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.loader import _Loader, links_outside
from kb.load.records import Record, RuleFileRecord, decode_value, file_digest
from kb.load.rulefiles import EMIT_FOLDER, emitted_names, yaml_names
from kb.model import Card, Oncall, Postmortem
from kb.rules import DocumentRule
from kb.rules.alerting.emit_out_of_date import EmitOutOfDate
from kb.rules.alerting.emit_promql_invalid import PromqlInvalid
from kb.rules.alerting.emit_replay_fails import ReplayFails
from kb.rules.context import RuleContext

FACTS_FILE = "check-delta.marshal"
FORMAT = 3  # 3: the postmortems the facts were computed with (basis), the files documents cite
MAX_CHANGED = 16  # more edited files than this: a whole check (the index and the route table catch up then)

# Fields of a card or a postmortem that only the document's own rules read (KB201, KB203,
# KB404, KB506, KB150 and the secret scan, all run again here on the new text). Adding one
# needs every reader of it outside those rules gone: tests/test_edit_speed_delta.py names the
# modules that may name them, and tests/test_delta_local_fields.py traces every cross-document
# rule and view on a varied KB and fails if one reads them.
LOCAL_KEYS = {
    "cards": frozenset({"summary", "title"}),
    "postmortems": frozenset({"summary"}),
}
# The fields of each step and rollback step of a card that only the card's own rules read.
LOCAL_STEP_KEYS = frozenset({"do", "done_when"})
# A postmortem's title: read across documents by kb emit alone (an alert reinforcement that
# states no description gets "From <id> <R>: <title>"). Where emit does not read it, it is a
# local key; where it does, an edit of it is answered by re-running, on that postmortem's
# emitted files alone, the rules that read what emit writes (KB601, KB602, KB605): see
# _emit_findings.
EMIT_TEXT_KEY = "title"

# (content digest, projection digest, emit projection digest, emit answerable alone,
#  mentions "kb:", mentions todo). The emit projection leaves the title out even where emit
# reads it; "answerable alone" says this postmortem's emitted files are its own (every
# postmortem loaded and none shares its id at the last whole check).
Fact = tuple[str, str, str, bool, bool, bool]


class NeedsWholeKB(BaseException):
    """A document rule reached for another document: this path cannot answer. A BaseException,
    so that no rule's `except Exception` can swallow it (the context also remembers it)."""


# -- facts --------------------------------------------------------------------------------------
def projection(value: Any, kind: str = "cards", emit_text: bool = False) -> str | None:
    """A digest of a document's built value without its local fields (and, with `emit_text`, a
    postmortem's title too); None when the value holds something whose repr could hide a
    difference (only plain values qualify), or is not shaped as the model wants."""
    if not isinstance(value, dict) or not _plain(value):
        return None
    local = LOCAL_KEYS[kind]
    if kind == "postmortems" and (emit_text or not emit_reads_title(value)):
        local = local | {EMIT_TEXT_KEY}
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key in local:
            continue
        if kind == "cards" and key in ("steps", "rollback"):
            if not isinstance(item, list) or not all(isinstance(step, dict) for step in item):
                return None
            item = [{k: v for k, v in step.items() if k not in LOCAL_STEP_KEYS} for step in item]
        kept[key] = item
    return hashlib.blake2b(repr((kind, kept)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def emit_reads_title(value: dict) -> bool:
    """Whether kb emit writes this postmortem's title (kb.emit.build.alert_annotations: an
    alert reinforcement, not wont_do, whose alert states no description). Anything not shaped
    as expected counts as a read."""
    items = value.get("reinforcements", [])
    if not isinstance(items, list):
        return True
    for item in items:
        if not isinstance(item, dict):
            return True
        if item.get("kind") != "alert" or item.get("status") == "wont_do":
            continue
        alert = item.get("alert")
        if not isinstance(alert, dict) or not alert.get("description"):
            return True
    return False


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


def fact_of(raw: bytes, record: Record, kind: str, alone: bool = False) -> Fact | None:
    """The fact of a file whose bytes are `raw` and whose load made `record`; None when the
    file does not qualify (invalid, a load finding, a credential, a value that is not plain)."""
    if record.data is None or not record.valid or record.load_findings or file_digest(raw) != record.digest:
        return None
    try:
        value = decode_value(record.data)
    except (ValueError, TypeError, EOFError):
        return None
    projected = projection(value, kind)
    if projected is None:
        return None
    emit = projection(value, kind, emit_text=True) if kind == "postmortems" else projected
    return (record.digest, projected, emit or "", alone, b"kb:" in raw, record.has_todo)


def facts_key() -> str:
    """Facts depend on kb's parser and models: its version and its code."""
    return hashlib.blake2b(repr((__version__, store.code_stamp())).encode(), digest_size=16).hexdigest()


class Facts:
    """The facts of the files, with what they were computed with. `basis`: the digest of every
    card's and postmortem's path and content (basis_of) at the whole check that wrote them;
    `alone` and `cited` are answers about all of those files, true of that content only, so a
    result computed from other content (an older one: a whole check whose result was not
    stored still writes its facts; a concurrent run's) never uses them. `cited`: the files a
    document cites as a reference, whose raw text, comments included, and anchors the citing
    document's rules read (KB506, KB134; KB133 whether it is there): no edit of one is local."""

    def __init__(self, facts: dict[str, Fact] | None = None, basis: str = "", cited: frozenset[str] = frozenset()):
        self.facts = facts if facts is not None else {}
        self.basis = basis
        self.cited = cited


def read_facts(root: Path, key: str) -> Facts:
    raw = store.read_bytes(root, FACTS_FILE)
    if raw is None:
        return Facts()
    try:
        data = marshal.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return Facts()
        facts = data["facts"]
        basis, cited = data["basis"], data["cited"]
        if not isinstance(facts, dict) or not isinstance(basis, str) or not isinstance(cited, list):
            return Facts()
        return Facts(
            {
                str(path): (str(d), str(p), str(e), bool(a), bool(k), bool(t))
                for path, (d, p, e, a, k, t) in facts.items()
            },
            basis,
            frozenset(str(path) for path in cited),
        )
    except Exception:  # noqa: BLE001 - a damaged file is no fact, never a crash
        return Facts()


def write_facts(root: Path, key: str, facts: Facts) -> None:
    data = {"format": FORMAT, "key": key, "facts": facts.facts, "basis": facts.basis, "cited": sorted(facts.cited)}
    store.write_bytes(root, FACTS_FILE, marshal.dumps(data))


def basis_of(pairs) -> str:
    """The digest of (path, content digest) pairs of the cards' and postmortems' YAML files: the
    facts' whole-KB answers (`alone`, `cited`) hold for a result computed from the same ones only."""
    chosen = sorted((str(path), str(digest)) for path, digest in pairs if str(path).endswith((".yaml", ".yml")))
    return hashlib.blake2b(repr(chosen).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def cited_paths(root: Path, documents) -> frozenset[str]:
    """Every file a document cites as a reference, as spelled (normalised) and as its links
    resolve under the KB: the files whose raw text another document's rules read."""
    spelled = {
        ref.path for doc in documents if doc.model is not None for ref in getattr(doc.model, "references", None) or []
    }
    found: set[str] = set()
    top = os.path.realpath(root)
    for path in spelled:
        found.add(os.path.normpath(path).replace(os.sep, "/"))
        try:
            real = os.path.relpath(os.path.realpath(os.path.join(root, path)), top)
        except (OSError, ValueError):  # a NUL in the path, a link loop: its spelling stands
            continue
        found.add(real.replace(os.sep, "/"))
    return frozenset(found)


def emit_alone(postmortems: list[Document[Postmortem]] | None) -> set[str]:
    """The postmortems whose emitted files are theirs alone: every postmortem loaded (KB601
    says nothing while one does not) and none shares its id (kb emit writes one set of files
    per id)."""
    if postmortems is None or any(doc.model is None for doc in postmortems):
        return set()
    counts: dict[str, int] = {}
    for doc in postmortems:
        assert doc.model is not None
        counts[doc.model.id] = counts.get(doc.model.id, 0) + 1
    return {doc.path for doc in postmortems if doc.model is not None and counts[doc.model.id] == 1}


def record_facts(
    root: Path,
    records: dict[str, Record],
    folders: tuple[str, str],
    postmortems: list[Document[Postmortem]] | None = None,
    cited: frozenset[str] | None = None,
) -> None:
    """After a whole check: the fact of every card and postmortem it read, kept from the last
    facts when the content is the same, else from the file (read again: the record keeps no
    bytes, and whether the text mentions `kb:` needs them). `folders` are the cards' and the
    postmortems' ("cards/", "postmortems/"); `postmortems` the check's loaded postmortems
    (without them, no postmortem's emitted files count as its own); `cited` the files documents
    cite (without it, every file counts as cited: no edit is local)."""
    key = facts_key()
    previous = read_facts(root, key).facts
    alone = emit_alone(postmortems)
    facts: dict[str, Fact] = {}
    for path, record in records.items():
        if path.startswith(folders[0]):
            kind = "cards"
        elif path.startswith(folders[1]):
            kind = "postmortems"
        else:
            continue
        old = previous.get(path)
        if old is not None and old[0] == record.digest:
            if record.valid and not record.load_findings and record.data is not None and old[5] == record.has_todo:
                facts[path] = (old[0], old[1], old[2], path in alone, old[4], old[5])
            continue
        try:
            raw = safefile.read_bytes(os.path.join(root, path), 1 << 62)
        except OSError:
            continue
        fact = fact_of(raw, record, kind, path in alone)
        if fact is not None:
            facts[path] = fact
    if cited is None:
        facts = {}  # which files are read as another document's reference is unknown: no fact
    basis = basis_of((path, record.digest) for path, record in records.items() if path.startswith(folders))
    write_facts(root, key, Facts(facts, basis, cited or frozenset()))


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
) -> tuple[CheckResult, Facts, set[str]] | None:
    """The result of a whole check from the last one when only the own text of a few cards or
    postmortems changed since (see the module), with the facts to keep and the documents and
    emitted files it read; None otherwise."""
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
    if not all(isinstance(d, dict) for d in old_diagnostics):
        return None
    active, problems = configure_rules(config, select, ignore)
    if problems:
        return None
    # a changed file may have had findings of the document rules only: they are computed again
    # on the new text (no suppression there, old or new: the fact says so); any other rule's
    # finding there (placed at a line the edit may move, or about other files) stops this path
    document_codes = {entry.rule.code for entry in active if issubclass(entry.rule, DocumentRule)}
    with_findings = {d.get("path") for d in old_diagnostics if d.get("code") not in document_codes}
    fkey = facts_key()
    known = read_facts(root, fkey)
    facts = known.facts
    documents = (spelled[0] + "/", spelled[1] + "/")
    # the facts' whole-KB answers (which postmortems' emitted files are their own, which files
    # are cited) hold for this result only if they were found from the very cards and
    # postmortems it was computed from (a whole check whose result was not stored, or a
    # concurrent run's, still writes its facts)
    if known.basis != basis_of((rel, item[1]) for rel, item in old_files.items() if rel.startswith(documents)):
        return None
    targets = []
    listed: dict[str, set[str]] = {}
    for rel in changed:
        folder, _, name = rel.rpartition("/")
        model = models.get(folder)
        old = facts.get(rel)
        if model is None or rel in with_findings or old is None or old[0] != old_files[rel][1] or old[4]:
            return None
        if rel in known.cited:
            return None  # another document's rules read its raw text (KB506, KB134): no edit of it is local
        if folder not in listed:
            if is_outside(root, folder):
                return None
            listed[folder] = set(yaml_names(root / folder))
        if name not in listed[folder] or path_problem(rel) is not None or links_outside(root, [rel]):
            return None
        targets.append((rel, folder, model, old))
    try:
        found = _changed_findings(root, config, active, targets, seen)
    except NeedsWholeKB:
        return None
    if found is None:
        return None
    result, new_facts, rewritten = found
    if sorted(result.rules) != entry.get("rules"):
        return None
    if any(d.get("path") in rewritten and d.get("code") not in EMIT_CODES for d in old_diagnostics):
        return None  # another rule's finding on an emitted file: only emit's readers are asked again
    if (
        rewritten
        and promtool.executable() is not None
        and any(d.get("path") == "mkdocs.yml" and d.get("code") in EMIT_CODES for d in old_diagnostics)
    ):
        # an answer about every emitted file (promtool failed, a test kb cannot place): the whole
        # check. Without promtool, KB602 and KB605 say there only how many alerts and replays went
        # unchecked, which the projection keeps: that answer stands.
        return None
    # what the document rules said of the changed files, and what emit's readers said of the
    # rewritten emitted files, is said again (_emit_findings)
    again = {rel for rel, _, _, _ in targets}
    kept = [
        d
        for d in old_diagnostics
        if d.get("path") not in again and not (d.get("code") in EMIT_CODES and d.get("path") in rewritten)
    ]
    try:
        result.diagnostics = _old_diagnostics(kept) + result.diagnostics
    except (KeyError, TypeError, ValueError):
        return None
    result.diagnostics.sort(key=Diagnostic.sort_key)
    result.files_checked = entry["files_checked"]
    result.router_pages = list(entry.get("router_pages") or [])
    facts.update(new_facts)
    # the stored result is computed from what the look-up saw; the edits kept every id,
    # reinforcement and reference (the projection), so the facts' whole-KB answers hold for it
    new_basis = basis_of((rel, item[1]) for rel, item in seen.items() if rel.startswith(documents))
    return result, Facts(facts, new_basis, known.cited), again | rewritten


def watched(settings, listed: list[str], read: set[str]) -> list[str]:
    """The inputs whose change during this path would mix answers: every file outside the
    cards, postmortems and rule files (oncall.yaml, memberships, schedules, references, router
    pages..., which the document rules and the access model may read), and the documents and
    emitted files it read (`read`). The other cards, postmortems and rule files it never reads
    (the context stops any rule that reaches for them), and the result keeps the digests the
    look-up took of them: one changed since is a miss next time."""
    documents = tuple(_folder(f) + "/" for f in (settings.cards_dir, settings.postmortems_dir, settings.rules_dir))
    return [rel for rel in listed if rel in read or not rel.startswith(documents)]


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
    root: Path, config: Config, active: list[ActiveRule], targets: list, seen: dict
) -> tuple[CheckResult, dict[str, Fact], set[str]] | None:
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
    findings: list[tuple[ActiveRule, Finding]] = []
    new_facts: dict[str, Fact] = {}
    rewritten: set[str] = set()
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
        kind = folders_kind(folder, settings)
        fact = fact_of(raw, record, kind, old[3])
        if fact is None or fact[4] or fact[5] != old[5] or fact[0] != seen[rel][1]:
            return None
        if fact[1] != old[1]:
            # only an emitted text differs (a postmortem's title that an alert's description
            # carries): what reads the emitted files is asked again about this postmortem's
            if kind != "postmortems" or not old[3] or not old[2] or fact[2] != old[2]:
                return None
            emitted = _emit_findings(root, config, active, doc, kb.oncall)
            if emitted is None:
                return None
            findings += emitted[0]
            rewritten |= emitted[1]
        new_facts[rel] = fact
        found = list(_document_findings(ctx, kind, doc, instances))
        if stopped[0] or any(f.path != rel for f in found):
            return None  # another document reached, or a finding elsewhere: the old one there would stay
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
    return CheckResult(diagnostics, 0, {a.rule.code: a.rule for a in active}), new_facts, rewritten


# -- a postmortem whose emitted text changed ------------------------------------------------------
# The rules that read the content of kb emit's files (not only which alerts, ids and labels
# they hold, which the projection keeps): the files against the disk, promtool's verdict on
# their rules, and the replays.
EMIT_CODES = frozenset({EmitOutOfDate.code, PromqlInvalid.code, ReplayFails.code})


class _OwnFiles(OnDisk):
    """kb emit's files on disk as KB601 sees them, among one postmortem's names only (the
    others are other postmortems' answers, which stand): kb.emit.build.owned_on_disk's test,
    name by name."""

    def __init__(self, kb: KnowledgeBase, emitted: Emitted, names: list[str]):
        super().__init__(kb, emitted)
        self.names = names

    def owned(self) -> list[str]:
        if self._owned is None:
            base = rules_dir(self.kb)
            found = []
            if not (base / EMIT_FOLDER).is_symlink():
                for name in self.names:
                    folder, _, file_name = name.rpartition("/")
                    if not (base / folder).is_dir() or (base / folder).is_symlink():
                        continue
                    try:
                        st = os.lstat(base / folder / file_name)
                    except OSError:
                        continue
                    if stat_module.S_ISREG(st.st_mode) and is_owned(base / folder / file_name):
                        found.append(name)
            self._owned = sorted(found)
        return self._owned


class _EmitContext(RuleContext):
    """A RuleContext over one postmortem whose emitted files are its own."""

    def __init__(self, kb: KnowledgeBase, names: list[str], replays: PassedReplays):
        super().__init__(kb, replays=replays)
        self.names = names

    def emitted_on_disk(self) -> OnDisk:
        if self._on_disk is None:
            self._on_disk = _OwnFiles(self.kb, self.emitted(), self.names)
        return self._on_disk

    def router(self):
        raise NeedsWholeKB  # no rule that reads emitted files needs it; if one ever does, the whole check


def _emit_findings(
    root: Path, config: Config, active: list[ActiveRule], doc: Document[Postmortem], oncall: Document[Oncall] | None
) -> tuple[list[tuple[ActiveRule, Finding]], set[str]] | None:
    """What KB601, KB602 and KB605 say now of the files kb emit writes from `doc` alone (its
    id is its own, every postmortem loaded: the facts say so), and those files' paths, whose
    old answers these replace. Their answers about the other postmortems' files stand: those
    files, and what emit writes for them, are unchanged. None when an answer lands elsewhere
    (mkdocs.yml: promtool failed, a test it cannot place) or a file holds a suppression."""
    assert doc.model is not None
    names = sorted(set(emitted_names(doc.model.id).values()))
    base = config.settings.rules_dir.strip("/")
    paths = {f"{base}/{name}" for name in names}
    if not _emit_folder_plain(root / base / EMIT_FOLDER):
        return None  # something there kb emit cannot read: a whole check's KB601 says nothing at all
    for name in names:
        path = root / base / name
        if os.path.lexists(path) and not is_owned(path):
            return None  # a hand-written file at its name: KB601 and KB602 read it as a rule file too
    for rel in paths:
        try:
            text = safefile.read_text(root / rel, 1 << 62)
        except (OSError, ValueError):
            continue
        if "kb:" in text and _suppressions(text, rel):
            return None  # a `kb: ignore[...]` comment there: _apply_suppressions' work
    single = KnowledgeBase(config)
    single.postmortems = [doc]
    single.oncall = oncall
    replays = PassedReplays(root)
    ctx = _EmitContext(single, names, replays)
    chosen = [entry for entry in active if entry.rule.code in EMIT_CODES]
    if promtool.executable() is None:
        # without promtool, KB602 and KB605 speak of mkdocs.yml only, counting alerts and
        # replays, which the projection keeps: their last answer stands
        chosen = [entry for entry in chosen if entry.rule.code == EmitOutOfDate.code]
    rules = [(entry, entry.rule()) for entry in chosen]
    found: list[tuple[ActiveRule, Finding]] = []
    try:
        for entry, rule in rules:
            rule.start(ctx, entry.options)
        for entry, rule in rules:
            for finding in rule.check(ctx, entry.options):
                if finding.path != doc.path and finding.path not in paths:
                    return None
                finding.code = entry.rule.code
                found.append((entry, finding))
    finally:
        for _, rule in rules:
            rule.stop()
    if replays.kept - replays.previous:
        # the passes so far and this suite's: the next whole check keeps only those it uses
        store.write(root, REPLAYS_ENTRY, {"passed": sorted(replays.previous | replays.kept)})
    return found, paths


def _emit_folder_plain(folder: Path) -> bool:
    """Whether everything in kb emit's folder (rules/kb/) is a folder of readable regular files,
    no link, no special file, no folder where a file is written: where one is not,
    kb.emit.build.changes raises EmitProblem for a whole check (KB601 says nothing), which one
    postmortem's names cannot show. A folder that is absent holds nothing kb cannot read."""
    if not os.path.lexists(folder):
        return True
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        with os.scandir(folder) as kinds:
            subfolders = list(kinds)
        for sub in subfolders:
            if not sub.is_dir(follow_symlinks=False):
                return False
            with os.scandir(sub.path) as files:
                for item in files:
                    if not item.is_file(follow_symlinks=False) or not os.access(item.path, os.R_OK):
                        return False
    except OSError:
        return False
    return True


def folders_kind(folder: str, settings) -> str:
    """The name run_check gives the document's folder ("cards" or "postmortems")."""
    return "cards" if folder == _folder(settings.cards_dir) else "postmortems"
