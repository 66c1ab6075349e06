"""The same site with MkDocs + Material, ProperDocs + Material and Zensical (issue #16),
each installed for real from the package index, built by `kb site build` (which needs no
plugin API: Zensical runs no third-party MkDocs plugin). The frozen snapshot of this
repository's KB (tests/fixtures/repo-snapshot; the themes' own search) and the frozen site fixture (no docs/ folder; Pagefind, kb's default; edit
links) are built once per generator, and the fixture once more by `mkdocs build` with the
kb plugin's `search: pagefind`; the tests compare what a reader sees at the contracted
addresses, and drive the Zensical and ProperDocs sites in Chromium at 360, 390 and 1366 px."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from conftest import REPO, SNAPSHOT_KB, copy_kb, require_tool
from site_helpers import (
    CHROMIUM_ARGS,
    CLIPPED,
    LISTINGS,
    PAGES,
    Served,
    Watched,
    header_search_first_hit,
    kb_site_build,
    mkdocs_build,
)

GENERATORS = ["mkdocs", "properdocs", "zensical"]
SITE_KB = REPO / "tests" / "fixtures" / "site"
# edit links on a host Material fetches no repository facts from (github.com would be a request off the site)
REPO_URL = "https://git.example.org/acme/kb"
EDIT = REPO_URL + "/edit/main/"
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


def fixture_with_edit_links(target: Path) -> Path:
    shutil.copytree(SITE_KB, target)
    config = target / "mkdocs.yml"
    text = config.read_text().replace(
        "site_url: https://kb.test/\n", f"site_url: https://kb.test/\nrepo_url: {REPO_URL}\nedit_uri: edit/main/\n"
    )
    text = text.replace(
        "    - content.code.copy\n", "    - content.code.copy\n    - content.action.edit\n    - content.action.view\n"
    )
    assert "content.action.edit" in text and "edit_uri" in text
    config.write_text(text)
    return target


def build_all(folder: Path) -> dict[tuple[str, str], Path]:
    """{(kb name, generator): site folder}, each KB built once with each generator; and
    ("fixture", "plugin"): `mkdocs build` with the kb plugin and `search: pagefind`."""
    repo = copy_kb(SNAPSHOT_KB, folder / "repo")  # frozen: the root's living KB is edited by people
    card = repo / "cards" / "queue-stuck.yaml"
    planted = card.read_text().replace("queuectl consumers dispatch", f"queuectl consumers dispatch --token {TOKEN}")
    planted = planted.replace("title: ", f"title: Replay with {TOKEN} ", 1)  # a heading: Markdown unescapes it
    assert TOKEN in planted, "the token was not planted: the secret test would prove nothing"
    card.write_text(planted)
    fixture = fixture_with_edit_links(folder / "fixture")
    (fixture / "cards" / "hostile.yaml").write_text(HOSTILE_CARD)
    assert not (fixture / "docs").exists()
    sites = {}
    for name, root, search in (("repo", repo, ["--search", "builtin"]), ("fixture", fixture, [])):
        for generator in GENERATORS:
            site = folder / f"{name}-{generator}"
            result = kb_site_build(root, generator, site, *search)
            assert result.returncode == 0, f"{name} with {generator}: {result.stdout}{result.stderr}"
            assert f"built with {generator}" in result.stdout
            sites[(name, generator)] = site
    plugin = fixture_with_edit_links(folder / "plugin")
    (plugin / "docs").mkdir()  # MkDocs checks docs_dir before any plugin runs (KB104)
    config = plugin / "mkdocs.yml"
    text = (
        config.read_text()
        .replace("  - search\n", "")
        .replace("today: 2026-11-22", "today: 2026-11-22\n      search: pagefind")
    )
    assert "search: pagefind" in text and "- search" not in text
    config.write_text(text)
    result = mkdocs_build(plugin, folder / "fixture-plugin")
    assert result.returncode == 0, result.stdout + result.stderr
    sites[("fixture", "plugin")] = folder / "fixture-plugin"
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


def check_edit_links(built, generator: str) -> None:
    """Edit links as the plugin makes them: a card's and a postmortem's open their YAML, the
    home page the router; a page no person wrote (dashboard, indexes, rules) has none."""
    site = built[("fixture", generator)]
    expected = {
        "cards/queue-stuck/": EDIT + "cards/queue-stuck.yaml",
        "postmortems/PM-2026-004/": EDIT + "postmortems/PM-2026-004-wrong-recovery-script.yaml",
        "": EDIT + "router.md",
    }
    for address, url in expected.items():
        text = (site / address / "index.html").read_text(encoding="utf-8")
        edits = re.findall(r'<a\b[^>]*\brel="edit"[^>]*>', text)
        assert len(edits) == 1 and f'href="{url}"' in edits[0], f"{generator} {address or 'home'}: {edits}"
        assert f'href="{url.replace("/edit/", "/raw/")}"' in text, f"{generator} {address or 'home'}: view link"
    for address in ("dashboard/", "postmortems/", "rules/", "rules/KB204/", "cards/priority/p2/"):
        text = (site / address / "index.html").read_text(encoding="utf-8")
        assert 'rel="edit"' not in text and REPO_URL + "/raw/" not in text, f"{generator} {address}: an edit link"


def check_rule_page_is_html_with_its_examples(built, generator: str) -> None:
    """Rule pages skip Markdown: the docstring's Why, Bad and Good read as prose and code blocks,
    a `<card>` in prose stays text (KB120), no fence is left over."""
    page = read(built[("fixture", generator)], "rules/KB505/")
    text = "".join(page.text)
    assert "```" not in text and "Why: the engineer paged by AgentSpendRateHigh" in " ".join(text.split())
    raw = (built[("fixture", generator)] / "rules" / "KB505" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<pre><code[^>]*>.*triggers:\n  alerts: \[AgentSpendRateHigh", raw, re.S), generator
    assert "cards/&lt;id&gt;.yaml" in (built[("fixture", generator)] / "rules" / "KB120" / "index.html").read_text()


def check_pages_in_chromium(browser, built, generator: str) -> None:
    """Every page kind at 360, 390 and 1366 px: real tables, nothing clipped, every request to
    the site's own host, no console error (the header's search box included)."""
    served = Served(built[("fixture", generator)])
    try:
        for width in (360, 390, 1366):
            watched = Watched(browser, width)
            page = watched.page
            for kind, address in PAGES.items():
                page.goto(served.url + address)
                assert page.locator("article h1").count() == 1, f"{generator} {kind}"
                assert page.evaluate(CLIPPED) == [], f"{generator} {kind} at {width}px"
                tables = page.locator("article table")
                assert all(t.evaluate("t => t.tagName") == "TABLE" for t in tables.all())
                if kind in LISTINGS:
                    assert tables.count() == 1 and tables.locator("tbody tr").count() >= 1, f"{generator} {kind}"
                    assert tables.locator("thead th").count() >= 4, f"{generator} {kind}"
                    assert " | " not in page.locator("article").inner_text(), f"{generator} {kind}: raw pipes"
            assert watched.hosts == {served.host}, f"{generator} at {width}px: {watched.hosts}"
            assert watched.errors == [], f"{generator} at {width}px: {watched.errors}"
            watched.close()
    finally:
        served.close()


def check_header_search_puts_the_card_first(browser, built, generator: str) -> None:
    """The visible search box in every page's header (Pagefind): the card whose triggers name
    an alert is the first hit, ahead of the rule page that quotes the name as an example
    (KB505's) and the router that lists every alert."""
    served = Served(built[("fixture", generator)])
    try:
        for alert, card, address, width in [
            ("AgentSpendRateHigh", "token-spend-runaway", "postmortems/PM-2026-004/", 390),
            ("PublishConsumersPaused", "queue-stuck", "rules/", 1366),
        ]:
            first, watched = header_search_first_hit(browser, served.url + address, alert, width)
            assert f"cards/{card}/" in first, f"{generator}: {alert} -> {first}"
            assert watched.hosts == {served.host}, watched.hosts
            assert watched.errors == [], watched.errors
            watched.close()
    finally:
        served.close()


def test_three_generators_build_the_same_site(tmp_path: Path) -> None:
    """One test, so that one worker builds the seven sites (pytest-xdist would build a module
    fixture once per worker that runs one of its tests)."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    built = build_all(tmp_path)
    for kb_name, kb in (("repo", SNAPSHOT_KB), ("fixture", SITE_KB)):
        check_contracted_addresses_alike(built, kb_name, kb)
    for generator in GENERATORS:
        check_links_resolve_and_no_secret_is_published(built, generator)
        check_yaml_values_stay_text(built, generator)
        check_rule_page_is_html_with_its_examples(built, generator)
    for generator in [*GENERATORS, "plugin"]:
        check_edit_links(built, generator)
    assert not (built[("fixture", "zensical")] / "search.json").stat().st_size > 1000, "Zensical's index is not off"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for generator in ("zensical", "properdocs"):
            check_pages_in_chromium(browser, built, generator)
        for generator in [*GENERATORS, "plugin"]:
            check_header_search_puts_the_card_first(browser, built, generator)
        browser.close()


def test_build_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = kb_site_build(root, "zensical", precious)
    assert result.returncode == 2 and "is not a site kb built" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    result = kb_site_build(root, "hugo", tmp_path / "site")
    assert result.returncode == 2 and "'hugo' is not one of" in result.stderr
