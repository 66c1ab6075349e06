"""A plain router page is read without rendering it (kb.load.router._plainly_linked): on pages
generated from plain pieces and from the pieces that make Markdown hide a link (code, HTML,
comments, escapes, images, indentation, tables, references, emphasis), the links read off a
plain page are exactly the links Python-Markdown renders, with and without toc's permalinks."""

from __future__ import annotations

import random

import pytest
from test_load_speed_router import _candidates, _fresh

from kb.core import markdown_render
from kb.load import router

PLAIN = [
    "run",
    "the",
    "Deploy",
    "svc-000",
    "p95",
    "2.0",
    "→",
    "é",
    "ünï",
    ":",
    ",",
    ";",
    "(x)",
    "'",
    "?",
    "50%",
    "a+b=c",
    "#7",
    "/x/y",
]
PLAIN_LINKS = ["[card-1](../cards/card-1.yaml)", "[a b](cards/a.yaml)", "[sub](routes/s.md#part)", "[→ é](x.md)"]
RISKY = ["*", "_", "<b>", "&amp;", "!", "\\", "|", "``", "~~~", ">", "[", "]", "<!--", "-->", "\t", "\u2028", "  "]
RISKY_LINKS = ["![img](cards/i.yaml)", "[a](<cards/a.yaml>)", '[t](cards/t.yaml "title")', "[a]( cards/a.yaml )"]
RISKY_LINKS += ["[](cards/e.yaml)", "[ x](cards/x.yaml)", "[x][ref]", "[^1]", "[x](cards/(p).yaml)"]
STARTS = [
    "- ",
    "- ",
    "- ",
    "",
    "# ",
    "## ",
    "* ",
    "1. ",
    "    ",
    "  - ",
    "> ",
    "```",
    "[ref]: cards/r.yaml",
    "---",
    "===",
]


def _line(rnd: random.Random, risky: bool) -> str:
    if rnd.random() < 0.15:
        return ""
    start = rnd.choice(STARTS if risky else ["- ", "- ", "# ", ""])
    parts = []
    for _ in range(rnd.randint(1, 6)):
        roll = rnd.random()
        if roll < 0.3:
            parts.append(rnd.choice(PLAIN_LINKS))
        elif roll < 0.45:
            code = " ".join(rnd.choice(PLAIN + (["[a](b.yaml)", "<i>"] if risky else [])) for _ in range(2))
            parts.append(f"`{code}`")
        elif risky and roll < 0.55:
            parts.append(rnd.choice(RISKY + RISKY_LINKS))
        else:
            parts.append(rnd.choice(PLAIN))
    text = " ".join(parts)
    if start == "" and not text[:1].isalpha():
        text = "Then " + text
    return start + text


def _page(rnd: random.Random) -> str:
    risky = rnd.random() < 0.5
    lines = [_line(rnd, risky and rnd.random() < 0.3) for _ in range(rnd.randint(1, 8))]
    return "\n".join(lines) + rnd.choice(["\n", ""])


# the reference reading (the page rendered by Python-Markdown, each candidate's target marked)
# is the one the renderer-reuse tests use
_markdown_links = _fresh


@pytest.mark.parametrize("extensions", [[], [{"toc": {"permalink": True}}]], ids=["builtins", "toc"])
def test_links_read_off_plain_pages_are_the_rendered_links(extensions: list) -> None:
    rnd = random.Random(len(extensions))
    md = markdown_render.build(extensions)
    plain_with_links = 0
    for _ in range(400):
        text = _page(rnd)
        candidates = _candidates(text)
        if not candidates or not router._plainly_linked(text, candidates, extensions):
            continue
        plain_with_links += 1
        md.reset()
        assert _markdown_links(text, candidates, extensions) == set(range(len(candidates))), text
    assert plain_with_links > 40  # the generator does reach the fast path


def test_pages_that_could_hide_a_link_are_rendered() -> None:
    rnd = random.Random(7)
    extensions: list = []
    for _ in range(150):
        text = _page(rnd)
        candidates = _candidates(text)
        if candidates:
            router._RENDERED.clear()
            assert router._rendered(text, candidates, extensions) == _markdown_links(text, candidates, extensions), text


def test_only_the_builtin_extensions_read_plain_pages() -> None:
    text = "# Routes\n\n- `A`: x → [a](cards/a.yaml)\n"
    candidates = _candidates(text)
    assert router._plainly_linked(text, candidates, [])
    assert router._plainly_linked(text, candidates, ["toc", "markdown.extensions.tables"])
    assert not router._plainly_linked(text, candidates, ["footnotes"])
    assert not router._plainly_linked(text, candidates, [{"toc": {"marker": "- `A`: x → [a](cards/a.yaml)"}}])
    assert not router._plainly_linked(text, candidates, ["pymdownx.superfences"])
