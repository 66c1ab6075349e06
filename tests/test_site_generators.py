"""The same site with MkDocs + Material, ProperDocs + Material and Zensical (issue #16),
each installed for real from the package index, built by `python -m kb.site build` (which
needs no plugin API: Zensical runs no third-party MkDocs plugin). This repository's KB and
the frozen site fixture (which has no docs/ folder) are built once per generator; the tests
compare what a reader sees at the contracted addresses."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from conftest import REPO, copy_kb, require_tool
from site_helpers import CHROMIUM_ARGS, CLIPPED, Served, Watched, kb_site_build

GENERATORS = ["mkdocs", "properdocs", "zensical"]
SITE_KB = REPO / "tests" / "fixtures" / "site"
TOKEN = "ghp_" + "A1b2" * 9  # a GitHub token's shape: kb must never publish it
HOSTILE_CARD = """\
id: hostile
title: "</title><script>window.__pwned = 1</script> Hostile"
summary: "<img src=x onerror=alert(3)> [click](javascript:alert(2))"
owner: "<b>team</b>"
rotation: sre-primary
priority: P3
triggers:
  symptoms: ["</li><script>alert(4)</script>"]
steps:
  - id: one
    do: "Resume <iframe src=//evil.example></iframe>"
    run: "echo '<script>alert(5)</script>'"
    done_when: "**bold**"
last_verified: 2026-11-01
"""


class Article(HTMLParser):
    """The page's <article>: its h1, its tables, its links and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.h1: list[str] = []
        self.tables = 0
        self.links: list[str] = []
        self.text: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.depth += 1
        if not self.depth:
            return
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")
        if tag == "table":
            self.tables += 1
        if tag == "a":
            href = dict(attrs).get("href")
            classes = dict(attrs).get("class") or ""
            if href and "headerlink" not in classes and "md-content__button" not in classes:
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag == "article" and self.depth:
            self.depth -= 1
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)
            if self._in_h1:
                self.h1[-1] += data


def read(site: Path, address: str) -> Article:
    page = Article()
    page.feed((site / address / "index.html").read_text(encoding="utf-8"))
    return page


def heading(page: Article) -> str:
    return " ".join(page.h1[0].replace("¶", "").split()) if page.h1 else ""


def contracted(kb: Path) -> list[str]:
    """Every address the format promises: home, cards/<id>/, postmortems/<id>/, indexes,
    dashboard, rules and a rule page, references."""
    cards = [re.search(r"^id: (\S+)", p.read_text(), re.M).group(1) for p in sorted((kb / "cards").glob("*.yaml"))]
    pms = [re.search(r"^id: (\S+)", p.read_text(), re.M).group(1) for p in sorted((kb / "postmortems").glob("*.yaml"))]
    refs = [f"references/{p.stem}/" for p in sorted((kb / "references").glob("*.md"))]
    return [
        "",
        "cards/",
        "postmortems/",
        "dashboard/",
        "rules/",
        "rules/KB204/",
        *(f"cards/{c}/" for c in cards),
        *(f"postmortems/{p}/" for p in pms),
        *refs,
    ]


def build_all(folder: Path) -> dict[tuple[str, str], Path]:
    """{(kb name, generator): site folder}, each KB built once with each generator."""
    repo = copy_kb(REPO, folder / "repo")
    card = repo / "cards" / "queue-stuck.yaml"
    planted = card.read_text().replace("queuectl consumers dispatch", f"queuectl consumers dispatch --token {TOKEN}")
    planted = planted.replace("title: ", f"title: Replay with {TOKEN} ", 1)  # a heading: Markdown unescapes it
    assert TOKEN in planted, "the token was not planted: the secret test would prove nothing"
    card.write_text(planted)
    fixture = folder / "fixture"
    shutil.copytree(SITE_KB, fixture)
    (fixture / "cards" / "hostile.yaml").write_text(HOSTILE_CARD)
    assert not (fixture / "docs").exists()
    sites = {}
    for name, root in (("repo", repo), ("fixture", fixture)):
        for generator in GENERATORS:
            site = folder / f"{name}-{generator}"
            result = kb_site_build(root, generator, site)
            assert result.returncode == 0, f"{name} with {generator}: {result.stdout}{result.stderr}"
            assert f"built with {generator}" in result.stdout
            sites[(name, generator)] = site
    return sites


def check_contracted_addresses_alike(built, kb_name: str, kb: Path) -> None:
    addresses = contracted(kb)
    seen: dict[str, dict[str, tuple]] = {}
    for generator in GENERATORS:
        site = built[(kb_name, generator)]
        for address in addresses:
            assert (site / address / "index.html").is_file(), f"{generator}: no {address or 'home'}"
            page = read(site, address)
            seen.setdefault(address, {})[generator] = (heading(page), page.tables)
    for address, views in seen.items():
        assert len(set(views.values())) == 1, f"{address or 'home'} differs: {views}"
    assert seen[""]["mkdocs"][0] == "Router"
    assert seen["postmortems/"]["zensical"][1] == 1 and seen["rules/"]["zensical"][1] == 1


def check_links_resolve_and_no_secret_is_published(built, generator: str) -> None:
    site = built[("repo", generator)]
    for page_file in site.rglob("index.html"):
        relative = page_file.parent.relative_to(site).as_posix()
        text = page_file.read_text(encoding="utf-8")
        assert TOKEN not in text, f"{generator}: the token reached {relative}"
        article = Article()
        article.feed(text)
        base = "http://site/" + (relative + "/" if relative != "." else "")
        for href in article.links:
            url = urlparse(urljoin(base, html.unescape(href)))
            if url.scheme in ("http", "https") and url.netloc != "site":
                continue  # a link the author wrote to another site
            path = site / unquote(url.path).lstrip("/")
            target = path / "index.html" if not path.suffix else path
            assert target.is_file(), f"{generator}: {relative}/ links to {href}, which is not there"
    queue_card = (built[("repo", generator)] / "cards" / "queue-stuck" / "index.html").read_text()
    assert "queuectl consumers dispatch" in queue_card


def check_yaml_values_stay_text(built, generator: str) -> None:
    text = (built[("fixture", generator)] / "cards" / "hostile" / "index.html").read_text(encoding="utf-8")
    assert "<script>window" not in text and "<iframe" not in text and "<img src=x" not in text
    assert "<script>alert" not in text and 'href="javascript' not in text
    assert "<title>&lt;/title&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt; Hostile" in text
    assert "echo &#39;&lt;script&gt;alert(5)&lt;/script&gt;&#39;" in text  # the command, as text


def check_zensical_site_is_offline_and_fits_a_phone(built) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    served = Served(built[("fixture", "zensical")])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for width in (390, 1366):
                watched = Watched(browser, width)
                for address in ("", "cards/queue-stuck/", "postmortems/PM-2026-004/", "postmortems/", "dashboard/"):
                    watched.page.goto(served.url + address)
                    assert watched.page.evaluate(CLIPPED) == [], f"zensical {address} at {width}px"
                assert watched.hosts == {served.host}, watched.hosts
                assert watched.errors == [], watched.errors
                watched.close()
            browser.close()
    finally:
        served.close()


def test_three_generators_build_the_same_site(tmp_path: Path) -> None:
    """One test, so that one worker builds the six sites (pytest-xdist would build a module
    fixture once per worker that runs one of its tests)."""
    built = build_all(tmp_path)
    for kb_name, kb in (("repo", REPO), ("fixture", SITE_KB)):
        check_contracted_addresses_alike(built, kb_name, kb)
    for generator in GENERATORS:
        check_links_resolve_and_no_secret_is_published(built, generator)
        check_yaml_values_stay_text(built, generator)
    check_zensical_site_is_offline_and_fits_a_phone(built)


def test_build_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = kb_site_build(root, "zensical", precious)
    assert result.returncode == 2 and "not a built site" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    result = kb_site_build(root, "hugo", tmp_path / "site")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_pagefind_search_puts_the_card_for_an_alert_first(tmp_path: Path) -> None:
    """`--search pagefind`: a chunked index instead of the generator's one-file index; the
    card whose triggers name an alert is its first hit, ahead of the rule page that quotes
    the same name as an example (this KB's rules reference carries KB505's examples)."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    site = tmp_path / "site"
    result = kb_site_build(root, "zensical", site, "--search", "pagefind")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "pagefind" / "pagefind.js").is_file()
    assert "AgentSpendRateHigh" in (site / "rules" / "KB505" / "index.html").read_text()
    served = Served(site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for alert, card in [
                ("AgentSpendRateHigh", "token-spend-runaway"),
                ("PublishConsumersPaused", "queue-stuck"),
            ]:
                watched = Watched(browser, 390)  # a fresh page: Pagefind's UI shows its last results first
                page = watched.page
                page.goto(served.url + "search/")
                page.locator(".pagefind-ui__search-input").fill(alert)
                first = page.locator(".pagefind-ui__result-link").first
                first.wait_for(timeout=15_000)
                assert f"cards/{card}/" in (first.get_attribute("href") or ""), alert
                assert watched.hosts == {served.host}, watched.hosts
                assert watched.errors == [], watched.errors
                watched.close()
            browser.close()
    finally:
        served.close()
