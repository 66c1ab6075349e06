"""Listing pages: cards by service, owner and priority, and the postmortems, newest first,
rendered to HTML (listing.html.j2): real tables that reflow into rows on a phone.

A large listing is split into pages of PAGE_SIZE rows, and the nav lists only the index
pages, so every page stays small at 10,000 cards."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from kb.model.common import as_day
from kb.site.pages.base import Page, Site, front_matter, html_title

PAGE_SIZE = 200
Cell = tuple[object, str | None]  # (text, docs path it links to, or None)


def listing(
    site: Site, base: str, title: str, intro: str, columns: list[str], rows: Sequence[Sequence[Cell]], **meta
) -> list[Page]:
    """A table split into pages of PAGE_SIZE rows: base.md, base-2.md, ..."""
    chunks = [rows[i : i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
    result = []
    for number, chunk in enumerate(chunks, start=1):
        name = f"{base}.md" if number == 1 else f"{base}-{number}.md"
        pager = []
        if len(chunks) > 1:
            pager = [
                (n, None if n == number else (f"{base}.md" if n == 1 else f"{base}-{n}.md"))
                for n in range(1, len(chunks) + 1)
            ]
        heading = title if number == 1 else f"{title} ({number})"
        body = site.html_body(
            "listing.html.j2", title=heading, intro=intro, sections=[], columns=columns, rows=chunk, pager=pager
        )
        result.append(Page(name, front_matter(title=html_title(heading), **meta), html=body))
    return result


def card_indexes(site: Site) -> list[Page]:
    groups: dict[str, dict[str, list]] = {
        "service": defaultdict(list),
        "owner": defaultdict(list),
        "priority": defaultdict(list),
    }
    for doc in site.cards:
        card = doc.model
        for service in card.services or ["(none)"]:
            groups["service"][service].append(card)
        groups["owner"][card.owner].append(card)
        groups["priority"][card.priority].append(card)
    result, sections = [], []
    for kind, buckets in groups.items():
        entries = []
        for key in sorted(buckets):
            slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "none"
            base = f"cards/{kind}/{slug}"
            rows = [
                [(c.id, f"cards/{c.id}.md"), (c.title, None), (c.priority, None), (c.rotation, None)]
                for c in buckets[key]
            ]
            columns = ["Card", "Title", "Priority", "Rotation"]
            result += listing(site, base, f"Cards: {kind} {key}", f"{len(rows)} cards.", columns, rows)
            entries.append((f"{key} ({len(buckets[key])})", f"{base}.md"))
        sections.append((f"By {kind}", entries))
    index = site.html_body(
        "listing.html.j2",
        title="Cards",
        intro=f"{len(site.cards)} cards. Start at the router; these indexes are for browsing.",
        sections=sections,
        columns=[],
        rows=[],
        pager=[],
    )
    return [Page("cards/index.md", front_matter(title="Cards"), html=index), *result]


def postmortem_index(site: Site) -> list[Page]:
    rows = [
        [
            (d.model.id, f"postmortems/{d.model.id}.md"),
            (as_day(d.model.started_at).isoformat(), None),
            (d.model.title, None),
            (d.model.priority, None),
            (d.model.status, None),
            ("yes" if d.model.model_inference and d.model.model_inference.involved else "no", None),
        ]
        for d in site.postmortems
    ]
    return listing(
        site,
        "postmortems/index",
        "Postmortems",
        f"{len(rows)} postmortems, newest first.",
        ["Id", "Started", "Title", "Priority", "Status", "Model inference"],
        rows,
    )
