"""The `kb check` rules reference: one page per rule (where a finding's help URL points) and an index."""

from __future__ import annotations

from kb.rules import all_rules
from kb.site.escape import raw
from kb.site.pages.base import Page, Site
from kb.site.pages.indexes import listing


def pages(site: Site) -> list[Page]:
    result, rows = [], []
    for code, rule in all_rules().items():
        options = ", ".join(f"{k} = {v!r}" for k, v in rule.option_defaults().items())
        result.append(
            Page(f"rules/{code}.md", site.render("rule.md.j2", rule=rule, doc=raw(rule.doc()), options=options))
        )
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
