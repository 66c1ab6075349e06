"""Jinja2 for KB-provided templates: sandboxed, bounded, StrictUndefined, YAML-safe filters.

Templates live in the KB (a team edits its own), so they render in a sandbox with limits:
a template may run at most MAX_ITERATIONS loop iterations and write at most MAX_OUTPUT
characters per render, no number it computes or passes may be over MAX_NUMBER where it
sizes a string or a list (`'x' * n`, `center(n)`, `'%99999d'`), recursion ends at Python's
own limit, and a render may take at most max_seconds() of wall time (checked at every call,
operator, attribute, loop iteration and output: a macro calling itself twice per level
spins without a loop and without output). Exceeding one is a TemplateProblem naming the template's file and line,
never gigabytes of memory or a spin. Templates are found only inside the KB's templates
folder (links resolved: one pointing outside is refused, not used) or kb's defaults, and
read with kb.core.safefile.

sandboxed_environment is the one factory: `kb new` writes YAML, and values a person typed
(a title with quotes, colons or `{{`) go in through `q`, which writes a double-quoted YAML
scalar, so a value can never add a key or break the file; the site's Markdown templates
escape every value through `finalize`, its HTML ones autoescape.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    nodes,
)
from jinja2.exceptions import TemplateRuntimeError
from jinja2.loaders import split_template_path
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from kb.core import safefile
from kb.core.paths import OutsideKB, confine

MAX_ITERATIONS = 200_000  # loop iterations in one render, all loops together
MAX_OUTPUT = 4_000_000  # characters one render may write (a site listing page is well under 1 MB)
MAX_NUMBER = 1_000_000  # the largest size a template may ask for: repeat count, width, padding
MAX_TEMPLATE_BYTES = 1 << 20
MAX_SECONDS = 5.0  # one render; kb's own pages render in milliseconds


def max_seconds() -> float:
    """The time limit of one render: MAX_SECONDS, or KB_TEMPLATE_SECONDS when set (lower in CI)."""
    try:
        chosen = float(os.environ.get("KB_TEMPLATE_SECONDS") or MAX_SECONDS)
    except ValueError:
        return MAX_SECONDS
    return chosen if chosen > 0 else MAX_SECONDS


class TemplateLimit(TemplateRuntimeError):
    """A template went over one of kb's limits."""


class _Budget:
    def __init__(self) -> None:
        self.iterations = 0
        self.output = 0
        self.steps = 0
        self.seconds = max_seconds()
        self.deadline = time.monotonic() + self.seconds

    def tick(self) -> None:
        """One step of the template's work; every 64th looks at the clock."""
        self.steps += 1
        if not self.steps & 63 and time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template runs longer than {self.seconds:g} s")

    def spend_output(self, text: str) -> None:
        self.tick()
        self.output += len(text)
        if self.output > MAX_OUTPUT:
            raise TemplateLimit(f"the template writes more than {MAX_OUTPUT:,} characters")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("kb_template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        budget = _Budget()
        _BUDGET.set(budget)
    return budget


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.iterations += 1
        budget.tick()
        if budget.iterations > MAX_ITERATIONS:
            raise TemplateLimit(f"the template runs more than {MAX_ITERATIONS:,} loop iterations")
        yield item


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def _check_number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise TemplateLimit(
            f"the number {value if abs(value) < 10**30 else 'given'} is over kb's limit of {MAX_NUMBER:,}"
        )


def _check_result(value: Any) -> Any:
    if _size(value) > MAX_OUTPUT:
        raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters or items")
    return value


def _concat(*parts: Any) -> str:
    if sum(_size(str(p)) for p in parts) > MAX_OUTPUT:
        raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
    return "".join(str(p) for p in parts)


_FORMAT_WIDTH = re.compile(r"%[-+ #0]*(\d+)(?:\.(\d+))?|\{[^{}]*?:[^{}]*?(\d+)")


def _check_format(spec: Any) -> None:
    if isinstance(spec, str):
        for match in _FORMAT_WIDTH.finditer(spec):
            for number in match.groups():
                if number and int(number) > MAX_NUMBER:
                    raise TemplateLimit(f"a format width of {number} is over kb's limit of {MAX_NUMBER:,}")


def _bounded_call(function: Callable[..., Any], name: str = "") -> Callable[..., Any]:
    """`function` refusing sizes over the limits before it runs, and results over them after."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        lead = 0
        while lead < len(args) and isinstance(args[lead], (EvalContext, Context)):
            lead += 1  # pass_context / pass_eval_context filters get Jinja's context first
        head, args = args[:lead], args[lead:]
        values = list(args) + list(kwargs.values())
        for value in values:
            _check_number(value)
        if name in ("format",) and args:
            _check_format(args[0])
        if name == "join" and args:
            items = list(args[0]) if not isinstance(args[0], (str, bytes)) else list(args[0])
            sep = args[1] if len(args) > 1 else kwargs.get("d", "")
            if sum(_size(str(i)) for i in items) + _size(sep) * max(len(items) - 1, 0) > MAX_OUTPUT:
                raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
            args = (items, *args[1:])
        if name == "indent" and args:
            text, width = str(args[0]), args[1] if len(args) > 1 else kwargs.get("width", 4)
            if isinstance(width, int) and (text.count("\n") + 1) * width + len(text) > MAX_OUTPUT:
                raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
        if name == "replace" and len(args) >= 3:
            text, new = str(args[0]), str(args[2])
            if (len(text) + 1) * (len(new) + 1) > MAX_OUTPUT and len(text) * len(new) > MAX_OUTPUT:
                raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
        return _check_result(function(*head, *args, **kwargs))

    return call


class BoundedTemplate(Template):
    """Each top-level render gets a fresh budget (a render inside a render shares it)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if _BUDGET.get() is not None:
            return super().render(*args, **kwargs)
        token = _BUDGET.set(_Budget())
        try:
            return super().render(*args, **kwargs)
        finally:
            _BUDGET.reset(token)


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with kb's limits: loops counted, strings and lists sized, output capped."""

    template_class = BoundedTemplate
    intercepted_binops = frozenset(["*", "**", "%", "+", "//"])

    def __init__(self, *args: Any, finalize: Callable[[Any], Any] | None = None, **kwargs: Any):
        inner = finalize

        def bounded_finalize(value: Any) -> Any:
            shown = inner(value) if inner is not None else value
            _budget().spend_output(str(shown) if shown is not None else "")
            return shown

        super().__init__(*args, finalize=bounded_finalize, **kwargs)
        self.globals["_kb_counted"] = _counted
        self.globals["_kb_concat"] = _concat
        self.filters = {name: _bounded_call(f, name) for name, f in self.filters.items()}
        self.globals.update({name: _bounded_call(f, name) for name, f in self.globals.items() if callable(f)})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        _budget().tick()
        if op == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(b, int) and _size(a) and _size(a) * b > MAX_OUTPUT:
                    raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
        if op == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 64 or abs(left).bit_length() * max(right, 0) > 4096:
                raise TemplateLimit("a power too large for a template")
        if op == "%":
            _check_format(left)
        if op == "+" and _size(left) + _size(right) > MAX_OUTPUT:
            raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
        return super().call_binop(context, op, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        for value in (*args, *kwargs.values()):
            _check_number(value)
        name = getattr(__obj, "__name__", "")
        if name == "format" and isinstance(getattr(__obj, "__self__", None), str):
            _check_format(__obj.__self__)
        if name == "join" and isinstance(getattr(__obj, "__self__", None), str) and args:
            items = list(args[0])
            if sum(_size(str(i)) for i in items) + len(__obj.__self__) * max(len(items) - 1, 0) > MAX_OUTPUT:
                raise TemplateLimit(f"the template builds a value of more than {MAX_OUTPUT:,} characters")
            args = (items, *args[1:])
        return _check_result(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name("_kb_counted", "load"), [loop.iter], [], None, None, lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            _replace_node(
                tree,
                concat,
                nodes.Call(nodes.Name("_kb_concat", "load"), concat.nodes, [], None, None, lineno=concat.lineno),
            )
        return tree


def _replace_node(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    for node in [tree, *tree.find_all(nodes.Node)]:
        for field in node.fields:
            value = getattr(node, field, None)
            if value is old:
                setattr(node, field, new)
                return
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if item is old:
                        value[index] = new
                        return


class ConfinedLoader(BaseLoader):
    """Templates from folders, each confined: a name resolving outside its folder's KB (a
    link out) is refused; files are read with kb.core.safefile (no FIFO, no device, bounded)."""

    def __init__(self, folders: list[tuple[Path, Path]]):
        self.folders = folders  # (root the folder must stay in, folder)

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for root, folder in self.folders:
            candidate = folder.joinpath(*pieces)
            if not os.path.lexists(candidate):
                continue
            try:
                rel = os.path.relpath(candidate, root)
                path = confine(root, rel)
                text = safefile.read_text(path, MAX_TEMPLATE_BYTES)
            except OutsideKB as exc:
                raise TemplateProblem(f"template {exc.rel} {exc.why}: not used") from None
            except OSError as exc:
                raise TemplateProblem(
                    f"template {os.path.relpath(candidate, root)}: {safefile.describe(exc)}"
                ) from None
            return text, str(candidate), functools.partial(_unchanged, path, os.path.getmtime(path))
        raise TemplateNotFound(template)


def _unchanged(path: Path, mtime: float) -> bool:
    return os.path.exists(path) and os.path.getmtime(path) == mtime


def sandboxed_environment(
    root: Path,
    overrides: list[Path],
    defaults: Path,
    *,
    autoescape: bool = False,
    finalize: Callable[[Any], Any] | None = None,
    trim: bool = False,
    filters: dict[str, Callable[..., Any]] | None = None,
    globals: dict[str, Any] | None = None,
) -> BoundedEnvironment:
    """The one Jinja environment kb makes: sandboxed, StrictUndefined and bounded (kb's limits
    above), finding a template first in `overrides` (folders inside the KB at `root`; one that
    is outside, or linked out of the KB, is skipped), then in kb's `defaults`. What differs
    between users is escaping: `kb new` writes YAML and quotes typed values with `q`; the
    site's Markdown templates escape every value through `finalize`, its HTML ones autoescape."""
    folders = []
    for folder in overrides:
        try:
            rel = os.path.relpath(folder, root)
            if confine(root, rel).is_dir():
                folders.append((root, folder))
        except (OutsideKB, ValueError):
            continue
    folders.append((defaults, defaults))
    env = BoundedEnvironment(
        loader=ConfinedLoader(folders),
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


def trusted_environment(defaults: Path, *, autoescape: bool = False, trim: bool = False) -> Environment:
    """kb's own templates only (`defaults`, inside kb's package), rendered as
    sandboxed_environment renders them (StrictUndefined, same escaping and whitespace) but
    without the sandbox and limits, which guard against a KB's own template: for the site
    when the KB has none, where the checks cost a third of rendering 10,000 cards."""
    return Environment(
        loader=FileSystemLoader(str(defaults)),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=True,
    )


def quote(value: Any) -> str:
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


def flow(values: Any) -> str:
    return "[" + ", ".join(quote(v) for v in (values or [])) + "]"


def default_null(value: Any) -> str:
    return "null" if value in (None, "") else quote(value)


def default_templates_dir() -> Path:
    return Path(str(resources.files("kb") / "defaults" / "templates"))


def environment(folder: Path, root: Path | None = None) -> BoundedEnvironment:
    """`kb new`'s environment: the output is YAML, and `q` quotes every typed value."""
    return sandboxed_environment(
        root if root is not None else folder.parent,
        [folder],
        default_templates_dir(),
        filters={"q": quote, "flow": flow, "default_null": default_null},
    )


class TemplateProblem(Exception):
    pass


def render(folder: Path, name: str, context: dict[str, Any], root: Path | None = None) -> str:
    """Render template `name` (from `folder` inside the KB at `root`, else kb's defaults)
    within kb's limits."""
    return bounded_render(lambda: environment(folder, root).get_template(name), name, context)


def bounded_render(load: Callable[[], Template], name: str, context: dict[str, Any]) -> str:
    """`load()`'s template rendered with a fresh budget; any failure is a TemplateProblem."""
    token = _BUDGET.set(_Budget())
    try:
        template = load()
        return str(template.render(**context))
    except TemplateProblem:
        raise
    except TemplateError as exc:
        raise TemplateProblem(describe_template_error(exc, name)) from None
    except RecursionError as exc:
        raise TemplateProblem(describe_template_error(TemplateLimit("recursion too deep"), name, exc)) from None
    except MemoryError as exc:
        raise TemplateProblem(describe_template_error(TemplateLimit("out of memory"), name, exc)) from None
    except Exception as exc:  # noqa: BLE001 (a KB's own template can fail in any way: say where, not a traceback)
        raise TemplateProblem(describe_template_error(exc, name)) from None
    finally:
        _BUDGET.reset(token)


def describe_template_error(exc: BaseException, name: str, cause: BaseException | None = None) -> str:
    """`template <file> (line N): <what>`: a syntax error carries its line; a runtime one (the
    sandbox refusing `__class__`, an undefined name, a limit) is found in the traceback, which
    Jinja rewrites to point at the template's own lines."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if line is None:
        frame = (cause or exc).__traceback__
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
