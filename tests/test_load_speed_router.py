"""The router is rendered once per page and configuration, with one Markdown kept per
configuration of Python-Markdown's own extensions: the links it finds must be those a fresh
Markdown per page finds (as MkDocs renders), on every page in the fixtures and on pages
written to trip a reused renderer (footnotes, abbreviations, code, comments)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.core import markdown_render
from kb.load import router

FIXTURES = Path(__file__).parent / "fixtures"

TRICKY = [
    "- [a](cards/a.yaml) [^1]\n\n[^1]: a note with [b](cards/b.yaml)\n",
    "*[HTML]: Hyper Text\n\n- [c](cards/c.yaml) HTML\n",
    "```\n- [d](cards/d.yaml)\n```\n\n- [e](cards/e.yaml)\n",
    "<!-- - [f](cards/f.yaml) -->\n- [g](cards/g.yaml)\n\n    - [h](cards/h.yaml)\n",
    "Text.\n\n    - [q](cards/q.yaml)\n",
    "- `[i](cards/i.yaml)` and [j](cards/j.yaml)\n- \\[k](cards/k.yaml)\n- ![l](cards/l.yaml)\n",
    "# Same heading\n\n- [m](cards/m.yaml)\n\n# Same heading\n\n- [n](cards/n.yaml)\n",
    '<div markdown="1">\n- [o](cards/o.yaml)\n</div>\n\n- [p](cards/p.yaml)\n',
]

CONFIGS: list[list] = [
    [],
    [{"toc": {"permalink": True}}],
    ["footnotes", "abbr", "attr_list", "md_in_html", "def_list", "admonition"],
    ["pymdownx.superfences", "footnotes"],  # third-party: a fresh Markdown per page
]


def _pages() -> list[str]:
    pages = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.rglob("*.md"))]
    return pages + TRICKY


def _candidates(text: str) -> list[tuple[int, re.Match[str]]]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() and "](" in raw and router.LIST_ITEM.match(raw):
            found += [(number, match) for match in router.LINK.finditer(raw)]
    return found


def _fresh(text: str, candidates: list, extensions: list) -> set[int]:
    """The reference: a new Markdown for the page, as before the renderer was kept."""
    lines = text.splitlines(keepends=True)
    for index, (number, match) in reversed(list(enumerate(candidates))):
        line = lines[number - 1]
        lines[number - 1] = line[: match.start(2)] + f"kbroutelink{index}x" + line[match.end(2) :]
    html = markdown_render.build(extensions).convert("".join(lines))
    return {int(found) for found in re.findall(r'href="kbroutelink([0-9]+)x"', html)}


@pytest.mark.parametrize("extensions", CONFIGS, ids=["builtins", "toc", "own", "thirdparty"])
def test_kept_renderer_finds_the_links_a_fresh_one_finds(extensions: list) -> None:
    pytest.importorskip("pymdownx") if any("pymdownx" in str(e) for e in extensions) else None
    router._RENDERED.clear()
    pages = _pages() if "pymdownx" not in str(extensions) else TRICKY  # a fresh Markdown per page: slower
    assert len(pages) >= len(TRICKY)
    expected = [_fresh(text, _candidates(text), extensions) for text in pages]
    # twice over every page in turn: a renderer that kept state from one page shows on the next
    for _ in range(2):
        got = [router._rendered(text, _candidates(text), extensions) for text in pages]
        assert got == expected
    router._RENDERED.clear()
    assert [router._rendered(text, _candidates(text), extensions) for text in pages] == expected
    assert any(expected) and not all(expected)  # the pages do have links, and pages without any


def test_tricky_pages_keep_their_meaning() -> None:
    """What the site renders as a link, and only that: a fixed expectation, so a change to the
    reference itself cannot hide."""
    router._RENDERED.clear()
    extensions = ["footnotes", "abbr", "md_in_html"]
    got = [sorted(router._rendered(t, _candidates(t), extensions)) for t in TRICKY]
    texts = [[m.group(1) for _, m in _candidates(t)] for t in TRICKY]
    linked = [[texts[i][j] for j in found] for i, found in enumerate(got)]
    assert linked == [["a"], ["c"], ["e"], ["g", "h"], [], ["j"], ["m", "n"], ["o", "p"]]


def test_router_read_twice_is_the_same_router(tmp_path: Path) -> None:
    (tmp_path / "cards").mkdir()
    (tmp_path / "routes").mkdir()
    (tmp_path / "cards" / "a.yaml").write_text("id: a\n")
    (tmp_path / "router.md").write_text("# R\n\n- x → [a](cards/a.yaml)\n- more → [sub](routes/s.md)\n")
    (tmp_path / "routes" / "s.md").write_text("- y → [b](../cards/b.yaml)\n```\n- [z](../cards/z.yaml)\n```\n")
    router._RENDERED.clear()
    first = router.load_router(tmp_path, "router.md", "cards", "references", [])
    second = router.load_router(tmp_path, "router.md", "cards", "references", [])
    assert first == second
    assert [link.target for line in second.routing_lines() for link in line.links] == [
        "cards/a.yaml",
        "routes/s.md",
        "../cards/b.yaml",
    ]


def test_threads_share_the_kept_renderer_safely() -> None:
    from concurrent.futures import ThreadPoolExecutor

    extensions = ["footnotes", "abbr"]
    pages = _pages()
    expected = [_fresh(text, _candidates(text), extensions) for text in pages]

    def render_all(_: int) -> list[set[int]]:
        return [router._rendered(text, _candidates(text), extensions) for text in pages]

    for _ in range(2):
        router._RENDERED.clear()
        with ThreadPoolExecutor(4) as pool:
            assert all(result == expected for result in pool.map(render_all, range(4)))
