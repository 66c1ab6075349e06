"""Bytes to a KnowledgeBase: every card, postmortem, oncall.yaml and rule file read, built
and validated once. The loader only loads: it knows no rule, emitter or cache. A cache plugs
in through kb.load.records.Recorder; a large cold folder is shared with a helper process
(kb.load.parallel)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kb.config.settings import Config, load_config
from kb.core import safefile, yamlio
from kb.core.atomic import finish_interrupted, temp_folder
from kb.core.diagnostics import Finding, LoadProblem
from kb.core.paths import is_outside, path_problem
from kb.core.validation import findings_from
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.parallel import Prefetch
from kb.load.parse import Parsed, parse_document
from kb.load.records import Record, Recorder, RuleFileRecord, decode_value, encode_value, file_digest, file_stat
from kb.load.router import unreadable_text_files
from kb.load.rulefiles import is_owned_content, read_rule_file, yaml_names, yaml_tree
from kb.load.runs import load_runs
from kb.model import Card, Oncall, Postmortem

M = TypeVar("M", bound=BaseModel)


def links_outside(root: Path, rels: list[str]) -> list[str]:
    """The paths among `rels` that resolve outside the KB through a symbolic link, at any
    level (the file, or a folder above it): never read (KB102).

    Each folder is resolved once: a name in a folder that resolves inside the KB, and that is
    not itself a link, resolves inside too (resolving every one of 13,000 paths component by
    component was a fifth of a check after one edit). Anything else is resolved whole."""
    folders: dict[str, bool] = {}
    found = []
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        if folder and folder not in folders:
            folders[folder] = is_outside(root, folder)
        if (
            name not in ("", ".", "..")
            and not (folders[folder] if folder else False)
            and path_problem(rel) is None
            and not os.path.islink(os.path.join(root, rel))
        ):
            continue
        if is_outside(root, rel):
            found.append(rel)
    return found


def unreadable(rel: str, exc: OSError) -> Finding:
    """Why a file could not be read, at the file: a special file, a loop, no access, too large."""
    if isinstance(exc, safefile.TooLarge):
        return Finding(
            rel,
            f"file is {exc.size:,} bytes, over the {exc.limit:,}-byte limit (settable as max_file_bytes); not read",
            problem=LoadProblem.YAML,
        )
    return Finding(rel, f"cannot read the file: {safefile.describe(exc)}", problem=LoadProblem.UNREADABLE)


class _Loader:
    def __init__(self, kb: KnowledgeBase, recorder: Recorder | None):
        self.kb = kb
        self.recorder = recorder

    def folder(self, folder: str, model: type[M]) -> list[Document[M]]:
        folder = os.path.normpath(folder).replace(os.sep, "/")  # "./cards/" names files as cards/<name>
        if is_outside(self.kb.root, folder):
            return []  # a folder that is a link out of the KB: never read (KB102 says so)
        if not self.listable(folder):
            return []
        names = yaml_names(self.kb.root / folder)
        outside = set(links_outside(self.kb.root, [f"{folder}/{name}" for name in names]))
        rels = [f"{folder}/{name}" for name in names if f"{folder}/{name}" not in outside]
        cold = self.recorder is None or not self.recorder.warm  # warm: most files come from records
        parse = lambda rel, raw, stat, digest: parse_document(rel, raw, self.kb.settings.max_file_bytes, stat, digest)
        with Prefetch(
            self.kb.root, rels if cold else [], parse, self.recorder is not None, self.kb.settings.max_file_bytes
        ) as prefetch:
            return [self.document(rel, model, prefetch.take(rel)) for rel in rels]

    def listable(self, folder: str) -> bool:
        """False, with a finding, for a folder that exists but cannot be listed (a loop, a file)."""
        path = os.path.join(self.kb.root, folder)
        if not os.path.lexists(path):
            return False
        try:
            os.scandir(path).close()
        except OSError as exc:
            self.kb.add_finding(
                Finding(folder, f"cannot read the folder: {safefile.describe(exc)}", problem=LoadProblem.UNREADABLE)
            )
            return False
        return True

    def document(self, rel: str, model: type[M], parsed: Parsed | None = None) -> Document[M]:
        """The document at `rel` (a path under the KB root, with forward slashes); `parsed` is
        the file already read by a helper process."""
        path = os.path.join(self.kb.root, rel)  # strings, not Paths: 13,000 files per run
        recorder = self.recorder
        if parsed is None:
            stat = previous = None
            if recorder is not None:
                stat = file_stat(path)
                previous = recorder.previous_record(rel)
                if previous is not None and stat is not None and previous.stat == stat:
                    return self._reuse(rel, previous, model)
            try:
                raw = safefile.read_bytes(path, self.kb.settings.max_file_bytes)
            except OSError as exc:
                self.kb.add_finding(unreadable(rel, exc))
                return Document(rel)
            digest = None
            if recorder is not None:
                digest = file_digest(raw)
                if previous is not None and previous.digest == digest:
                    previous.stat = stat
                    return self._reuse(rel, previous, model)
            parsed = parse_document(rel, raw, self.kb.settings.max_file_bytes, stat, digest)
        return self._validated(rel, model, parsed)

    def _validated(self, rel: str, model: type[M], parsed: Parsed) -> Document[M]:
        doc: Document[M] = Document(
            rel,
            data=parsed.data,
            suppressions=parsed.raw_flags[0],
            has_todo=parsed.raw_flags[1],
            secret_hits=parsed.secret_hits,
        )
        found = list(parsed.findings)
        if doc.data is not None:
            try:
                doc.model = model.model_validate(doc.data)
            except ValidationError as exc:
                found += findings_from(exc, model, rel)
        if self.recorder is not None:
            self.recorder.keep(
                rel,
                Record(
                    parsed.stat,
                    parsed.digest or "",
                    encode_value(doc.data),
                    doc.model is not None,
                    doc.suppressions,
                    doc.has_todo,
                    found,
                ),
                fresh=True,
            )
        for finding in found:
            self.kb.add_finding(finding)
        if doc.model is not None and not doc.has_todo:
            doc.data = None  # the model holds it all; only KB150 reads raw values, of files that mention todo
        return doc

    def _reuse(self, rel: str, record: Record, model: type[M]) -> Document[M]:
        """A document unchanged since the previous check, from its record: no YAML parse."""
        doc: Document[M] = Document(rel, suppressions=record.suppressions, has_todo=record.has_todo)
        if record.data is not None:
            doc.data = decode_value(record.data)
            if record.valid:
                doc.model = model.model_validate(doc.data)
                if not doc.has_todo:
                    doc.data = None
        assert self.recorder is not None
        self.recorder.keep(rel, record, fresh=False)
        for finding in record.load_findings:
            self.kb.add_finding(finding)
        return doc

    def rule_files(self) -> None:
        kb, recorder = self.kb, self.recorder
        if is_outside(kb.root, kb.settings.rules_dir):
            return
        if not self.listable(os.path.normpath(kb.settings.rules_dir)):
            return
        folder = kb.root / kb.settings.rules_dir
        finish_interrupted(temp_folder(folder))  # a `kb emit` killed after it committed: its set, whole
        prefix = folder.relative_to(kb.root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        rels = [prefix + name for name in yaml_tree(folder)]  # subfolders too: rules/thirdparty/*.yml
        outside = set(links_outside(kb.root, rels))
        for rel in rels:
            if rel in outside:
                continue
            path = os.path.join(kb.root, rel)  # strings, not Paths: 10,000 files at 3,333 postmortems
            record = self._rule_file_record(path, rel, recorder.previous_rule_file(rel) if recorder else None)
            if record is None:
                continue
            if recorder is not None:
                recorder.keep_rule_file(rel, record)
            for finding in record.load_findings:
                kb.add_finding(finding)
            if record.rule_file is not None:
                kb.rule_files.append(record.rule_file)

    def _rule_file_record(self, path: str, rel: str, previous: RuleFileRecord | None) -> RuleFileRecord | None:
        """The rule file at `path`: the previous record when its stat or content is the same,
        else read now; None when it cannot be read (reported)."""
        stat = file_stat(path)
        if previous is not None and previous.stat == stat:
            return previous
        try:
            raw = safefile.read_bytes(path, self.kb.settings.max_file_bytes)
        except OSError as exc:
            self.kb.add_finding(unreadable(rel, exc))
            return None
        digest = file_digest(raw)
        if previous is not None and previous.digest == digest:
            previous.stat = stat
            return previous
        record = RuleFileRecord(stat, digest, None)
        try:
            record.rule_file = read_rule_file(rel, raw, is_owned_content(rel, raw), self.kb.settings.max_file_bytes)
            for item in record.rule_file.problems if record.rule_file else []:  # a List item kb cannot read
                record.load_findings.append(Finding(rel, item.message, loc=item.loc, problem=LoadProblem.INVALID_VALUE))
        except yamlio.YamlProblem as problem:
            record.load_findings.append(Finding(rel, problem.message, span=problem.span, problem=LoadProblem.YAML))
        return record


@contextmanager
def _gc_paused() -> Iterator[None]:
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


def load_kb(root: Path, recorder: Recorder | None = None, config: Config | None = None) -> KnowledgeBase:
    """Every file of the KB at `root`, validated. With a recorder, files unchanged since its
    previous state come from their records, and every file is recorded. `config` is the
    configuration already read and validated (the MkDocs plugin's); default: read mkdocs.yml."""
    kb = KnowledgeBase(config if config is not None else load_config(root))
    for problem in kb.config.problems:
        kb.add_finding(problem)
    settings = kb.settings
    loader = _Loader(kb, recorder)
    with _gc_paused():
        kb.cards = loader.folder(settings.cards_dir, Card)
        kb.postmortems = loader.folder(settings.postmortems_dir, Postmortem)
        oncall = os.path.normpath(settings.oncall).replace(os.sep, "/")
        if os.path.lexists(root / oncall) and not links_outside(root, [oncall]):
            kb.oncall = loader.document(oncall, Oncall)
        loader.rule_files()
        for folder in (settings.references_dir, settings.templates_dir):  # read later, by the site and kb new
            if not is_outside(root, folder):
                loader.listable(os.path.normpath(folder))
        for rel, why in unreadable_text_files(root, settings.router, settings.references_dir, settings.max_file_bytes):
            kb.add_finding(Finding(rel, f"cannot read the file: {why}", problem=LoadProblem.UNREADABLE))
        kb.runs, run_findings = load_runs(root, settings.runs_dir)
        for finding in run_findings:
            kb.add_finding(finding)
    return kb


def load_document(kb: KnowledgeBase, rel: str, model: type[M]) -> Document[M]:
    """One more document into `kb` (its findings added), without a recorder."""
    return _Loader(kb, None).document(rel, model)
