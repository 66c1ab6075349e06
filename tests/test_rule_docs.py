"""Every rule is a documented unit: code, slash name, level, why, a bad and a good example."""

from __future__ import annotations

import re

import pytest

from kb.core import yamlio
from kb.rules import all_rules
from kb.rules.base import CODE_PATTERN, NAME_PATTERN

RULES = list(all_rules().values())


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_is_documented(rule) -> None:
    assert CODE_PATTERN.match(rule.code)
    assert NAME_PATTERN.match(rule.name), rule.name
    doc = rule.doc()
    assert rule.summary().endswith("."), "the first line is a one-sentence summary"
    assert "Why:" in doc, "the docstring explains why the rule exists"
    for label in ("Bad:", "Good:"):
        match = re.search(label + r"\s*```yaml\n(.*?)```", doc, flags=re.S)
        assert match, f"{rule.code} needs a {label} example in a ```yaml block"
        yamlio.load(match.group(1).encode(), lenient_tags=False)  # the examples are valid YAML


def test_codes_and_names_are_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


def test_options_have_defaults() -> None:
    for rule in RULES:
        rule.Options()  # every option has a default, so a rule runs unconfigured
