"""The router as the home page: its Markdown as written, links to a card's YAML turned into
links to the card's page."""

from __future__ import annotations

import re

from kb.core import safefile
from kb.core.paths import confine
from kb.load.router import router_for
from kb.site.pages.base import Page, Site

YAML_LINK = re.compile(r"(\[[^\]]*\]\(\s*<?[^)\s>]+?)\.ya?ml(#[^)\s>]*)?(>?\s*\))")


def pages(site: Site) -> list[Page]:
    kb = site.kb
    result = []
    for page in router_for(kb.root, kb.settings).pages:
        text = safefile.read_text(confine(kb.root, page.path))  # a link out of the KB is refused
        text = YAML_LINK.sub(lambda m: f"{m.group(1)}.md{m.group(2) or ''}{m.group(3)}", text)
        src = "index.md" if page.path == kb.settings.router else page.path
        result.append(Page(src, text, page.path))
    return result
