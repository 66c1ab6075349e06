"""The site: a real `mkdocs build --strict`, served on localhost, driven in headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import BASE_KB, SNAPSHOT_KB, copy_kb, require_tool
from site_helpers import CHROMIUM_ARGS, Served
from site_helpers import mkdocs_build as build


@pytest.fixture(scope="module")
def browser():
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots go: KB_TEST_ARTIFACTS (for a CI job to keep them), else the run's temp folder."""
    chosen = os.environ.get("KB_TEST_ARTIFACTS")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    Path(chosen).mkdir(parents=True, exist_ok=True)
    return Path(chosen)


@pytest.fixture(scope="module")
def repo_site(tmp_path_factory):
    root = copy_kb(SNAPSHOT_KB, tmp_path_factory.mktemp("site") / "kb")
    site = root.parent / "site"
    result = build(root, site)
    assert result.returncode == 0, result.stderr
    served = Served(site)
    yield served
    served.close()


def heading(page) -> str:
    return page.locator("h1").first.inner_text().rstrip("¶").strip()


def watch_requests(page) -> list[str]:
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname or ""))
    return hosts


def test_router_to_card_to_commands(browser, repo_site, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    hosts = watch_requests(page)
    page.goto(repo_site.url)
    assert heading(page) == "Router"
    page.screenshot(path=str(artifacts / "router.png"), full_page=True)
    page.locator("article a", has_text="prompt-regression").first.click()
    page.wait_for_url("**/cards/prompt-regression/")
    assert heading(page) == "Agent answers regressed after a prompt change"
    commands = page.locator("article pre code").all_inner_texts()
    assert "deployctl rollback prompt-service --to previous" in [c.strip() for c in commands]
    assert page.locator(".admonition.danger", has_text="Irreversible: needs incident-commander").count() == 1
    assert page.locator(".kb-badge", has_text="deploy:rollback:prompt-service").count() >= 1
    page.screenshot(path=str(artifacts / "card.png"), full_page=True)
    page.goto(repo_site.url + "postmortems/PM-2026-004/")
    assert "Involved: plan_error" in page.locator("article").inner_text()
    assert page.locator("svg.kb-chart:visible").count() == 1
    page.screenshot(path=str(artifacts / "postmortem.png"), full_page=True)
    assert set(hosts) == {"127.0.0.1"}, f"the site loaded from other hosts: {set(hosts)}"


def test_search_finds_a_card_by_alert_name(browser, repo_site) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(repo_site.url)
    page.locator("input.md-search__input").click()
    page.keyboard.type("PublishConsumersPaused", delay=10)  # as a person types: Material listens to keys
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert any(
        "queue-stuck" in (href or "")
        for href in page.locator(".md-search-result__item a").evaluate_all("els => els.map(e => e.href)")
    )


def test_mobile_card_has_no_horizontal_scroll(browser, repo_site, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    for path in ("cards/token-spend-runaway/", "cards/prompt-regression/", "postmortems/PM-2026-007/", "dashboard/"):
        page.goto(repo_site.url + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone: {width}px"
    page.goto(repo_site.url + "cards/token-spend-runaway/")
    page.screenshot(path=str(artifacts / "card-mobile.png"), full_page=True)


def test_rule_pages_are_where_help_url_points(repo_site) -> None:
    import urllib.request

    with urllib.request.urlopen(repo_site.url + "rules/KB301/") as response:
        body = response.read().decode()
    assert "access/missing-permission" in body and "Bad:" in body


HOSTILE_CARD = """\
id: queue-stuck
title: "</title><script>window.__pwned = 1; alert(1)</script> Queue stuck"
summary: "[click me](javascript:alert(2)) <img src=x onerror=alert(3)> # not a heading"
owner: "<b>team</b>"
rotation: sre-primary
priority: P2
triggers:
  alerts: [QueueStalled]
  symptoms: ["</li><script>alert(4)</script>", "| a | table |"]
steps:
  - id: resume
    do: "Resume <iframe src=//evil.example></iframe> the consumers"
    run: "echo '```' && echo '<script>alert(5)</script>'"
    requires: [queue:pause:dispatch]
    done_when: "**bold** _it_ `code` ![img](http://evil.example/x.png)"
last_verified: 2026-11-01
"""


def test_yaml_values_render_as_text_not_markup(browser, tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "cards" / "queue-stuck.yaml").write_text(HOSTILE_CARD)
    (root / "mkdocs.yml").write_text(
        "site_name: Hostile\ndocs_dir: docs\ntheme: {name: material, font: false}\n"
        "plugins:\n  - search\n  - kb:\n      today: 2026-11-22\n"
    )
    result = build(root, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "cards" / "queue-stuck" / "index.html").read_text()
    assert "<script>window.__pwned" not in html and "<iframe" not in html and "<img src=x" not in html
    assert "<title>&lt;/title&gt;&lt;script&gt;window.__pwned" in html
    served = Served(tmp_path / "site")
    try:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        hosts = watch_requests(page)
        page.goto(served.url + "cards/queue-stuck/")
        assert heading(page) == "</title><script>window.__pwned = 1; alert(1)</script> Queue stuck"
        assert page.title().startswith("</title><script>window.__pwned")
        assert page.evaluate("() => window.__pwned") is None
        assert dialogs == []
        text = page.locator("article").inner_text()
        assert "[click me](javascript:alert(2))" in text and "# not a heading" in text
        assert page.locator("article a[href^='javascript']").count() == 0
        assert "echo '<script>alert(5)</script>'" in page.locator("article pre code").first.inner_text()
        assert set(hosts) == {"127.0.0.1"}
    finally:
        served.close()


def test_plugin_sets_edit_links_to_the_yaml(tmp_path: Path) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    config = root / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "site_url:", "repo_url: https://git.example.org/ops/kb\nedit_uri: edit/main/\nsite_url:"
        )
    )
    result = build(root, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "site" / "cards" / "queue-stuck" / "index.html").read_text()
    assert 'href="https://git.example.org/ops/kb/edit/main/cards/queue-stuck.yaml"' in card
    assert not (root / "docs" / "cards").exists(), "nothing is written into the docs folder"


def test_page_templates_can_be_overridden(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "templates" / "site").mkdir(parents=True)
    (root / "templates" / "site" / "card.html.j2").write_text(
        "{{ heading(1, card.title) }}\n<p>Our own layout for {{ card.id }} {{ '<b>' }}.</p>\n"
    )
    (root / "mkdocs.yml").write_text("site_name: T\ndocs_dir: docs\nplugins:\n  - kb\n")
    assert build(root, tmp_path / "site").returncode == 0
    assert (
        "Our own layout for queue-stuck &lt;b&gt;."
        in (tmp_path / "site" / "cards" / "queue-stuck" / "index.html").read_text()
    )
    shutil.rmtree(tmp_path / "site")
