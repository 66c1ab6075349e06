"""The `kb check` rules reference: one page per rule (where a finding's help URL points) and an
index, rendered to HTML by kb (rule.html.j2) as cards are, without Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.rules import all_rules
from kb.site.pages.base import Page, Site, front_matter, html_title
from kb.site.pages.indexes import listing

FENCE = re.compile(r"^```([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class Block:
    """A paragraph (spans of text and code) or a fenced example."""

    kind: str  # "p" or "code"
    spans: tuple[tuple[bool, str], ...] = ()
    language: str = ""
    text: str = ""


def _paragraphs(prose: str) -> list[Block]:
    blocks = []
    for paragraph in re.split(r"\n\s*\n", prose):
        text = " ".join(paragraph.split())
        if not text:
            continue
        spans: list[tuple[bool, str]] = []
        position = 0
        for match in CODE_SPAN.finditer(text):
            if match.start() > position:
                spans.append((False, text[position : match.start()]))
            spans.append((True, match.group(1)))
            position = match.end()
        if position < len(text):
            spans.append((False, text[position:]))
        blocks.append(Block("p", tuple(spans)))
    return blocks


def doc_blocks(doc: str) -> list[Block]:
    """A rule's docstring (Why, Bad and Good with fenced YAML examples) as blocks, in order:
    the docstrings are written in this small subset of Markdown, and kb reads it itself."""
    blocks: list[Block] = []
    position = 0
    for match in FENCE.finditer(doc):
        blocks += _paragraphs(doc[position : match.start()])
        blocks.append(Block("code", language=match.group(1) or "text", text=match.group(2).rstrip("\n")))
        position = match.end()
    return blocks + _paragraphs(doc[position:])


def pages(site: Site) -> list[Page]:
    result, rows = [], []
    for code, rule in all_rules().items():
        options = ", ".join(f"{k} = {v!r}" for k, v in rule.option_defaults().items())
        body = site.html_body("rule.html.j2", rule=rule, options=options, blocks=doc_blocks(rule.doc()))
        meta = front_matter(title=html_title(f"{code} {rule.name}"))
        result.append(Page(f"rules/{code}.md", meta, html=body))
        rows.append([(code, f"rules/{code}.md"), (rule.name, None), (rule.level.value, None), (rule.summary(), None)])
    index = listing(
        site,
        "rules/index",
        "kb check rules",
        "Every rule kb check runs, with why it exists and a bad and a good example. "
        "Levels and options are set in mkdocs.yml.",
        ["Code", "Name", "Level", "What"],
        rows,
    )
    return [*index, *result]
