"""Postmortem pages of format v2 in the split site package (kb/site/pages/): the public
examples (examples/, real incidents) have date-only times, impact shares, several models and
failure modes, and `task` reinforcements. Pages rendered in process, as the plugin renders them."""

from __future__ import annotations

import re
from pathlib import Path

from kb.load.loader import load_kb
from kb.site.html import TocSettings
from kb.site.pages import Site, indexes, postmortems

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def body(page) -> str:
    html, _, _ = page.html.render(lambda target: target, TocSettings())
    return re.sub(r' data-label="[^"]*"', "", html)


def test_v2_postmortems_render_with_shares_models_and_tasks() -> None:
    site = Site(load_kb(EXAMPLES))
    starts = [d.model.started_at for d in site.postmortems]
    assert len(starts) >= 3 and starts == sorted(starts, reverse=True)  # date-only times sort too
    pages = {p.src_uri: body(p) for p in postmortems.pages(site)}
    page = pages["postmortems/PM-2025-001.md"]
    shares = [s for d in site.postmortems if d.model.id == "PM-2025-001" for s in d.model.impact.shares]
    assert shares and all(postmortems.share_text(s) in page for s in shares)
    assert "shares:" not in page and "[{" not in page  # no Python reprs of the share list or the models
    assert "Claude Sonnet 4" in page and "Claude Opus 4.1" in page  # several models, written out
    tasks = re.findall(r"<tr><td>(R\d+)</td><td>task</td>(.*?)</tr>", page)
    assert tasks and all("emitted-" not in row for _, row in tasks)  # a task is never linked as emitted
    assert "Faster debugging tooling" in page
    assert page.count("<svg") >= 1  # the timeline is drawn from date-only times
    listing = "".join(body(p) for p in indexes.postmortem_index(site))
    assert "2025-08-05" in listing


def test_share_text() -> None:
    from types import SimpleNamespace as S

    share = S(of="requests to Sonnet 4", value_percent=0.8, peak_percent=16.0, peak_at=None, approximate=True)
    assert postmortems.share_text(share) == "about 0.8% of requests to Sonnet 4 (peak 16%)"
