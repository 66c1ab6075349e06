"""Output formats of `kb check`: one module each, all taking a CheckResult.

`github` and `sarif` name files relative to the repository root (`path_prefix` is the
knowledge base's folder inside the repository), because that is what GitHub resolves them
against; `text` and `json` stay relative to the knowledge base, as a person reads them."""

from __future__ import annotations

from kb.check.engine import CheckResult
from kb.check.formats import github, json_format, sarif, text

FORMATS = ("text", "json", "github", "sarif")


def render(result: CheckResult, fmt: str, color: bool = False, path_prefix: str = "", site_url: str = "") -> str:
    if fmt == "text":
        return text.render(result, color=color)
    if fmt == "json":
        return json_format.render(result)
    if fmt == "github":
        return github.render(result, path_prefix)
    if fmt == "sarif":
        return sarif.render(result, path_prefix, site_url)
    raise ValueError(f"unknown format {fmt}")
