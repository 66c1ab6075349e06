"""What a check reports: a finding from a rule, placed at a YAML node or a text position."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

SUPPRESSION = re.compile(r"kb:\s*ignore\[([^\]]*)\]")  # an inline `# kb: ignore[CODE, ...]` comment


class LoadProblem(str, enum.Enum):
    """What the loader finds while reading files. Each kind is reported by exactly one rule
    (a `LoadRule` in kb/rules, which declares `reports`): the loader knows no rule codes."""

    YAML = "yaml"  # not readable YAML, or unreadable bytes
    CONFIG = "config"  # the kb entry of mkdocs.yml
    INVALID_VALUE = "invalid-value"
    UNKNOWN_FIELD = "unknown-field"
    MISSING_FIELD = "missing-field"
    NAIVE_TIMESTAMP = "naive-timestamp"
    SECRET = "secret"
    UNREADABLE = "unreadable"  # not a regular file (FIFO, device, socket, directory), a link loop, no access
    RUN_LOG = "run-log"  # a line of runs/*.jsonl that is not a run event


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
    code: str = ""  # set by the engine from the rule that reported it
    level: Level | None = None  # only when one finding of a rule differs from the rule's level
    problem: LoadProblem | None = None  # for findings the loader makes: which kind (see LoadProblem)

    def to_plain(self) -> tuple[object, ...]:
        """Plain values only (for marshal: the check state and the load helper's pipe)."""
        span = (self.span.line, self.span.column, self.span.end_line, self.span.end_column) if self.span else None
        return (
            self.path,
            self.message,
            tuple(self.loc),
            self.at,
            span,
            self.code,
            self.level.value if self.level else None,
            self.problem.value if self.problem else None,
        )

    @classmethod
    def from_plain(cls, item: object) -> Finding:
        """The inverse of to_plain; raises TypeError or ValueError on anything else."""
        if not isinstance(item, tuple) or len(item) != 8:
            raise TypeError("finding")
        path, message, loc, at, span, code, level, problem = item
        if not (
            isinstance(path, str)
            and isinstance(message, str)
            and isinstance(loc, tuple)
            and isinstance(code, str)
            and at in ("value", "key")
        ):
            raise TypeError("finding")
        if span is not None and not (
            isinstance(span, tuple) and len(span) == 4 and all(isinstance(n, int) for n in span)
        ):
            raise TypeError("finding span")
        return cls(
            path,
            message,
            loc,
            at,
            Span(*span) if span is not None else None,
            code,
            Level(level) if level is not None else None,
            LoadProblem(problem) if problem is not None else None,
        )


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

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.span.line, self.span.column, self.code, self.message)

    def to_plain(self) -> dict[str, Any]:
        """JSON values for a cache, field by field as `dataclasses.asdict` ordered them (with
        the span and loc as lists, the level as its name); without asdict's deep copy of every
        field, which was most of storing a result with 10,000 diagnostics."""
        span = self.span
        return {
            "path": self.path,
            "span": [span.line, span.column, span.end_line, span.end_column],
            "code": self.code,
            "name": self.name,
            "level": self.level.value,
            "message": self.message,
            "help_url": self.help_url,
            "loc": list(self.loc),
        }

    @classmethod
    def from_plain(cls, d: dict[str, Any]) -> Diagnostic:
        """The diagnostic `to_plain` wrote (a cache's)."""
        return cls(
            d["path"],
            Span(*d["span"]),
            d["code"],
            d["name"],
            Level(d["level"]),
            d["message"],
            d["help_url"],
            tuple(d["loc"]),
        )
