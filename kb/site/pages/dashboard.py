"""The dashboard: root causes by month, open follow-ups by owner, stale cards, and whether
each rotation can execute its cards."""

from __future__ import annotations

from collections import Counter, defaultdict

from kb.analysis.followups import open_followups
from kb.site import svg
from kb.site.escape import raw
from kb.site.pages.base import Page, Site


def pages(site: Site) -> list[Page]:
    months: dict[str, Counter] = defaultdict(Counter)
    involved = 0
    for doc in site.postmortems:
        pm = doc.model
        month = pm.started_at.strftime("%Y-%m")
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
    followups = [(owner, counts[0], counts[1]) for owner, counts in sorted(per_owner.items())]
    stale = [
        (doc.model.id, f"cards/{doc.model.id}.md", doc.model.last_verified, site.card_age(doc.model))
        for doc in site.cards
        if site.is_stale(doc.model)
    ]
    stale.sort(key=lambda s: -(s[3] if s[3] is not None else 10**6))
    access_rows, not_executable = [], []
    if site.access:
        counts: dict[str, Counter] = defaultdict(Counter)
        for doc in site.cards:
            verdict = site.access.evaluate(doc.model).verdict
            counts[doc.model.rotation][verdict] += 1
            if verdict != "executable":
                not_executable.append((doc.model.id, f"cards/{doc.model.id}.md", verdict))
        access_rows = [
            (r, sum(c.values()), c["executable"], c["blocked at night"], c["blocked"])
            for r, c in sorted(counts.items())
        ]
    body = site.render(
        "dashboard.md.j2",
        causes_svg=raw(chart),
        inference_share=share,
        followups=followups,
        stale=stale[:100],
        max_age=site.stale_after,
        access_rows=access_rows,
        not_executable=not_executable[:200],
    )
    return [Page("dashboard.md", body)]
