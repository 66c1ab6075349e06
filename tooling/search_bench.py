"""Search on a built site, as a phone-class browser sees it: bytes a first query downloads and
the time to its first result, in Debian's Chromium with CPU throttling.

    python tooling/search_bench.py SITE_DIR QUERY [--throttle 4] [--runs 3]

SITE_DIR is a built site (`kb site build`; with Pagefind, kb's default, the search box in
the page header; with `--search builtin`, Material for MkDocs' search box on the home page). Search bytes count every response of the search machinery (Pagefind's files, or
the one-file index and the search worker) from page load to the first result; the page
itself is not counted. Serves on loopback only.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import threading
import time
from pathlib import Path

SEARCH_FILES = ("/pagefind/", "search_index.json", "search.json", "/search/worker", "workers/search")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def one_run(browser, url: str, query: str, throttle: float, pagefind: bool) -> tuple[int, float, str, dict]:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    files: dict[str, int] = {}

    def finished(request) -> None:
        if any(part in request.url for part in SEARCH_FILES):
            sizes = request.sizes()
            files[request.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.context.on("requestfinished", finished)
    if pagefind:
        page.goto(url)
        box, hit = page.locator("#kb-search input"), page.locator("#kb-search .pagefind-ui__result-link").first
        box.wait_for(timeout=600_000)
    else:
        page.goto(url)
        page.locator("label[for='__search']").first.click()  # the phone header's search button
        box, hit = page.locator("input.md-search__input"), page.locator(".md-search-result__item a").first
    started = time.perf_counter()
    if pagefind:
        box.fill(query)
    else:
        page.keyboard.type(query)  # Material listens to keys
    hit.wait_for(timeout=600_000)
    elapsed = time.perf_counter() - started
    first = hit.get_attribute("href") or ""
    page.wait_for_timeout(200)  # the last requestfinished events
    page.close()
    return sum(files.values()), elapsed, first, files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("query")
    parser.add_argument("--throttle", type=float, default=4.0, help="Chromium CPU slowdown (4: a mid-range phone)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    pagefind = (args.site / "pagefind" / "pagefind.js").is_file()
    server, url = serve(args.site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            runs = [one_run(browser, url, args.query, args.throttle, pagefind) for _ in range(args.runs)]
            browser.close()
    finally:
        server.shutdown()
    kind = "pagefind" if pagefind else "theme search"
    print(f"{kind}: query {args.query!r}, CPU throttled x{args.throttle:g}, {args.runs} runs (each a fresh page)")
    print(f"search bytes for the first query: {statistics.median(r[0] for r in runs):,.0f}")
    print(
        f"time to first result: median {statistics.median(r[1] for r in runs):.3f} s, max {max(r[1] for r in runs):.3f} s"
    )
    print(f"first result: {runs[0][2]}")
    for name, size in sorted(runs[0][3].items(), key=lambda item: -item[1]):
        print(f"  {size:>10,}  {name.split('/', 3)[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
