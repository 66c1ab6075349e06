"""Jinja2 for KB-provided templates: the one sandboxed environment factory kb uses.

Templates live in the KB (a team edits its own), so they render in a sandbox with
StrictUndefined, whatever they produce. What differs is escaping: `kb new` writes YAML, and
values a person typed (a title with quotes, colons or `{{`) go in through `q`, which writes a
double-quoted YAML scalar, so a value can never add a key or break the file; the site's
Markdown templates escape every value through `finalize`, its HTML ones autoescape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


def sandboxed_environment(
    override: Path,
    defaults: Path,
    *,
    autoescape: bool = False,
    finalize: Callable[[Any], Any] | None = None,
    trim: bool = False,
    filters: dict[str, Callable[..., Any]] | None = None,
    globals: dict[str, Any] | None = None,
) -> SandboxedEnvironment:
    """Templates from `override` (the KB's own folder, when it exists) before kb's `defaults`."""
    search = [str(override), str(defaults)] if override.is_dir() else [str(defaults)]
    env = SandboxedEnvironment(
        loader=FileSystemLoader(search),
        undefined=StrictUndefined,
        autoescape=autoescape,
        finalize=finalize,
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=True,
    )
    env.filters.update(filters or {})
    env.globals.update(globals or {})
    return env


def environment(folder: Path) -> SandboxedEnvironment:
    """`kb new`'s templates: the output is YAML, so no HTML escaping; `q` quotes every typed value."""
    return sandboxed_environment(
        folder, default_templates_dir(), filters={"q": quote, "flow": flow, "default_null": default_null}
    )


class TemplateProblem(Exception):
    pass


def render(folder: Path, name: str, context: dict[str, Any]) -> str:
    try:
        return environment(folder).get_template(name).render(**context)
    except TemplateError as exc:
        raise TemplateProblem(describe_template_error(exc, name)) from None


def describe_template_error(exc: Exception, name: str) -> str:
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
