"""`<<` merge keys in rule files are read as Prometheus's Go YAML reads them (outside review, finding 12)."""

from __future__ import annotations

import pytest

from kb.core import yamlio

TEXT = b"""a: &a {x: 1, y: 1}
b: &b {y: 2, z: 2}
one: {<<: *a}
own_wins: {<<: *a, x: 9}
first_wins: {<<: [*a, *b]}
"""


def test_merge_keys_apply_in_rule_files_only() -> None:
    merged = yamlio.load_mapping(TEXT, merge_keys=True)
    assert merged["one"] == {"x": 1, "y": 1}
    assert merged["own_wins"] == {"x": 9, "y": 1}
    assert merged["first_wins"] == {"x": 1, "y": 1, "z": 2}
    assert yamlio.load_mapping(TEXT)["one"] == {"<<": {"x": 1, "y": 1}}  # kb's own files: YAML 1.2, a plain key
    assert yamlio.load_mapping(b'q: {"<<": {x: 1}}', merge_keys=True)["q"] == {"<<": {"x": 1}}  # quoted: a key


@pytest.mark.parametrize("value", ["7", "[1, 2]", "[{x: 1}, 2]"])
def test_a_merge_of_a_non_mapping_is_a_problem_at_its_node(value: str) -> None:
    with pytest.raises(yamlio.YamlProblem) as problem:
        yamlio.load_mapping(f"a:\n  <<: {value}\n".encode(), merge_keys=True)
    assert problem.value.span.line == 2 and "merge key" in problem.value.message
