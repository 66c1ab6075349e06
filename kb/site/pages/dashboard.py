"""The dashboard: root causes by month, open follow-ups by owner, stale cards, whether each
rotation can execute its cards, the next 14 days' shifts that cannot execute a card, drill
history and the cards whose rollback was never drilled."""

from __future__ import annotations

from collections import Counter, defaultdict

from markupsafe import Markup

from kb.analysis.followups import open_followups
from kb.analysis.paging import dashboard_shifts
from kb.analysis.runs import drill_history, rollback_never_drilled
from kb.model.common import as_day
from kb.site import svg
from kb.site.pages.base import Page, Site, front_matter

LIST_LIMIT = 200  # the longest list a dashboard section prints


def pages(site: Site) -> list[Page]:
    months: dict[str, Counter] = defaultdict(Counter)
    involved = 0
    for pm_doc in site.postmortems:
        pm = pm_doc.model
        month = as_day(pm.started_at).strftime("%Y-%m")
        for cause in {c.category for c in pm.root_causes} or {"unknown"}:
            months[month][cause] += 1
        if pm.model_inference and pm.model_inference.involved:
            involved += 1
    columns = sorted(months)[-12:]
    categories = sorted({c for m in months.values() for c in m})
    series = {c: [months[m][c] for m in columns] for c in categories}
    chart = (
        svg.stacked_bars(columns, series, "Root-cause categories by month", highlight="model_inference")
        if columns
        else ""
    )
    share = f"{involved} of {len(site.postmortems)} postmortems involved the model's inference."
    per_owner: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in open_followups(site.kb, site.today):
        per_owner[item.owner][0] += 1
        per_owner[item.owner][1] += 1 if item.days_overdue else 0
    followups = [[(owner, None), (n[0], None), (n[1], None)] for owner, n in sorted(per_owner.items())]
    stale = sorted(
        ((doc.model, site.card_age(doc.model)) for doc in site.cards if site.is_stale(doc.model)),
        key=lambda pair: -(pair[1] if pair[1] is not None else 10**6),
    )
    stale_rows = [
        [(card.id, f"cards/{card.id}.md"), (card.last_verified or "never", None), ("" if age is None else age, None)]
        for card, age in stale[:100]
    ]
    access_rows, not_executable = [], []
    if site.access:
        counts: dict[str, Counter] = defaultdict(Counter)
        for doc in site.cards:
            verdict = site.access.evaluate(doc.model).verdict
            counts[doc.model.rotation][verdict] += 1
            if verdict != "executable":
                not_executable.append((doc.model.id, f"cards/{doc.model.id}.md", verdict))
        access_rows = [
            [(v, None) for v in (r, sum(c.values()), c["executable"], c["blocked at night"], c["blocked"])]
            for r, c in sorted(counts.items())
        ]
    blocked_shifts, scheduled = dashboard_shifts(site.kb, paging=site.paging)  # the per-shift view (#18)
    drills = [(card_id, f"cards/{card_id}.md", runs) for card_id, runs in drill_history(site.kb).items()]
    never_drilled = [(card_id, f"cards/{card_id}.md") for card_id in rollback_never_drilled(site.kb)]
    body = site.html_body(
        "dashboard.html.j2",
        blocked_shifts=blocked_shifts[:200],
        scheduled=scheduled,
        drills=drills,
        never_drilled=never_drilled[:LIST_LIMIT],  # every card of a large KB: 550 KB of page at 10,000
        never_drilled_total=len(never_drilled),
        causes_svg=Markup(chart),  # kb's own SVG, every label escaped in svg.py
        inference_share=share,
        followups=followups,
        stale=stale_rows,
        max_age=site.stale_after,
        access_rows=access_rows,
        not_executable=not_executable[:200],
    )
    return [Page("dashboard.md", front_matter(title="Dashboard"), html=body)]
