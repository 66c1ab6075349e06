"""What a check reports: a finding from a rule, placed at a YAML node or a text position."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

SUPPRESSION = re.compile(r"kb:\s*ignore\[([^\]]*)\]")  # an inline `# kb: ignore[CODE, ...]` comment


class Level(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Span:
    """1-based, inclusive start and exclusive end, as editors and SARIF count."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass
class Finding:
    """A problem a rule found, before it is placed and levelled.

    Rules speak in YAML paths (``loc``) so that they never need positions; the check
    resolves paths to spans only for files that have findings, which keeps the round-trip
    cost off every file that is fine.
    """

    path: str
    message: str
    loc: Loc = ()
    at: str = "value"  # "value" or "key": which node of a mapping entry to point at
    span: Span | None = None  # set directly when there is no YAML node (syntax errors, Markdown)
    code: str = ""
    level: Level | None = None  # only when one finding of a rule differs from the rule's level


@dataclass
class Diagnostic:
    path: str
    span: Span
    code: str
    name: str
    level: Level
    message: str
    help_url: str
    loc: Loc = field(default=())

    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.column, self.code, self.message)
