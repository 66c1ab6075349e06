"""The labels an alert carries from its expression, when kb can know them for sure.

`max by (agent) (...) > 20` gives its alert the label `agent`; a bare selector gives it every
label of the series it selects. The emitted promtool test must expect them, or it fails.
kb derives them from the replay's input series in the two cases where the answer is certain,
and derives nothing otherwise: then KB605 runs the test and names exactly what to add. An
author's `expect_labels` always wins.
"""

from __future__ import annotations

import re

AGGREGATION = re.compile(
    r"\b(sum|min|max|avg|count|stddev|stdvar|topk|bottomk|quantile|count_values|group|limitk|limit_ratio)\b\s*"
    r"(?:(by|without)\s*\(([^)]*)\))?\s*\(",
)
SUFFIX_GROUPING = re.compile(r"\)\s*(by|without)\s*\(([^)]*)\)")
LABEL_CHANGERS = re.compile(
    r"\b(label_replace|label_join|absent|absent_over_time|vector|scalar|on|ignoring|group_left|group_right)\s*\("
)
SELECTOR = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)?\s*(?:\{(.*)\})?\s*$")
PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def series_labels(selector: str) -> dict[str, str] | None:
    """The labels of a promtool input series (`name{a="b"}`), or None when kb cannot read it."""
    match = SELECTOR.match(selector)
    if match is None:
        return None
    labels: dict[str, str] = {}
    body = match.group(2) or ""
    position = 0
    while position < len(body):
        pair = PAIR.match(body, position)
        if pair is None or pair.end() == position:
            return None
        labels[pair.group(1)] = pair.group(2).encode().decode("unicode_escape")
        position = pair.end()
    return labels


def derived_labels(expr: str, series: list[str]) -> dict[str, str]:
    """Labels the alert is certain to carry, from the expression and the replay's series."""
    if LABEL_CHANGERS.search(expr):
        return {}
    parsed = [series_labels(s) for s in series]
    if any(p is None for p in parsed) or not parsed:
        return {}
    groupings = [(m.group(2), m.group(3)) for m in AGGREGATION.finditer(expr)]
    groupings += [(m.group(1), m.group(2)) for m in SUFFIX_GROUPING.finditer(expr)]
    aggregated = bool(AGGREGATION.search(expr))
    if not aggregated:
        # a bare selector (and functions or comparisons of it): the series' own labels, when
        # the replay has exactly one series, so there is exactly one alert
        return dict(sorted((parsed[0] or {}).items())) if len(parsed) == 1 else {}
    kinds = {kind for kind, _ in groupings if kind}
    if kinds != {"by"}:
        return {}  # no grouping (no labels kept), `without`, or both: nothing kb is sure of
    names = {frozenset(n.strip() for n in labels.split(",") if n.strip()) for kind, labels in groupings if kind}
    ungrouped = sum(1 for kind, _ in groupings if kind is None) - len(SUFFIX_GROUPING.findall(expr))
    if len(names) != 1 or ungrouped > 0:
        return {}  # aggregations that group differently, or an ungrouped one beside a grouped one
    derived = {}
    for name in sorted(next(iter(names))):
        values = {p[name] for p in parsed if p is not None and name in p}
        if len(values) != 1:
            return {}  # several values: several alerts, or none with that label
        derived[name] = values.pop()
    return derived
