"""Pages kb renders to HTML itself, with Jinja's autoescaping, instead of through Markdown.

A card page is the most numerous page of a large site (10,000 of 14,000 at 10,000 cards),
and Python-Markdown spent 8 of its 22 ms on one: all of it re-reading structure kb had just
written. Its HTML is what Markdown made of it (the same headings with ids and permalinks,
admonitions, code blocks and lists), so the theme, search and tests see the same page.
MkDocs still owns the page (title, nav, edit link, search entry): the plugin hands it an
empty Markdown body and puts this HTML in `on_page_content`, with the table of contents.

Heading ids follow the site's `toc` settings (slugify, separator, permalink), so a link
to `#steps` written by hand keeps working.

Without the plugin (kb/site/build.py, for generators that run no MkDocs plugin) the same
body goes into a Markdown file: headings are then Markdown headings with their id
(`## Steps { #steps }`, attr_list) between blocks of HTML, so the generator builds the
table of contents itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markdown.extensions.toc import slugify as markdown_slugify
from markdown.extensions.toc import unique
from markupsafe import Markup

from kb.site.escape import escape


@dataclass(frozen=True)
class TocSettings:
    """The parts of the site's `toc` Markdown extension config that shape headings."""

    slugify: Callable[[str, str], str] = markdown_slugify
    separator: str = "-"
    permalink: bool | str = False
    permalink_title: str = "Permanent link"

    @classmethod
    def from_mdx_configs(cls, configs: dict[str, Any] | None) -> TocSettings:
        toc = (configs or {}).get("toc") or {}
        return cls(
            slugify=toc.get("slugify") or markdown_slugify,
            separator=toc.get("separator", "-"),
            permalink=toc.get("permalink", False),
            permalink_title=toc.get("permalink_title", "Permanent link"),
        )


@dataclass
class Headings:
    """One page's headings: unique ids, permalinks and the nested toc tokens MkDocs expects."""

    settings: TocSettings
    markdown: bool = False  # Markdown headings between HTML blocks (see the module's docstring)
    ids: set[str] = field(default_factory=set)
    tokens: list[dict] = field(default_factory=list)
    _open: list[dict] = field(default_factory=list)

    def __call__(self, level: int, text: Any, anchor: str | None = None) -> Markup:
        name = html.escape(str(text), quote=False)
        anchor = unique(anchor or self.settings.slugify(str(text), self.settings.separator) or "section", self.ids)
        token: dict[str, Any] = {"level": level, "id": anchor, "name": name, "children": []}
        while self._open and self._open[-1]["level"] >= level:
            self._open.pop()
        (self._open[-1]["children"] if self._open else self.tokens).append(token)
        self._open.append(token)
        if self.markdown:
            return Markup(f"\n\n{'#' * level} {escape(text)} {{ #{anchor} }}\n\n")
        permalink = ""
        if self.settings.permalink:
            sign = "&para;" if self.settings.permalink is True else html.escape(str(self.settings.permalink))
            permalink = (
                f'<a class="headerlink" href="#{anchor}" '
                f'title="{html.escape(self.settings.permalink_title)}">{sign}</a>'
            )
        return Markup(f'<h{level} id="{anchor}">{name}{permalink}</h{level}>')


@dataclass
class HtmlBody:
    """A page body as HTML: `render(url_for, toc, markdown=False)` -> (html, toc tokens, anchor ids).

    `url_for(src_uri)` turns a docs path (`postmortems/PM-2026-004.md#r1`) into a URL
    relative to the page being built, which only the generator's layout decides (directory
    URLs or not); `markdown=True` writes the headings as Markdown (see the module's docstring)."""

    render: Callable[..., tuple[str, list[dict], set[str]]]
