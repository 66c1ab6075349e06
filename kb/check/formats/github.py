"""GitHub Actions workflow commands: annotations on the pull request's changed lines."""

from __future__ import annotations

from kb.check.engine import CheckResult
from kb.core.text import one_line

_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(value: str) -> str:
    # GitHub's own escapes first, then every other control made visible (kb.core.text)
    return one_line(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(result: CheckResult, path_prefix: str = "") -> str:
    lines = []
    for d in result.diagnostics:
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", path_prefix + d.path),  # relative to the repository root
                ("line", d.span.line),
                ("col", d.span.column),
                ("endLine", d.span.end_line),
                ("endColumn", d.span.end_column),
                ("title", f"{d.code} {d.name}"),
            )
        )
        lines.append(f"::{_COMMANDS[d.level.value]} {props}::{_escape_data(d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
