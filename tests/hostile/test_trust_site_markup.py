"""Class 1: no YAML value or hand-written Markdown runs script in a reader's browser.

One real `mkdocs build` of a KB whose every reachable value is a markup payload (card title,
owner, services, summary, steps, postmortem title, router.md and references/ raw HTML and
`javascript:` links), then every page is opened in headless Chromium: no payload may run
(each sets `window.__kb_pwned` or opens a dialog), no `<title>` may hold markup, no link may
have a `javascript:` URL, and the search index holds no raw tag.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb, require_tool

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# Each payload announces itself by setting window.__kb_pwned (or opening a dialog).
PAYLOADS = [
    "</title><script>window.__kb_pwned=1</script>",
    '<img src=x onerror="window.__kb_pwned=1">',
    '"><svg onload="window.__kb_pwned=1">',
    '<iframe srcdoc="<script>parent.__kb_pwned=1</script>"></iframe>',
    "</a><a href='javascript:window.__kb_pwned=1'>x</a>",
    "<style>*{}</style><script>alert(1)</script>",
    "<details open ontoggle=window.__kb_pwned=1>",
]

MARKDOWN_ATTACKS = """
<script>window.__kb_pwned=1</script>

<img src=x onerror="window.__kb_pwned=1">

<a href="javascript:window.__kb_pwned=1">raw link</a>

<a href="JaVaScRiPt&colon;window.__kb_pwned=1">entity link</a>

[markdown link](javascript:window.__kb_pwned=1)

[spaced link]( javascript:window.__kb_pwned=1 )

<svg><a xlink:href="javascript:window.__kb_pwned=1"><text>svg link</text></a></svg>

<form action="javascript:window.__kb_pwned=1"><button formaction="javascript:window.__kb_pwned=1">go</button></form>

<div onmouseover="window.__kb_pwned=1" style="position:fixed;inset:0">cover</div>
"""


def _card(index: int, payload: str) -> str:
    q = json.dumps(payload)
    return (
        f"id: hostile-{index}\n"
        f"title: {json.dumps('Hostile ' + payload)}\n"
        f"summary: {q}\n"
        f"owner: {q}\n"
        f"rotation: sre-primary\n"
        f"priority: P2\n"
        f"services: [{q}]\n"
        f"triggers:\n  alerts: [HostileAlert{index}]\n"
        f"steps:\n  - id: one\n    do: {q}\n    run: {q}\n    done_when: {q}\n"
        f"last_verified: 2026-11-01\n"
    )


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    root = copy_kb(BASE_KB, tmp_path_factory.mktemp("markup") / "kb")
    router = (root / "router.md").read_text()
    for index, payload in enumerate(PAYLOADS):
        (root / f"cards/hostile-{index}.yaml").write_text(_card(index, payload))
        router += f"- `HostileAlert{index}`: hostile → [hostile-{index}](cards/hostile-{index}.yaml)\n"
    (root / "router.md").write_text(router + MARKDOWN_ATTACKS)
    (root / "references/queues.md").write_text(
        (root / "references/queues.md").read_text().replace("# Queues", "# Queues " + PAYLOADS[1], 1)
        + MARKDOWN_ATTACKS
        + "\n## "
        + PAYLOADS[0]
        + "\n"
    )
    pm = root / "postmortems/PM-2026-001-queue.yaml"
    pm.write_text(
        pm.read_text().replace("title: Queue stalled after a config push", f"title: {json.dumps(PAYLOADS[0])}")
    )
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("plugins:\n", "plugins:\n  - search\n"))
    site = root.parent / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return site


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "assets" not in p.parts and p.name != "404.html")


def test_no_title_holds_markup(hostile_site):
    for page in _pages(hostile_site):
        text = page.read_text(encoding="utf-8")
        head = re.findall(r"<title>(.*?)</title>", text.split("</head>")[0], re.S)
        assert len(head) == 1, (page, head)
        for title in re.findall(r"<title>(.*?)</title>", text, re.S):  # the head's, and SVG titles
            assert "<" not in title, (page, title)


def test_search_index_holds_no_raw_tag(hostile_site):
    index = hostile_site / "search" / "search_index.json"
    if not index.exists():
        pytest.skip("no search plugin in this build")
    for doc in json.loads(index.read_text())["docs"]:
        assert not re.search(r"<\s*(script|img|svg|iframe|details|a\b)", doc["title"], re.I), doc["title"]


def test_no_javascript_url_in_any_page(hostile_site):
    for page in _pages(hostile_site):
        text = page.read_text(encoding="utf-8")
        assert not re.search(
            r"""<[a-zA-Z][^<>]*\s(href|src|action|formaction|xlink:href)\s*=\s*["']?\s*javascript""", text, re.I
        ), page
        assert not re.search(r"<script>window\.__kb_pwned|<script>alert", text), page


def test_no_payload_runs_in_chromium(hostile_site):
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    fired = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
        pages = _pages(hostile_site)
        pick = lambda part: [p for p in pages if part in p.relative_to(hostile_site).as_posix()]
        chosen = [hostile_site / "index.html", *pick("references/"), *pick("cards/owner/")[:4]]
        chosen += [*pick("cards/service/")[:2], *pick("cards/hostile-0/"), *pick("postmortems/PM")]
        for path in chosen:  # the router, references, listings by owner and service, a card, a postmortem
            page.goto(path.as_uri())
            page.mouse.move(10, 10)
            page.mouse.move(200, 200)
            pwned = page.evaluate("() => window.__kb_pwned || 0")
            links = page.evaluate(
                """() => [...document.querySelectorAll('[href],[src],[action],[formaction],[*|href]')]
                    .flatMap(e => ['href','src','action','formaction','xlink:href'].map(a => e.getAttribute(a)))
                    .filter(v => v && /^\\s*javascript/i.test(v.replace(/&[a-z]+;/gi, '')))"""
            )
            assert not pwned, path
            assert not links, (path, links)
        browser.close()
    assert not fired, fired
