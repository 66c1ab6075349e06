"""Markdown built from YAML values: every value is escaped so it cannot add links, HTML,
scripts or page structure. Templates render with `finalize=escape`, so escaping is the
default and only pre-built snippets (marked Markup) pass through as they are."""

from __future__ import annotations

import html
import re

from markupsafe import Markup

# the characters Python-Markdown unescapes after a backslash; others get HTML entities
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!])")


def escape(value) -> str:
    """A YAML value as inline Markdown text: HTML-escaped, Markdown-escaped, one line."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    text = " ".join(str(value).split())  # no newline can start a heading, list or code block
    text = _SPECIAL.sub(r"\\\1", text)
    text = html.escape(text, quote=True)  # after the backslashes, so entities stay whole
    return text.replace("|", "&#124;").replace("~", "&#126;")


def code_block(command: str, language: str = "sh") -> Markup:
    """A fenced block whose fence is longer than any backtick run in the command."""
    longest = max((len(run) for run in re.findall(r"`+", command)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}{language}\n{command}\n{fence}")


def inline_code(value: str) -> Markup:
    """`value` as inline HTML code: escaped, so backticks or HTML in it stay text."""
    return Markup(f"<code>{html.escape(str(value), quote=True)}</code>")


def link(text, url: str) -> Markup:
    return Markup(f"[{escape(text)}]({url})")


def raw(value) -> Markup:
    """Trusted Markdown kb wrote itself (rule docs, generated SVG)."""
    return Markup(value)


def page_title(title: str | None) -> str | None:
    """A page title as MkDocs themes print it (raw, into <title>, the nav and the search
    index): escaped once. Idempotent: a title kb already escaped comes out the same, and a
    title MkDocs took from a heading (its entities decoded) is escaped again."""
    if title is None:
        return None
    return html.escape(html.unescape(str(title)), quote=True)


_ATTRIBUTES = {"id", "class", "title", "lang", "dir", "align", "colspan", "rowspan", "scope", "open"}


def sanitize_html(fragment: str) -> str:
    """HTML rendered from Markdown a person wrote (router pages, references/): scripts,
    event handlers, styles, frames, forms and every URL that is not http, https, mailto or
    relative removed by nh3 (the maintained Rust `ammonia` sanitizer), so raw HTML in a
    page can format text but never run code or become a `javascript:` link."""
    import nh3

    attributes = {tag: set(allowed) | _ATTRIBUTES for tag, allowed in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = set(_ATTRIBUTES)
    return nh3.clean(
        fragment,
        tags=set(nh3.ALLOWED_TAGS),
        attributes=attributes,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
