"""Jinja2 for KB-provided templates: sandboxed, StrictUndefined, YAML-safe filters.

Templates live in the KB (a team edits its own), so they render in a sandbox; values a
person typed (a title with quotes, colons or `{{`) go in through `q`, which writes a
double-quoted YAML scalar, so a value can never add a key or break the file.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment


def quote(value: Any) -> str:
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


def flow(values: Any) -> str:
    return "[" + ", ".join(quote(v) for v in (values or [])) + "]"


def default_null(value: Any) -> str:
    return "null" if value in (None, "") else quote(value)


def default_templates_dir() -> Path:
    return Path(str(resources.files("kb") / "defaults" / "templates"))


def environment(folder: Path) -> SandboxedEnvironment:
    search = [str(folder), str(default_templates_dir())] if folder.is_dir() else [str(default_templates_dir())]
    env = SandboxedEnvironment(
        loader=FileSystemLoader(search),
        undefined=StrictUndefined,
        autoescape=False,  # the output is YAML; `q` quotes every typed value
        keep_trailing_newline=True,
    )
    env.filters.update(q=quote, flow=flow, default_null=default_null)
    return env


class TemplateProblem(Exception):
    pass


def render(folder: Path, name: str, context: dict[str, Any]) -> str:
    try:
        return environment(folder).get_template(name).render(**context)
    except TemplateError as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise TemplateProblem(f"template {name}{where}: {exc}") from None
