"""Every page of the site, built from the loaded knowledge base, one module per page kind.

Pages come from Jinja2 templates (kb/defaults/site/, overridable in the KB's
templates/site/), in the one sandboxed environment kb.core.templating makes (see base.py).
"""

from __future__ import annotations

from kb.load.knowledge_base import KnowledgeBase
from kb.site.pages import cards, dashboard, indexes, postmortems, references, router, rules
from kb.site.pages.base import DEFAULTS, Page, Site

__all__ = ["DEFAULTS", "Page", "Site", "build_pages"]


def build_pages(kb: KnowledgeBase) -> list[Page]:
    """Every generated page, in nav order: router (home), cards, postmortems, references,
    indexes, dashboard, rules."""
    site = Site(kb)
    return [
        *router.pages(site),
        *cards.pages(site),
        *postmortems.pages(site),
        *references.pages(site),
        *indexes.card_indexes(site),
        *indexes.postmortem_index(site),
        *dashboard.pages(site),
        *rules.pages(site),
    ]
