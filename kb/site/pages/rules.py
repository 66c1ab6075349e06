"""The `kb check` rules reference: one page per rule (where a finding's help URL points) and an index."""

from __future__ import annotations

from kb.rules import all_rules
from kb.site.escape import link, raw
from kb.site.pages.base import Page, Site


def pages(site: Site) -> list[Page]:
    result, rows = [], []
    for code, rule in all_rules().items():
        options = ", ".join(f"{k} = {v!r}" for k, v in rule.option_defaults().items())
        result.append(
            Page(f"rules/{code}.md", site.render("rule.md.j2", rule=rule, doc=raw(rule.doc()), options=options))
        )
        rows.append([link(code, f"{code}.md"), rule.name, rule.level.value, rule.summary()])
    index = site.render(
        "listing.md.j2",
        title="kb check rules",
        intro="Every rule kb check runs, with why it exists "
        "and a bad and a good example. Levels and options are set in mkdocs.yml.",
        sections=[],
        columns=["Code", "Name", "Level", "What"],
        rows=rows,
        pager="",
    )
    return [Page("rules/index.md", index), *result]
