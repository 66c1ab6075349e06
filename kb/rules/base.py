"""What a rule is: a stable code, a slash name, a default level, a docstring, a check."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from kb.diagnostics import Finding, Level

if TYPE_CHECKING:
    from kb.kbase import KnowledgeBase

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
    # "document": a finding on a card or postmortem depends only on that file and the shared
    # inputs (oncall.yaml, references, router pages, mkdocs.yml, templates, the day), so a run
    # after one card changed re-runs the rule on that card alone. "kb": it reads other
    # documents or rule files, and always runs on the whole KB.
    scope: ClassVar[str] = "kb"

    def check(self, kb: KnowledgeBase, options: BaseModel) -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0].strip()

    @classmethod
    def option_defaults(cls) -> dict:
        return cls.Options().model_dump()


class LoadRule(Rule):
    """A rule whose findings the loader makes while reading files (syntax, schema)."""

    def check(self, kb: KnowledgeBase, options: BaseModel) -> Iterable[Finding]:
        return kb.load_findings.get(self.code, [])
