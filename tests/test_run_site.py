"""What the site shows of runs (#19): a card page lists its last runs and drills, the
dashboard shows drill history per card and the cards whose rollback was never drilled. The
pages are rendered in process from the same templates MkDocs uses (test_site builds them
with the real MkDocs)."""

from __future__ import annotations

import io
import re
import shutil
from contextlib import redirect_stdout
from pathlib import Path

from conftest import REPO

from kb.analysis.runs import card_runs, drill_history, rollback_never_drilled
from kb.commands import run as run_verb
from kb.load.loader import load_kb
from kb.site.html import TocSettings
from kb.site.pages import Site, cards, dashboard

FIXTURE = REPO / "tests" / "fixtures" / "runs_kb"
CARD = "prompt-regression"


def act(root: Path, who: str, drill: bool = False, **action) -> None:
    with redirect_stdout(io.StringIO()):
        run_verb.run(CARD, who, drill, False, None, run_verb.Action(**action), root)


def test_card_page_and_dashboard_show_runs_and_drills(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    kb = load_kb(root)
    assert rollback_never_drilled(kb) == ["prompt-regression", "queue-stuck"]  # both switch something
    act(root, "alice", start=True)  # an incident, abandoned
    act(root, "alice", end="abandoned", why="false alarm")
    act(root, "bob", drill=True, start=True)  # a drill that walks the switch step and the rollback
    act(root, "bob", step="confirm-deploy", done=True, evidence="deploy 41")
    act(root, "bob", step="rollback", done=True, evidence="v40 <b>100%</b>")
    act(root, "bob", note="posted on the status page", update=True)
    act(root, "bob", step="purge-cache", approve=True, approver="carol")
    act(root, "bob", step="purge-cache", item="tenant-a", verdict="ok")
    act(root, "bob", step="purge-cache", done=True, evidence="gen +1")
    act(root, "bob", step="restore", done=True, evidence="v41")
    act(root, "bob", end="mitigated")
    kb = load_kb(root)
    runs = card_runs(kb, CARD)
    assert [(r.kind, r.runner, r.outcome) for r in runs] == [
        ("drill", "bob", "mitigated"),
        ("run", "alice", "abandoned"),
    ]
    assert runs[0].result == "mitigated, beat the targets" and "switchback" in runs[0].times
    assert list(drill_history(kb)) == [CARD]
    assert rollback_never_drilled(kb) == ["queue-stuck"]

    site = Site(kb)
    (page,) = [p for p in cards.pages(site) if p.src_uri == f"cards/{CARD}.md"]
    body, _, _ = page.html.render(lambda target: target, TocSettings())
    body = re.sub(r' data-label="[^"]*"', "", body)  # the column name a phone shows
    section = body[body.index("Last runs and drills") :]
    assert "drill</td><td>bob</td><td>mitigated, beat the targets" in section
    assert "run</td><td>alice</td><td>abandoned" in section
    (board,) = dashboard.pages(site)
    html, _, _ = board.html.render(lambda target: target, TocSettings())
    drills = html[html.index(">Drills</h2>") :]
    assert "bob" in drills and "beat the targets" in drills and "alice" not in drills  # incidents are not drills
    assert "queue-stuck" in drills.split("never drilled", 1)[1] and CARD not in drills.split("never drilled", 1)[1]
