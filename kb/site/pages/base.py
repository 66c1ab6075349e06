"""What every page kind shares: the Page, the site's two template environments and the
knowledge base as the pages see it (sorted, with the derived views they all use).

Templates are sandboxed and escape every value: Markdown templates (`*.md.j2`) through
`finalize`, which escapes for Markdown and HTML; HTML templates (`*.html.j2`, card pages,
the bulk of a large site) with Jinja's autoescaping, rendered without Markdown
(kb/site/html.py). A title of `<script>` renders as text.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from jinja2 import Environment, TemplateError
from markupsafe import Markup

from kb.analysis.access import AccessModel
from kb.analysis.paging import PagingModel
from kb.check.engine import rule_options
from kb.core.templating import (
    BoundedEnvironment,
    TemplateProblem,
    bounded_render,
    describe_template_error,
    sandboxed_environment,
    trusted_environment,
)
from kb.load.knowledge_base import KnowledgeBase
from kb.model import Card, Postmortem
from kb.model.common import sort_key
from kb.rules.cards.card_stale_verification import StaleVerification
from kb.site.escape import code_block, escape, inline_code, link, raw
from kb.site.html import Headings, HtmlBody, TocSettings

DEFAULTS = Path(__file__).resolve().parent.parent.parent / "defaults" / "site"


@dataclass
class Page:
    src_uri: str
    markdown: str
    edit_uri: str | None = None  # the YAML or Markdown source, relative to the KB root
    html: HtmlBody | None = None  # the body as HTML (the Markdown is then front matter only)


def badges(permissions: list[str]) -> Markup:
    return Markup(" ".join(f'<span class="kb-badge">{html.escape(p, quote=True)}</span>' for p in permissions))


def url(path: str) -> str:
    return quote(path, safe="/#.-_~")


def html_title(text: str) -> str:
    """Page titles are HTML in MkDocs themes (printed unescaped into <title> and the nav, and
    `striptags` would decode entities an H1-derived title carries): kb escapes them itself."""
    return html.escape(" ".join(text.split()), quote=True)


# What a YAML double-quoted scalar may not hold as it is (outside YAML 1.1's printable set, as
# PyYAML reads it, or a line break YAML would fold): written as an escape instead. JSON
# already escapes the C0 controls, " and \.
_NOT_YAML_PRINTABLE = re.compile("[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _yaml_scalar(value: Any) -> str:
    """A value as YAML flow (JSON is YAML): 4x faster than yaml.safe_dump, which took 18% of
    staging a 10,000-card site (one front matter a page)."""
    text = json.dumps(value, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def front_matter(**fields: Any) -> str:
    """Front matter of scalars, lists and mappings of them, as every generator reads it."""
    return "---\n" + "".join(f"{key}: {_yaml_scalar(value)}\n" for key, value in fields.items()) + "---\n\n"


def _template_files(root: Path, folder: Path) -> bool:
    """Whether the KB's override folder holds any file (then every page renders sandboxed)."""
    try:
        return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))
    except OSError:
        return True  # unreadable: the sandboxed environment's loader will say so


M = TypeVar("M")


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """A document that parsed: its path (relative to the KB root) and its model, never None."""

    path: str
    model: M


@dataclass
class Site:
    """The knowledge base as every page kind reads it."""

    kb: KnowledgeBase
    markdown_env: BoundedEnvironment = field(init=False, repr=False)
    html_env: Environment = field(init=False, repr=False)  # sandboxed (BoundedEnvironment) when the KB has templates
    cards: list[Parsed[Card]] = field(init=False, repr=False)
    postmortems: list[Parsed[Postmortem]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kb = self.kb
        # bounded, and a template linked out of the KB is never used (kb.core.templating)
        overrides = [kb.root / kb.settings.templates_dir / "site"]
        self.markdown_env = sandboxed_environment(
            kb.root,
            overrides,
            DEFAULTS,
            finalize=escape,
            trim=True,
            globals={"code_block": code_block, "inline_code": inline_code, "link": link, "raw": raw, "badges": badges},
        )
        if any(_template_files(kb.root, folder) for folder in overrides):
            self.html_env = sandboxed_environment(kb.root, overrides, DEFAULTS, autoescape=True, trim=True)
        else:  # kb's own templates only: trusted code, rendered without the sandbox's per-attribute checks
            self.html_env = trusted_environment(DEFAULTS, autoescape=True, trim=True)
        self.cards = sorted((Parsed(d.path, d.model) for d in kb.cards if d.model), key=lambda d: d.model.id)
        self.postmortems = sorted(
            (Parsed(d.path, d.model) for d in kb.postmortems if d.model),
            key=lambda d: sort_key(d.model.started_at),
            reverse=True,
        )
        self.card_ids = {d.model.id for d in self.cards}
        self.pm_titles = {d.model.id: d.model.title for d in self.postmortems}
        # memberships from their sources (members_from wins over people.groups), as kb check and
        # kb access read them: the site never shows a verdict the check would not give
        self.paging = (
            PagingModel(
                kb.root,
                kb.oncall.model,
                [d.model for d in kb.cards if d.model is not None],
                kb.settings.business_hours,
                kb.config.today(),
            )
            if kb.oncall is not None and kb.oncall.model is not None
            else None
        )
        self.access: AccessModel | None = self.paging.access if self.paging is not None else None
        self.stale_after: int = rule_options(kb.config, StaleVerification).max_age_days  # type: ignore[attr-defined]
        self.today = kb.config.today()

    def card_age(self, card: Any) -> int | None:
        """Days since the card was last verified; None when it never was."""
        return (self.today - card.last_verified).days if card.last_verified else None

    def is_stale(self, card: Any) -> bool:
        age = self.card_age(card)
        return age is None or age > self.stale_after

    def render(self, template: str, **context: Any) -> str:
        return bounded_render(lambda: self.markdown_env.get_template(template), template, context)

    def html_body(self, template: str, **context: Any) -> HtmlBody:
        """The page rendered when the generator builds it, with its links and heading settings."""
        try:
            compiled = self.html_env.get_template(template)  # a syntax error stops the build before any page
        except TemplateError as exc:  # (a template linked out of the KB is already a TemplateProblem)
            raise TemplateProblem(describe_template_error(exc, template)) from None

        def render(url_for, toc: TocSettings, markdown: bool = False) -> tuple[str, list[dict], set[str]]:
            headings = Headings(toc, markdown)
            # a fresh budget per page: kb's limits hold, and any failure is a TemplateProblem
            body = bounded_render(lambda: compiled, template, {**context, "heading": headings, "url": url_for})
            return body, headings.tokens, headings.ids

        return HtmlBody(render)
