"""Class 1 with the theme and the generators users run: markup payloads in every YAML value a
page shows (card title, summary, owner, services, alert names, symptoms, step text;
postmortem title, summary, services, timeline, decisions, root causes, the five questions,
model fields; router text) go through a real build, and no payload may survive as markup
anywhere a browser reads it: page body, `<title>`, nav, headings, the table of contents,
the search index (MkDocs' search_index.json, Zensical's search.json, Pagefind's fragments)
and SVG. Then headless Chromium opens the pages (and types into Material's search box,
whose results render titles as HTML): no dialog opens, no payload sets `__kb_pwned`.

The default run builds the Material site with the `kb` MkDocs plugin (this repository's own
setup; tests/test_site_generators.py builds a hostile card with all three generators on
every run); KB_HOSTILE_SITE_ALL=1 adds `python -m kb.site build` with zensical + Pagefind,
mkdocs, properdocs and zensical with its own search (each build costs seconds)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, require_tool
from site_helpers import CHROMIUM_ARGS, Served, kb_site_build

SITE_KB = REPO / "tests" / "fixtures" / "site"

# each payload, if it ever runs, sets window.__kb_pwned or opens a dialog
PAYLOADS = [
    "</title><script>window.__kb_pwned=1</script>",
    '<img src=x onerror="window.__kb_pwned=1">',
    '"><svg onload="window.__kb_pwned=1">',
    "' onmouseover='window.__kb_pwned=1' x='",
    "<details open ontoggle=window.__kb_pwned=1>",
    "]]><script>window.__kb_pwned=1</script><![CDATA[",
    "--><script>window.__kb_pwned=1</script><!--",
    "`</code><script>window.__kb_pwned=1</script>`",
    "&lt;img src=x onerror=window.__kb_pwned=1&gt;",
    "[click](javascript:window.__kb_pwned=1)",
    "<a href=javascript:window.__kb_pwned=1>link</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__kb_pwned=1>",
    "{{ 7*7 }}{% raw %}<script>window.__kb_pwned=1</script>",
]
# what must never appear literally in a built file: a tag or an attribute only markup makes
# (the same characters as text, `&lt;script&gt;`, or `onmouseover=` outside a tag, are harmless)
RAW = re.compile(
    r"<script>window|<img src=x onerror|<svg onload|<details open ontoggle|<[a-z][^<>]*\son[a-z]+=\s*['\"]?window"
    r"|<a href=javascript|href=\\?\"javascript|<mglyph|<iframe",
    re.I,
)
ALL = os.environ.get("KB_HOSTILE_SITE_ALL") == "1"
BUILDS = ["plugin-material"] + (["zensical-pagefind", "mkdocs", "properdocs", "zensical"] if ALL else [])


def _card(index: int, payload: str) -> str:
    return yaml.safe_dump(
        {
            "id": f"hostile-{index}",
            "title": f"Hostile {index} {payload}",
            "summary": payload,
            "owner": f"team {payload}",
            "rotation": "sre-primary",
            "priority": "P2",
            "services": [f"svc {payload}"],
            "triggers": {"alerts": [f"HostileAlert{index}"], "symptoms": [payload]},  # a name has a pattern
            "steps": [{"id": "one", "do": payload, "run": f"echo {payload}", "done_when": payload}],
            "last_verified": "2026-11-01",
        },
        allow_unicode=True,
        sort_keys=False,
    )


def _postmortem(text: str, payload: str) -> str:
    import io

    from ruamel.yaml import YAML  # round-trip: the timestamps stay written as they were

    rt = YAML(typ="rt")
    rt.width = 4096
    pm = rt.load(text)
    pm["title"] = f"Hostile postmortem {payload}"
    pm["summary"] = payload
    pm["services"] = [f"svc {payload}"]
    for row in pm["timeline"]:
        row["event"] = f"{row['event']} {payload}"
    for point in pm["decision_points"]:
        point["decision"] = payload
    for cause in pm["root_causes"]:
        cause["description"] = payload
    pm["five_questions"] = {key: payload for key in pm["five_questions"]}
    pm["model_inference"]["inferred"] = payload
    pm["model_inference"]["agent"]["name"] = f"agent {payload}"
    pm["trigger"] = payload
    out = io.StringIO()
    rt.dump(pm, out)
    return out.getvalue()


def _hostile_kb(folder: Path, raw_router: bool) -> Path:
    """The site fixture with a card per payload and a hostile postmortem; `raw_router` puts
    the payloads in router.md's text too (the plugin sanitizes raw HTML there; `kb.site
    build` refuses a router with raw HTML, which its own tests cover)."""
    root = folder / "kb"
    shutil.copytree(SITE_KB, root)
    router = (root / "router.md").read_text()
    for index, payload in enumerate(PAYLOADS):
        (root / f"cards/hostile-{index}.yaml").write_text(_card(index, payload))
        text = payload if raw_router else f"hostile {index}"
        router += f"- `HostileAlert{index}`: {text} → [hostile-{index}](cards/hostile-{index}.yaml)\n"
    (root / "router.md").write_text(router)
    pm = root / "postmortems/PM-2026-004-wrong-recovery-script.yaml"
    pm.write_text(_postmortem(pm.read_text(), PAYLOADS[0] + " " + PAYLOADS[1]))
    return root


def _build(kind: str, folder: Path) -> Path:
    root = _hostile_kb(folder, raw_router=kind == "plugin-material")
    site = folder / "site"
    if kind == "plugin-material":
        (root / "docs").mkdir()
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
    elif kind == "zensical-pagefind":
        result = kb_site_build(root, "zensical", site, "--search", "pagefind")
    else:
        result = kb_site_build(root, kind, site)
    assert result.returncode == 0, f"{kind}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return site


def _texts(site: Path) -> dict[str, str]:
    found = {}
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".svg", ".xml", ".json", ".js") and "assets" not in path.parts:
            found[path.relative_to(site).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _search_titles(site: Path) -> list[str]:
    titles = []
    for name in ("search/search_index.json", "search.json"):
        if (site / name).is_file():
            data = json.loads((site / name).read_text(encoding="utf-8"))
            items = data["docs"] if isinstance(data, dict) and "docs" in data else data.get("items", data)
            titles += [str(item.get("title", "")) for item in items if isinstance(item, dict)]
    for fragment in (site / "pagefind").rglob("*.pf_fragment") if (site / "pagefind").is_dir() else []:
        raw = gzip.decompress(fragment.read_bytes())
        data = json.loads(raw[raw.index(b"{") :])
        # Pagefind keeps the page's text (its title and content, `<` and all) and its UI
        # escapes both when it shows a result: the Chromium run below checks that by searching
        titles.append("")  # counted: the index exists
    return titles


def _check_files(site: Path) -> None:
    texts = _texts(site)
    assert any("hostile-3" in name for name in texts), sorted(texts)[:20]
    for name, text in texts.items():
        match = RAW.search(text)
        assert match is None, (name, text[max(match.start() - 200, 0) : match.end() + 100])
        for title in re.findall(r"<title>(.*?)</title>", text, re.S):  # the head's, and SVG titles
            assert "<" not in title, (name, title)
        for heading in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", text, re.S):
            assert not re.search(r"<(script|img|svg|iframe|details|math|a href=j)", heading, re.I), (name, heading)
        for nav in re.findall(r"<nav\b.*?</nav>", text, re.S):
            assert not RAW.search(nav), (name, nav[:500])
    titles = _search_titles(site)
    assert titles, "no search index"
    for title in titles:
        assert not re.search(r"<\s*(script|img|svg|iframe|details|math|a\b)", title, re.I), title
    page = texts.get("cards/hostile-0/index.html", "")
    assert "&lt;/title&gt;&lt;script&gt;window.__kb_pwned=1&lt;/script&gt;" in page, "the payload must show as text"
    assert "{{ 7*7 }}" in texts.get("cards/hostile-12/index.html", "") or "{{ 7*7 }}" in json.dumps(texts)


def _chromium(site: Path, search: bool) -> None:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    fired: list[str] = []
    served = Served(site)
    # by default the router, two cards and the search box (every built file is checked
    # statically above); KB_HOSTILE_SITE_ALL=1 opens every hostile page and listing
    addresses = ["", "cards/hostile-0/", "cards/hostile-1/"]
    if ALL:
        addresses += ["postmortems/PM-2026-004/", "postmortems/", "dashboard/"]
        addresses += [f"cards/hostile-{i}/" for i in range(2, len(PAYLOADS))]
    addresses += sorted(
        p.parent.relative_to(site).as_posix() + "/"
        for p in site.glob("cards/*/*/index.html")
        if p.parent.parent.name in ("owner", "service", "services", "owners")
    )[: 6 if ALL else 0]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
            for address in addresses:
                if not (site / address / "index.html").is_file():
                    continue
                page.goto(served.url + address)
                page.mouse.move(5, 5)
                page.mouse.move(300, 300)
                assert not page.evaluate("() => window.__kb_pwned || 0"), address
            if search and page.locator("input.md-search__input").count():
                page.goto(served.url)
                page.locator("input.md-search__input").first.focus()
                page.keyboard.type("Hostile", delay=20)
                page.wait_for_selector(".md-search-result__item", timeout=10_000)
                page.mouse.move(400, 200)
                assert not page.evaluate("() => window.__kb_pwned || 0"), "search results"
            if search and (site / "search" / "index.html").is_file() and (site / "pagefind").is_dir():
                page.goto(served.url + "search/")
                page.fill(".pagefind-ui__search-input", "Hostile postmortem")
                page.wait_for_selector(".pagefind-ui__result", timeout=10_000)
                page.wait_for_timeout(500)
                page.mouse.move(400, 300)
                shown = page.inner_text(".pagefind-ui__results")
                assert "Hostile" in shown, shown
                assert not page.evaluate("() => window.__kb_pwned || 0"), "pagefind results"
            browser.close()
    finally:
        served.close()
    assert not fired, fired


@pytest.mark.parametrize("kind", BUILDS)
def test_no_payload_survives_as_markup(tmp_path: Path, kind: str):
    site = _build(kind, tmp_path)
    _check_files(site)
    _chromium(site, search=kind in ("plugin-material", "zensical-pagefind"))
