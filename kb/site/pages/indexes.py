"""Listing pages: cards by service, owner and priority, and the postmortems, newest first.

A large listing is split into pages of PAGE_SIZE rows, and the nav lists only the index
pages, so every page stays small at 10,000 cards."""

from __future__ import annotations

import re
from collections import defaultdict

from markupsafe import Markup

from kb.site.escape import link
from kb.site.pages.base import Page, Site

PAGE_SIZE = 200


def listing(site: Site, base: str, title: str, intro: str, columns: list[str], rows: list[list]) -> list[Page]:
    """A table split into pages of PAGE_SIZE rows: base.md, base-2.md, ..."""
    chunks = [rows[i : i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
    result = []
    for number, chunk in enumerate(chunks, start=1):
        name = f"{base}.md" if number == 1 else f"{base}-{number}.md"
        pager = ""
        if len(chunks) > 1:
            stem = base.rsplit("/", 1)[-1]
            links = [
                str(link(str(n), f"{stem}.md" if n == 1 else f"{stem}-{n}.md")) if n != number else f"**{n}**"
                for n in range(1, len(chunks) + 1)
            ]
            pager = Markup("Pages: " + " · ".join(links))
        body = site.render(
            "listing.md.j2",
            title=title if number == 1 else f"{title} ({number})",
            intro=intro,
            sections=[],
            columns=columns,
            rows=chunk,
            pager=pager,
        )
        result.append(Page(name, body))
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
            rows = [[link(c.id, f"../{c.id}.md"), c.title, c.priority, c.rotation] for c in buckets[key]]
            result += listing(
                site,
                base,
                f"Cards: {kind} {key}",
                f"{len(rows)} cards.",
                ["Card", "Title", "Priority", "Rotation"],
                rows,
            )
            entries.append((f"{key} ({len(buckets[key])})", f"{kind}/{slug}.md"))
        sections.append((f"By {kind}", entries))
    index = site.render(
        "listing.md.j2",
        title="Cards",
        intro=f"{len(site.cards)} cards. Start at the router; these indexes are for browsing.",
        sections=sections,
        columns=[],
        rows=[],
        pager="",
    )
    return [Page("cards/index.md", index), *result]


def postmortem_index(site: Site) -> list[Page]:
    rows = [
        [
            link(d.model.id, f"{d.model.id}.md"),
            d.model.started_at.date().isoformat(),
            d.model.title,
            d.model.priority,
            d.model.status,
            "yes" if d.model.model_inference and d.model.model_inference.involved else "no",
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
