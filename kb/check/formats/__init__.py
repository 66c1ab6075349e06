"""Output formats of `kb check`: one module each, all taking a CheckResult."""

from __future__ import annotations

from kb.check.engine import CheckResult
from kb.check.formats import github, json_format, sarif, text

FORMATS = {"text": text.render, "json": json_format.render, "github": github.render, "sarif": sarif.render}


def render(result: CheckResult, fmt: str, color: bool = False) -> str:
    if fmt == "text":
        return text.render(result, color=color)
    return FORMATS[fmt](result)
