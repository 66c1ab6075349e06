"""Labels an alert keeps from its expression, derived only when certain (issue #15); the
promtool cases in tests/rule_cases/KB605.yaml prove the derived tests pass with the real tool."""

from __future__ import annotations

import pytest

from kb.emit.labels import derived_labels, series_labels


@pytest.mark.parametrize(
    ("expr", "series", "labels"),
    [
        (
            "max by (agent) (agent_run_steps) > 20",
            ['agent_run_steps{agent="research", instance="a"}'],
            {"agent": "research"},
        ),
        ("sum(rate(x[5m])) by (le) > 1", ['x{le="1"}'], {"le": "1"}),
        ("queue_age_seconds > 900", ['queue_age_seconds{queue="a", job="x"}'], {"job": "x", "queue": "a"}),
        ("rate(x[5m]) > 1", ['x{a="1"}', 'x{a="2"}'], {}),  # two series: two alerts, kb does not guess
        ("max by (agent) (x) > 1", ['x{agent="a"}', 'x{agent="b"}'], {}),
        ("sum(x) == 0 and sum(y) > 0", ["x", "y"], {}),  # aggregated without grouping: no labels
        ("max without (instance) (x) > 1", ['x{a="1"}'], {}),
        ("sum by (a) (x) / sum(y) > 1", ['x{a="1"}', "y"], {}),
        ("label_replace(x, 'b', '$1', 'a', '(.*)') > 1", ['x{a="1"}'], {}),
        ("sum by (a) (x) > on (a) sum by (a) (y)", ['x{a="1"}', 'y{a="1"}'], {}),
    ],
)
def test_derived_labels(expr: str, series: list[str], labels: dict[str, str]) -> None:
    assert derived_labels(expr, series) == labels


def test_series_labels() -> None:
    assert series_labels('up{job="api", path="/a\\\\b"}') == {"job": "api", "path": "/a\\b"}
    assert series_labels("up") == {}
    assert series_labels('up{job=~"a.*"}') is None  # not a plain label pair: kb does not read it
