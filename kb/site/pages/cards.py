"""Card pages, rendered to HTML by kb (card.html.j2): the most numerous page of a large site."""

from __future__ import annotations

from collections import defaultdict

from kb.analysis.runs import runs_by_card
from kb.model.common import PRIORITY_ACTIONS
from kb.site.pages.base import Page, Site, front_matter, html_title
from kb.site.pages.references import reference_files

ADMONITION = {"P1": "danger", "P2": "warning", "P3": "info"}
# Searching an alert's name must find the card that handles it before a rule page that uses
# the name as an example or the router that lists every alert (Material's search reads
# `search.boost` from front matter).
SEARCH_BOOST = 10


def pages(site: Site) -> list[Page]:
    by_card: dict[str, list[tuple]] = defaultdict(list)
    for pm_doc in site.postmortems:
        for card_id in pm_doc.model.cards:
            by_card[card_id].append((pm_doc.model.id, pm_doc.model.title, f"postmortems/{pm_doc.model.id}.md"))
    published = reference_files(site)
    card_runs = runs_by_card(site.kb)  # the card's last runs and drills (runs/)
    result = []
    for doc in site.cards:
        card = doc.model
        verdict = site.access.evaluate(card).verdict if site.access else "not checked (no oncall.yaml)"
        age = site.card_age(card)
        references = []
        for ref in card.references:
            if ref.path in published:
                target = ref.path + (f"#{ref.section}" if ref.section else "")
                references.append((target, target))
        linked = {
            pm_id: (pm_id, site.pm_titles[pm_id], f"postmortems/{pm_id}.md")
            for pm_id in card.postmortems
            if pm_id in site.pm_titles
        }
        for entry in by_card.get(card.id, []):
            linked.setdefault(entry[0], entry)
        body = site.html_body(
            "card.html.j2",
            card=card,
            action=PRIORITY_ACTIONS[card.priority],
            admonition=ADMONITION[card.priority],
            verdict=verdict,
            stale=site.is_stale(card),
            verified_age="never" if age is None else f"{age} days ago",
            references=references,
            postmortems=sorted(linked.values()),
            runs=card_runs.get(card.id, [])[:10],
        )
        # tag names are printed unescaped by the themes that show them (Zensical, Material's
        # tags plugin), like titles: escaped here, once
        tags = [html_title(tag) for tag in (*card.services, card.owner, card.priority)]
        meta = front_matter(title=html_title(card.title), tags=tags, search={"boost": SEARCH_BOOST})
        result.append(Page(f"cards/{card.id}.md", meta, doc.path, body))
    return result
