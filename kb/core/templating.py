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
        raise TemplateProblem(describe_template_error(exc, name)) from None


def describe_template_error(exc: TemplateError, name: str) -> str:
    """`template <file> (line N): <what>`: a syntax error carries its line; a runtime one (the
    sandbox refusing `__class__`, an undefined name) is found in the traceback, which Jinja
    rewrites to point at the template's own lines."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if line is None:
        frame = exc.__traceback__
        while frame is not None:
            if frame.tb_frame.f_code.co_filename.endswith(".j2"):
                filename, line = frame.tb_frame.f_code.co_filename, frame.tb_lineno
            frame = frame.tb_next
    shown = _relative(filename) if filename else name
    return f"template {shown}" + (f" (line {line})" if line else "") + f": {exc}"


def _relative(filename: str) -> str:
    path = Path(filename)
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
