"""kb's own HTML templates render without the sandbox when the KB has no template of its own
(a third of rendering a 10,000-card site): the pages are the same bytes either way, and one
file in templates/site/ puts every page back in the sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO
from jinja2.sandbox import SandboxedEnvironment

from kb.core.templating import sandboxed_environment
from kb.load.loader import load_kb
from kb.site.build import Addresses, page_markdown
from kb.site.html import TocSettings
from kb.site.pages import DEFAULTS, build_pages
from kb.site.pages import base as pages_base

SITE_KB = REPO / "tests" / "fixtures" / "site"


def _rendered(kb) -> list[str]:
    return [page_markdown(page, Addresses(), TocSettings()) for page in build_pages(kb)]


def test_trusted_and_sandboxed_rendering_write_the_same_pages(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    kb = load_kb(root)
    assert not isinstance(pages_base.Site(kb).html_env, SandboxedEnvironment)
    trusted = _rendered(kb)
    monkeypatch.setattr(
        pages_base,
        "trusted_environment",
        lambda defaults, **options: sandboxed_environment(root, [], defaults, **options),
    )
    assert isinstance(pages_base.Site(kb).html_env, SandboxedEnvironment)
    assert _rendered(kb) == trusted


def test_a_template_of_the_kbs_own_puts_every_page_in_the_sandbox(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    (root / "templates" / "site").mkdir(parents=True)
    shutil.copy(DEFAULTS / "step.html.j2", root / "templates" / "site" / "step.html.j2")
    assert isinstance(pages_base.Site(load_kb(root)).html_env, SandboxedEnvironment)


def test_the_dashboard_lists_at_most_200_never_drilled_cards(tmp_path: Path) -> None:
    """At 10,000 cards the never-drilled list was 550 KB of the dashboard: the first 200 by id, and the count."""
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    source = (root / "cards" / "queue-stuck.yaml").read_text()
    for n in range(205):
        (root / "cards" / f"copy-{n:03d}.yaml").write_text(source.replace("id: queue-stuck", f"id: copy-{n:03d}", 1))
    dashboard = next(page for page in build_pages(load_kb(root)) if page.src_uri == "dashboard.md")
    text = page_markdown(dashboard, Addresses(), TocSettings())
    listed = text[text.index("Cards whose rollback was never drilled") :]
    from kb.analysis.runs import rollback_never_drilled

    total = len(rollback_never_drilled(load_kb(root)))
    assert total > 205 and f"{total}, the first 200 by id:" in listed.split("</p>")[0]
    assert listed.count("<li>") == 200 and "copy-199" in listed and "copy-200" not in listed
