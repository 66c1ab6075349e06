"""`path:line:col: LEVEL CODE message`, one a line, and a summary line."""

from __future__ import annotations

from kb.check.engine import CheckResult
from kb.core.diagnostics import Level
from kb.core.text import one_line

_COLORS = {Level.ERROR: "\033[31m", Level.WARNING: "\033[33m", Level.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render(result: CheckResult, color: bool = False) -> str:
    lines = []
    for d in result.diagnostics:
        where = f"{one_line(d.path)}:{d.span.line}:{d.span.column}:"
        if color:
            lines.append(
                f"{_BOLD}{where}{_RESET} {_COLORS[d.level]}{d.level.value}{_RESET} "
                f"{_BOLD}{d.code}{_RESET} {one_line(d.message)} {_DIM}[{d.name}]{_RESET}"
            )
        else:
            lines.append(f"{where} {d.level.value} {d.code} {one_line(d.message)} [{d.name}]")
    errors, warnings, infos = (result.count(level) for level in (Level.ERROR, Level.WARNING, Level.INFO))
    files = len({d.path for d in result.diagnostics})
    if result.diagnostics:
        summary = (
            f"Found {_plural(errors, 'error')}, {_plural(warnings, 'warning')}, {_plural(infos, 'info')} "
            f"in {_plural(files, 'file')} ({_plural(result.files_checked, 'file')} checked)."
        )
    else:
        summary = f"All good: {_plural(result.files_checked, 'file')} checked, no problems."
    if color:
        summary = f"{_BOLD}{summary}{_RESET}"
    lines.append(summary)
    return "\n".join(lines) + "\n"
