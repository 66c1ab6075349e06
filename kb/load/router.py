"""The router: a short Markdown page (and the sub-router pages it links) mapping a situation
to exactly one card. Parsed line by line; links keep their positions for diagnostics."""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from kb.config.mkdocs import read_raw
from kb.core import markdown_render, safefile, yamlio
from kb.core.diagnostics import Span
from kb.core.paths import confine, inside
from kb.core.safefile import is_regular, kind_of

LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")


@dataclass
class Link:
    text: str
    target: str
    line: int
    column: int
    end_column: int
    kind: str = "other"  # card | subrouter | other | missing | outside
    card_id: str | None = None
    resolved: str | None = None  # the target relative to the KB root

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.line, self.end_column)


@dataclass
class RouteLine:
    page: str
    line: int
    text: str
    links: list[Link]

    @cached_property
    def cards(self) -> list[Link]:
        return [link for link in self.links if link.kind == "card"]

    @cached_property
    def subrouters(self) -> list[Link]:
        return [link for link in self.links if link.kind == "subrouter"]


@dataclass
class RouterPage:
    path: str
    nonblank: int
    lines: list[RouteLine]


@dataclass
class Router:
    root_page: str
    pages: list[RouterPage] = field(default_factory=list)
    missing: bool = False
    reads_other_files: bool = False  # a Markdown extension reads files while rendering (no cache keeps it)

    def routing_lines(self) -> list[RouteLine]:
        return [line for page in self.pages for line in page.lines if line.cards or line.subrouters]

    def looked_up(self) -> list[str]:
        """Every path reading the router looked at besides its pages: the link targets whose
        existence decided a link's kind (a sub-router page created later, a linked file
        deleted), and the router itself when it was not read. Caches validate these too."""
        pages = {page.path for page in self.pages}
        found = {
            link.resolved
            for page in self.pages
            for line in page.lines
            for link in line.links
            if link.resolved is not None and link.kind != "card" and link.resolved not in pages
        }
        if not self.pages:
            found.add(self.root_page)
        return sorted(found)

    def routes_by_card(self) -> dict[str, list[tuple[RouteLine, Link]]]:
        routes: dict[str, list[tuple[RouteLine, Link]]] = {}
        for line in self.routing_lines():
            for link in line.cards:
                if link.card_id is not None:  # always set on a card link
                    routes.setdefault(link.card_id, []).append((line, link))
        return routes


def _classify(link: Link, page_dir: str, root: Path, cards_prefix: str, references_prefix: str) -> None:
    """Kind of a link from its path alone; only sub-router pages (which are read) are stat-ed.
    Whether a card link's file exists is KB502's business, checked against the loaded cards."""
    target = link.target.split("#", 1)[0]
    if not target or _SCHEME.match(target):
        link.kind = "other"  # an anchor or an absolute URL (https:, mailto:)
        return
    joined = posixpath.normpath(posixpath.join(page_dir, target)) if page_dir else posixpath.normpath(target)
    if joined.startswith(("../", "/")) or joined == "..":
        link.kind = "outside"
        return
    link.resolved = joined
    if (
        joined.startswith(cards_prefix)
        and joined.endswith((".yaml", ".yml"))
        and "/" not in joined[len(cards_prefix) :]
    ):
        link.kind = "card"
        link.card_id = joined[len(cards_prefix) :].rsplit(".", 1)[0]
    elif joined.endswith(".md") and not joined.startswith(references_prefix):
        link.kind = "subrouter" if (root / joined).is_file() else "missing"
    elif not (root / joined).is_file():
        link.kind = "missing"


def _rendered(
    text: str, candidates: list[tuple[int, re.Match[str]]], markdown_extensions: list[Any] | None
) -> set[int]:
    """Which candidate links Markdown renders as links (the indexes into `candidates`): each
    candidate's target is swapped for a marker and the page rendered as the site renders it,
    so a link in an HTML comment, a fenced or indented code block or inline code is no link."""
    if not candidates:
        return set()
    if _plainly_linked(text, candidates, markdown_extensions):
        return set(range(len(candidates)))
    lines = text.splitlines(keepends=True)
    by_line: dict[int, list[tuple[int, re.Match[str]]]] = {}
    for index, (number, match) in enumerate(candidates):
        by_line.setdefault(number, []).append((index, match))
    for number, found in by_line.items():
        line = lines[number - 1]
        for index, match in reversed(found):  # from the right: earlier offsets stay valid
            line = line[: match.start(2)] + f"kbroutelink{_NONCE}n{index}x" + line[match.end(2) :]
        lines[number - 1] = line
    marked = "".join(lines)
    key = _extensions_key(markdown_extensions)
    if key is not None and (marked, key) in _RENDERED:
        return set(_RENDERED[(marked, key)])
    with _RENDER_LOCK:  # a kept Markdown is one renderer: one page at a time, whatever the thread
        html = _markdown(markdown_extensions, key).convert(marked)
    # the marker carries a per-process secret: a page's own text cannot forge a rendered link
    linked = frozenset(int(index) for index in re.findall(rf'href="kbroutelink{_NONCE}n([0-9]+)x"', html))
    if key is not None:
        if len(_RENDERED) >= _RENDERED_LIMIT:
            _RENDERED.clear()
        _RENDERED[(marked, key)] = linked
    return set(linked)


# A page written in plain Markdown renders every candidate as a link, and is read without
# rendering it (rendering is most of reading the router). Plain: with MkDocs' builtin
# extensions only (toc without a custom marker, tables, fenced_code), and every line empty, an
# ATX heading, a `- ` list item or a paragraph line starting with a letter, none indented,
# made of letters, digits, a few punctuation marks, non-ASCII printable characters, `code`
# spans on one line and links `[text](target)` of plain characters. Nothing there can hide a
# link: no HTML, entity or comment (`<`, `&`), escape (`\`), image (`!`), code block (an
# indented line, a backtick fence), table (`|`), reference or footnote (a `[` outside a link),
# emphasis marker, or line break other than `\n`; a list item cannot be a rule or a setext
# underline, and code spans pair up within their line. tests/test_router_plain_pages.py
# compares it with the rendering on generated pages.
_PLAIN_WORD = r"[A-Za-z0-9.,:;/'?%+=#-]|[^\x00-\x7f\s]"  # and a space, outside a link
_PLAIN_CHAR = rf"{_PLAIN_WORD}|[ ()]"
_PLAIN_CODE = r"`(?:[^`<>&\\\[\]\s\x00-\x1f\x7f]| )+`"
_PLAIN_LINK = rf"\[(?:{_PLAIN_WORD})(?:{_PLAIN_WORD}| )*\]\([A-Za-z0-9._/#-]+\)"
_PLAIN_TEXT = rf"(?:{_PLAIN_CHAR}|{_PLAIN_CODE}|{_PLAIN_LINK})"
_PLAIN_LINE = re.compile(
    rf"(?:|#{{1,6}} (?:{_PLAIN_CHAR})*|- (?=[A-Za-z0-9`\[]|[^\x00-\x7f\s]){_PLAIN_TEXT}*|[A-Za-z]{_PLAIN_TEXT}*)"
)
_PLAIN_EXTENSIONS = {"toc", "tables", "fenced_code"}


def _plainly_linked(text: str, candidates: list[tuple[int, re.Match[str]]], markdown_extensions: Any) -> bool:
    """Every candidate is a link, read off a plain page (see _PLAIN_LINE) without rendering it."""
    for name, options in markdown_render.entries(markdown_extensions):
        if name.removeprefix("markdown.extensions.") not in _PLAIN_EXTENSIONS or "marker" in options:
            return False
    lines = text.split("\n")
    if not all(_PLAIN_LINE.fullmatch(line) for line in lines):
        return False
    # the candidates are the page's own links, each written `[text](target)` (the line
    # pattern above placed every `[` in one)
    return all(match.group() == f"[{match.group(1)}]({match.group(2)})" for _, match in candidates)


# Which candidates a page renders as links is a function of its marked text and the Markdown
# extensions alone: a check reads the router twice (the rules, then the routing index), and
# rendering is most of reading it, so each page is rendered once per process.
_RENDERED: dict[tuple[str, str], frozenset[int]] = {}
_RENDERED_LIMIT = 4096
_NONCE = secrets.token_hex(8)
_MARKDOWNS: dict[str, Any] = {}
_RENDER_LOCK = threading.Lock()


def _extensions_key(markdown_extensions: list[Any] | None) -> str | None:
    """The extensions' configuration as text, or None when it does not write as JSON or an
    extension reads other files (the same page may then render otherwise: never memoised)."""
    if markdown_render.reads_files(markdown_extensions):
        return None
    try:
        return json.dumps(markdown_render.entries(markdown_extensions), sort_keys=True)
    except (TypeError, ValueError):
        return None


def _markdown(markdown_extensions: list[Any] | None, key: str | None) -> Any:
    """A Markdown ready to convert a page. One is kept per configuration when every extension
    is one of Python-Markdown's own, whose state `reset()` clears; a third-party extension may
    keep state between pages, so with one a fresh Markdown is built per page, as MkDocs does."""
    if key is None or not all(_is_markdown_own(name) for name, _ in markdown_render.entries(markdown_extensions)):
        return markdown_render.build(markdown_extensions)
    md = _MARKDOWNS.get(key)
    if md is None:
        md = _MARKDOWNS[key] = markdown_render.build(markdown_extensions)
    md.reset()
    return md


def _is_markdown_own(name: str) -> bool:
    module = name.partition(":")[0]
    return "." not in module or module.startswith("markdown.extensions.")


def parse_page(
    root: Path, rel: str, cards_dir: str, references_dir: str, markdown_extensions: list[Any] | None = None
) -> RouterPage:
    text = safefile.read_text(confine(root, rel))
    page_dir = posixpath.dirname(rel)
    cards_prefix, references_prefix = cards_dir.rstrip("/") + "/", references_dir.rstrip("/") + "/"
    nonblank = 0
    candidates: list[tuple[int, re.Match[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        nonblank += 1
        if "](" in raw and LIST_ITEM.match(raw):
            candidates += [(number, match) for match in LINK.finditer(raw)]
    rendered = _rendered(text, candidates, markdown_extensions)
    lines: dict[int, RouteLine] = {}
    raw_lines = text.splitlines()
    for index, (number, match) in enumerate(candidates):
        if index not in rendered:
            continue
        link = Link(match.group(1), match.group(2), number, match.start() + 1, match.end() + 1)
        _classify(link, page_dir, root, cards_prefix, references_prefix)
        lines.setdefault(number, RouteLine(rel, number, raw_lines[number - 1].strip(), [])).links.append(link)
    return RouterPage(rel, nonblank, list(lines.values()))


def load_router(
    root: Path, router: str, cards_dir: str, references_dir: str, markdown_extensions: list[Any] | None = None
) -> Router:
    """The router page and every sub-router reachable from it (each page read once), read with
    the KB's Markdown extensions (from mkdocs.yml when not given)."""
    if markdown_extensions is None:
        markdown_extensions = _configured_extensions(root)
    result = Router(router)
    # a page may pull in other files as it renders (pymdownx.snippets): no cache can keep it
    result.reads_other_files = markdown_render.reads_files(markdown_extensions)
    if not is_regular(root / router) or inside(root, router) is None:
        result.missing = True  # a link out, a FIFO or a device is not a router (KB102, KB103 say why)
        return result
    queue, seen = [router], {router}
    while queue:
        rel = queue.pop(0)
        if inside(root, rel) is None:
            continue  # a link out of the KB is never read (KB102)
        try:
            page = parse_page(root, rel, cards_dir, references_dir, markdown_extensions)
        except (OSError, ValueError):
            continue  # not a regular file, too large, or gone: never read
        result.pages.append(page)
        for line in page.lines:
            for link in line.subrouters:
                if link.resolved is not None and link.resolved not in seen:
                    seen.add(link.resolved)
                    queue.append(link.resolved)
    return result


class _PathSettings(Protocol):
    router: str
    cards_dir: str
    references_dir: str


def router_for(root: Path, settings: _PathSettings, markdown_extensions: list[Any] | None = None) -> Router:
    """The router of a KB, from its settings (or kb.config.mkdocs.Paths)."""
    return load_router(
        root, settings.router, settings.cards_dir.strip("/"), settings.references_dir.strip("/"), markdown_extensions
    )


def _configured_extensions(root: Path) -> list[Any]:
    try:
        extensions = read_raw(root).get("markdown_extensions")
    except (yamlio.YamlProblem, OSError):
        return []  # kb check reports mkdocs.yml; the router is read with MkDocs' builtins
    return extensions if isinstance(extensions, list) else []


def published_text_files(
    root: Path, references_dir: str, router_pages: list[str], max_bytes: int = safefile.DEFAULT_LIMIT
) -> list[str]:
    """The Markdown the site publishes besides the YAML: router pages and references."""
    refs = root / references_dir.strip("/")
    found = set(router_pages)
    if refs.is_dir():
        for path in sorted(refs.rglob("*.md")):
            rel = path.relative_to(root).as_posix()
            if (
                not path.is_symlink()
                and is_regular(path)
                and inside(root, rel) is not None
                and path.stat().st_size <= max_bytes
            ):
                found.add(rel)
    return sorted(found)


def unreadable_text_files(
    root: Path, router: str, references_dir: str, max_bytes: int = safefile.DEFAULT_LIMIT
) -> list[tuple[str, str]]:
    """(path, why) for the router and every `*.md` under references/ that exists but is not a
    regular file kb may read (a FIFO, a device, a socket, a folder, a link loop)."""
    candidates = [router]
    refs = os.path.join(root, references_dir.strip("/"))
    if inside(root, references_dir.strip("/") or ".") is not None:
        for dirpath, dirnames, filenames in os.walk(refs):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            base = os.path.relpath(dirpath, root).replace(os.sep, "/")
            candidates += [f"{base}/{n}" for n in sorted(filenames + dirnames) if n.endswith(".md")]
    found = []
    for rel in candidates:
        path = os.path.join(root, rel)
        if not os.path.lexists(path) or inside(root, rel) is None:
            continue
        try:
            info = os.stat(path)
        except OSError as exc:
            found.append((rel, exc.strerror or str(exc)))
            continue
        kind = kind_of(info.st_mode)
        if kind is not None:
            found.append((rel, f"{kind}, not a regular file: kb never opens it"))
        elif info.st_size > max_bytes:
            found.append((rel, f"{info.st_size:,} bytes, over the {max_bytes:,}-byte limit (max_file_bytes); not read"))
    return found
