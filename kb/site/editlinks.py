"""Edit links of kb's pages without the plugin: "edit this page" opens the card's YAML (or the
postmortem's, or the router's Markdown) in the repository, as the plugin's File.edit_uri does.

A generator that builds kb's staged pages links each to a Markdown file that exists only in
the staging folder (`docs/cards/x.md`), and puts an edit link on pages no person wrote
(indexes, dashboard, rules). kb computes each page's edit URL as MkDocs does for the plugin
(repo_url, edit_uri or edit_uri_template, MkDocs' per-host default), then rewrites the built
page: the edit link (and the theme's "view source" link) point at the source, and a page with
no source has neither.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

# The theme's edit button (Material for MkDocs and Zensical: partials/actions.html).
EDIT_ANCHOR = re.compile(r'<a\b[^>]*\brel="edit"[^>]*>')
HREF = re.compile(r'\bhref="([^"]*)"')


def edit_url(config: dict[str, Any], source: str) -> str | None:
    """The edit URL MkDocs gives a page whose `File.edit_uri` is `source` (mkdocs.structure.pages)."""
    repo_url, edit_uri, template = config.get("repo_url"), config.get("edit_uri"), config.get("edit_uri_template")
    if edit_uri is None and isinstance(repo_url, str):
        host = urlsplit(repo_url).netloc.lower()
        edit_uri = {"github.com": "edit/master/docs/", "gitlab.com": "edit/master/docs/"}.get(host)
        edit_uri = "src/default/docs/" if host == "bitbucket.org" else edit_uri
    if isinstance(edit_uri, str) and edit_uri and not edit_uri.endswith("/"):
        edit_uri += "/"
    if isinstance(template, str) and template:
        target = template.format(path=source, path_noext=posixpath.splitext(source)[0])
    elif isinstance(edit_uri, str) and edit_uri:
        target = edit_uri + source
    else:
        return None
    base = repo_url if isinstance(repo_url, str) else ""
    if base and not target.startswith(("?", "#")) and not base.endswith("/"):
        base += "/"
    return urljoin(base, target)


def _view(url: str) -> str:
    """The theme's "view source" link is its edit link with /raw/ for /edit/ (or /blob/)."""
    return url.replace("/blob/" if "/blob/" in url else "/edit/", "/raw/")


def rewrite(text: str, url: str | None) -> str:
    """`text` (a built page) with its edit and view links pointing at `url`, or without them."""
    anchor = EDIT_ANCHOR.search(text)
    if anchor is None:
        return text
    href = HREF.search(anchor.group(0))
    if href is None:
        return text
    old = href.group(1)
    old_urls = [old, html.escape(_view(html.unescape(old)), quote=True)]
    if url is None:
        for old_url in old_urls:
            text = re.sub(rf'<a\b[^>]*\bhref="{re.escape(old_url)}"[^>]*>.*?</a>\s*', "", text, flags=re.S)
        return text
    new_urls = [html.escape(url, quote=True), html.escape(_view(url), quote=True)]
    for old_url, new_url in zip(old_urls, new_urls, strict=True):
        text = text.replace(f'href="{old_url}"', f'href="{new_url}"')
    return text


def has_edit_links(config: dict[str, Any]) -> bool:
    return bool(config.get("repo_url") or config.get("edit_uri") or config.get("edit_uri_template"))


def fix_site(site: Path, config: dict[str, Any], pages: Iterable[tuple[str, str | None]]) -> None:
    """Rewrite each built page (its file in `site`, its source relative to the KB root or None)."""
    for built, source in pages:
        path = site / built
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        fixed = rewrite(text, edit_url(config, source) if source else None)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
