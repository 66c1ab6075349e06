"""The split site package renders through kb.core.templating.sandboxed_environment, so a KB's
own site templates keep trust14's guarantees: a template linked out of the KB is refused, not
used, and a template that loops or writes without end is a TemplateProblem with its file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO

from kb.core.templating import TemplateProblem
from kb.load.loader import load_kb
from kb.site.html import TocSettings
from kb.site.pages import Site, cards, dashboard

FIXTURE = REPO / "tests" / "fixtures" / "site"


def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    (root / "templates" / "site").mkdir(parents=True)
    return root


def test_a_site_template_linked_out_of_the_kb_is_refused(tmp_path: Path) -> None:
    root = kb_copy(tmp_path)
    outside = tmp_path / "outside.html.j2"
    outside.write_text("SECRET FROM OUTSIDE {{ card.id }}\n", encoding="utf-8")
    (root / "templates" / "site" / "card.html.j2").symlink_to(outside)
    with pytest.raises(TemplateProblem, match="card.html.j2.*not used"):
        cards.pages(Site(load_kb(root)))


def test_a_runaway_site_template_is_stopped(tmp_path: Path) -> None:
    root = kb_copy(tmp_path)
    (root / "templates" / "site" / "dashboard.html.j2").write_text(
        "{% for i in range(10**6) %}{% for j in range(10**6) %}x{% endfor %}{% endfor %}\n", encoding="utf-8"
    )
    (page,) = dashboard.pages(Site(load_kb(root)))
    with pytest.raises(TemplateProblem, match="dashboard.html.j2"):
        page.html.render(lambda target: target, TocSettings())


def test_a_site_template_inside_the_kb_is_used(tmp_path: Path) -> None:
    root = kb_copy(tmp_path)
    (root / "templates" / "site" / "card.html.j2").write_text("<p>OWN {{ card.id }}</p>\n", encoding="utf-8")
    page = cards.pages(Site(load_kb(root)))[0]
    html, _, _ = page.html.render(lambda target: target, TocSettings())
    assert html.startswith("<p>OWN ")
