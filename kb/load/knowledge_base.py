"""The knowledge base in memory: what loading read, and nothing derived from it.

Views computed from the loaded data (the access model, the router, what `kb emit` would
write) belong to whoever asks for them: the rules get them from kb.rules.context, the site
and the commands build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from kb.config.settings import Config, Settings
from kb.core.diagnostics import Finding, LoadProblem
from kb.load.rulefiles import RuleFile
from kb.load.runs import RunLog
from kb.load.secrets import unsuppressed
from kb.model import Card, Oncall, Postmortem

M = TypeVar("M", bound=BaseModel)


@dataclass
class Document(Generic[M]):
    path: str  # relative to the KB root, with forward slashes
    data: dict[str, Any] | None = None
    model: M | None = None
    suppressions: bool = False  # the raw text mentions `kb:`: it may hold a `kb:ignore[...]` in any spacing
    has_todo: bool = False  # the raw text mentions todo: only then does KB150 walk the values
    # credentials found in the file (kb.load.secrets) as (value, keys of the `kb: ignore` on
    # its line): never published unless allowlisted. Only a freshly read document knows them;
    # the check's per-file records keep no secret.
    secret_hits: tuple[tuple[str, frozenset[str]], ...] = ()

    def secret_values(self, allow_keys: frozenset[str]) -> frozenset[str]:
        return unsuppressed(list(self.secret_hits), allow_keys)


@dataclass
class KnowledgeBase:
    config: Config
    cards: list[Document[Card]] = field(default_factory=list)
    postmortems: list[Document[Postmortem]] = field(default_factory=list)
    oncall: Document[Oncall] | None = None
    load_findings: dict[LoadProblem, list[Finding]] = field(default_factory=dict)
    rule_files: list[RuleFile] = field(default_factory=list)  # hand-written and emitted
    runs: list[RunLog] = field(default_factory=list)  # runs/*.jsonl, written by `kb run`

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def settings(self) -> Settings:
        return self.config.settings

    def card_by_id(self) -> dict[str, Document[Card]]:
        return _index_by_id(self.cards)

    def postmortem_by_id(self) -> dict[str, Document[Postmortem]]:
        return _index_by_id(self.postmortems)

    def documents(self) -> list[Document[Any]]:
        docs: list[Document[Any]] = [*self.cards, *self.postmortems]
        if self.oncall is not None:
            docs.append(self.oncall)
        return docs

    def add_finding(self, finding: Finding) -> None:
        assert finding.problem is not None, "a load finding names its LoadProblem"
        self.load_findings.setdefault(finding.problem, []).append(finding)


def _index_by_id(docs: list[Document[M]]) -> dict[str, Document[M]]:
    """Documents by id; one that failed validation still owns its id, so a single schema
    error does not cascade into "does not exist" on every file that links it."""
    index: dict[str, Document[M]] = {}
    for doc in docs:
        doc_id = getattr(doc.model, "id", None) if doc.model is not None else (doc.data or {}).get("id")
        if isinstance(doc_id, str):
            index.setdefault(doc_id, doc)
    return index
