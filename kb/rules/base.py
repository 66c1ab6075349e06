"""What a rule is: a stable code, a slash name, a default level, a docstring, a check.

Three kinds:
- `Rule` reads across the knowledge base: `check(ctx, options)` runs once per check.
- `DocumentRule` judges one card or postmortem at a time: the engine iterates the documents
  (only the changed ones, on an incremental run) and calls `check_document(ctx, doc, options)`;
  `check(ctx, options)` may add findings on shared files (router pages).
- `LoadRule` reports what the loader found (syntax, schema): it declares which LoadProblem.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from kb.core.diagnostics import Finding, Level, LoadProblem
from kb.load.secrets import RULE_CODE

if TYPE_CHECKING:
    from kb.load.knowledge_base import Document
    from kb.rules.context import RuleContext

CODE_PATTERN = re.compile(r"^KB[0-9]{3}$")
NAME_PATTERN = re.compile(r"^[a-z]+/[a-z0-9-]+$")


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rule:
    """Base of every rule. The subclass docstring is the rule's documentation page."""

    code: ClassVar[str]
    name: ClassVar[str]
    level: ClassVar[Level] = Level.ERROR
    Options: ClassVar[type[BaseModel]] = NoOptions
    # "document": a finding depends only on that document and the shared inputs (oncall.yaml,
    # references, router pages, mkdocs.yml, templates, the day), so a run after one card
    # changed re-runs the rule on that card alone. "kb": it reads other documents or rule
    # files, and always runs on the whole KB.
    scope: ClassVar[str] = "kb"
    # Programs the rule runs (promtool, amtool): whether they are installed, and which build,
    # is part of the check cache's key, as the files the rule reads are.
    tools: ClassVar[tuple[str, ...]] = ()

    def check(self, ctx: RuleContext, options: Any) -> Iterable[Finding]:
        raise NotImplementedError

    def start(self, ctx: RuleContext, options: Any) -> None:
        """Begin slow work that needs no other rule (a program such as promtool) before the
        engine runs the rules, so that it runs on another core meanwhile; `check` collects it
        and must also work when `start` was never called."""

    def stop(self) -> None:
        """Release what `start` began and `check` did not collect (the check failed or ended early)."""

    @classmethod
    def reads(cls, options: Any) -> list[str]:
        """Files beyond the knowledge base's folders that the rule reads with these options
        (KB-relative, as configured): the check cache's key covers their content."""
        return []

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0].strip()

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return cls.Options().model_dump()


class DocumentRule(Rule):
    """A rule judged per document; the engine hands it each one whose model loaded (or every
    one, with `needs_model = False`) from the folders in `documents`."""

    scope: ClassVar[str] = "document"
    documents: ClassVar[tuple[str, ...]] = ("cards",)  # "cards" and/or "postmortems"
    needs_model: ClassVar[bool] = True

    def check(self, ctx: RuleContext, options: Any) -> Iterable[Finding]:
        return ()  # findings beyond the documents (router pages); none by default

    def check_document(self, ctx: RuleContext, doc: Document[Any], options: Any) -> Iterable[Finding]:
        raise NotImplementedError


class LoadRule(Rule):
    """A rule whose findings the loader makes while reading files (syntax, schema)."""

    reports: ClassVar[LoadProblem]

    def check(self, ctx: RuleContext, options: Any) -> Iterable[Finding]:
        for finding in ctx.kb.load_findings.get(self.reports, []):
            if RULE_CODE in finding.message:
                finding.message = finding.message.replace(RULE_CODE, self.code)
            yield finding
