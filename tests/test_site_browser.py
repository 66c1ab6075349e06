"""Every page kind in real Chromium at 360, 390 and 1366 px (issue #16): real tables, nothing
clipped, legible charts, no request to another host, no console error; the card for an
alert is the first search hit. One site (the frozen tests/fixtures/site KB, built with
`mkdocs build` and the kb plugin) and one browser for the module."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, require_tool
from site_helpers import (
    CHART_LABEL_SIZES,
    CHROMIUM_ARGS,
    CLIPPED,
    LISTINGS,
    PAGES,
    Served,
    Watched,
    mkdocs_build,
)

SITE_KB = REPO / "tests" / "fixtures" / "site"


@pytest.fixture(scope="module")
def browser():
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site-kb") / "kb"
    shutil.copytree(SITE_KB, root)
    (root / "docs").mkdir()  # MkDocs itself refuses a missing docs_dir before any plugin runs
    result = mkdocs_build(root, root.parent / "site")
    assert result.returncode == 0, result.stderr
    served = Served(root.parent / "site")
    yield served
    served.close()


def test_listing_pages_are_real_tables(browser, site) -> None:
    watched = Watched(browser, 1366)
    page = watched.page
    for kind in LISTINGS:
        page.goto(site.url + PAGES[kind])
        table = page.locator("article table")
        assert table.count() == 1, f"{kind}: no table"
        assert table.locator("tbody tr").count() >= 1 and table.locator("thead th").count() >= 4, kind
        text = page.locator("article").inner_text()
        assert "| ---" not in text and " | " not in text and "&#124;" not in page.content(), kind
        target = table.locator("tbody tr a").first.evaluate("a => a.href")
        assert page.request.get(target).ok, f"{kind}: {target}"
    watched.close()


def test_wont_do_reason_is_on_the_postmortem_page(browser, site) -> None:
    watched = Watched(browser, 1366)
    watched.page.goto(site.url + PAGES["postmortem"])
    row = watched.page.locator("article table tr", has_text="R4")
    assert "wont_do: PublishConsumersPaused already pages for this; a second alert would double the noise" in (
        row.inner_text().replace("\t", " ").replace("\n", " ")
    )
    watched.close()


@pytest.mark.parametrize("width", [360, 390, 1366])
def test_every_page_kind_fits_loads_locally_and_logs_no_error(browser, site, width: int) -> None:
    watched = Watched(browser, width)
    page = watched.page
    for kind, path in PAGES.items():
        page.goto(site.url + path)  # waits for the load event: fonts, scripts and styles included
        assert page.locator("article h1").count() == 1, kind
        assert page.evaluate(CLIPPED) == [], f"{kind} at {width}px"
        for table in page.locator("article table").all():
            assert table.evaluate("t => t.tagName") == "TABLE"
        small = [size for size in page.evaluate(CHART_LABEL_SIZES) if size < 11]
        assert small == [], f"{kind} at {width}px: chart labels of {small} px"
    assert watched.hosts == {site.host}, f"requests left the site's host: {watched.hosts}"
    assert watched.errors == [], watched.errors
    watched.close()


def test_emitted_column_is_visible_at_1366(browser, site) -> None:
    watched = Watched(browser, 1366)
    page = watched.page
    page.goto(site.url + PAGES["postmortem"])
    table = page.locator("article table", has_text="Emitted")
    header = table.locator("th", has_text="Emitted")
    box, article = header.bounding_box(), page.locator("article").bounding_box()
    assert box is not None and article is not None
    assert box["x"] + box["width"] <= article["x"] + article["width"] + 1
    assert table.locator("a", has_text="kb/alerts/").first.is_visible()
    watched.close()


def test_tables_reflow_into_rows_and_commands_wrap_on_a_phone(browser, site) -> None:
    watched = Watched(browser, 360)
    page = watched.page
    page.goto(site.url + PAGES["postmortem"])
    cell = page.locator("article table.kb-table:not(.kb-facts) td").first
    assert cell.evaluate("td => getComputedStyle(td).display") != "table-cell"
    assert page.locator("article table.kb-table:not(.kb-facts) thead").first.is_hidden()
    page.goto(site.url + PAGES["card"])
    for code in page.locator("article pre > code").all():
        assert code.evaluate("c => getComputedStyle(c).whiteSpace") == "pre-wrap"
        assert code.evaluate("c => c.scrollWidth <= c.clientWidth + 1")
    watched.close()


def test_search_puts_the_card_for_an_alert_first(browser, site) -> None:
    watched = Watched(browser, 1366)
    page = watched.page
    page.goto(site.url)
    for alert, card in [("PublishConsumersPaused", "queue-stuck"), ("AgentSpendRateHigh", "token-spend-runaway")]:
        page.locator("input.md-search__input").click()
        page.locator("input.md-search__input").fill("")
        page.keyboard.type(alert, delay=5)  # as a person types: Material listens to keys
        first = page.locator(".md-search-result__item a").first
        first.wait_for(timeout=15_000)
        assert f"cards/{card}/" in (first.get_attribute("href") or ""), alert
    assert watched.hosts == {site.host}
    watched.close()
