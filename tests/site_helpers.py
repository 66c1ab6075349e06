"""Shared by the site's browser tests: serve a built site on loopback, drive Debian's Chromium."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Served:
    def __init__(self, folder: Path):
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.host = "127.0.0.1"
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kb_site_build(root: Path, generator: str, site: Path, *extra: str) -> subprocess.CompletedProcess:
    """`kb site build` (as `python -m kb`), as a user runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kb",
            "site",
            "build",
            "--generator",
            generator,
            "--root",
            str(root),
            "--out",
            str(site),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def mkdocs_build(root: Path, site: Path, generator: str = "mkdocs") -> subprocess.CompletedProcess:
    """`mkdocs build --strict` (or `properdocs build --strict`) with the kb plugin."""
    return subprocess.run(
        [sys.executable, "-m", generator, "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Watched:
    """A page whose requests (hosts) and console errors are recorded."""

    def __init__(self, browser, width: int, height: int = 900):
        mobile = width < 600
        self.page = browser.new_page(
            viewport={"width": width, "height": height}, is_mobile=mobile, device_scale_factor=2 if mobile else 1
        )
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.hosts.add(urlparse(request.url).hostname or ""))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def close(self) -> None:
        self.page.close()


# Elements whose content is wider than their box, and that neither wrap nor are meant to
# scroll (Material's own hidden drawers and the search overlay are off-screen by design).
CLIPPED = """() => {
  const clipped = [];
  for (const el of document.querySelectorAll('article *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
        && (style.overflowX === 'auto' || style.overflowX === 'scroll' || style.overflowX === 'hidden')) {
      clipped.push(el.tagName.toLowerCase() + '.' + el.className + ': ' + el.scrollWidth + ' > ' + el.clientWidth);
    }
  }
  const article = document.querySelector('article');
  if (article) {
    const right = article.getBoundingClientRect().right;
    for (const el of article.querySelectorAll('p, li, td, th, pre, code, table, svg, h1, h2, h3, a')) {
      if (getComputedStyle(el).display === 'none') continue;
      const box = el.getBoundingClientRect();
      // Material lets code blocks bleed to the screen's edge on a phone, by design
      const bound = el.closest('pre') ? Math.max(right, window.innerWidth) : right;
      if (box.width > 0 && box.right > bound + 2) {  // inline code padding may round a pixel over
        clipped.push(el.tagName.toLowerCase() + ' ends at ' + Math.round(box.right) + ' past the article at ' + Math.round(right));
      }
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) clipped.push('page: ' + doc.scrollWidth + ' > ' + doc.clientWidth);
  return clipped;
}"""

# Every <text> of kb's charts as rendered on screen: its font size in CSS pixels.
CHART_LABEL_SIZES = """() => [...document.querySelectorAll('svg.kb-chart')]
  .filter(svg => getComputedStyle(svg).display !== 'none')
  .flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale);
  })"""


# One page of every kind: router (home), card, postmortem, reference, card indexes,
# listings by service/owner/priority, postmortem index, dashboard, rules index, rule page
# (of the frozen tests/fixtures/site KB).
PAGES = {
    "router": "",
    "card": "cards/queue-stuck/",
    "postmortem": "postmortems/PM-2026-004/",
    "reference": "references/dispatch-queue/",
    "cards index": "cards/",
    "cards by service": "cards/service/dispatcher/",
    "cards by owner": "cards/owner/team-dispatch/",
    "cards by priority": "cards/priority/p2/",
    "postmortems": "postmortems/",
    "dashboard": "dashboard/",
    "rules index": "rules/",
    "rule": "rules/KB204/",
}
LISTINGS = ["cards by service", "cards by owner", "cards by priority", "postmortems", "rules index"]


def header_search_first_hit(browser, url: str, query: str, width: int = 390) -> tuple[str, Watched]:
    """Type `query` into the visible search box in the page header (Pagefind's, kb-search.js):
    the first result's address. The caller checks and closes the Watched page."""
    watched = Watched(browser, width)
    page = watched.page
    page.goto(url)
    box = page.locator("#kb-search input")
    box.wait_for(timeout=15_000)
    assert box.is_visible(), "the search box is not visible in the header"
    box.fill(query)
    first = page.locator("#kb-search .pagefind-ui__result-link").first
    first.wait_for(timeout=15_000)
    return first.get_attribute("href") or "", watched
