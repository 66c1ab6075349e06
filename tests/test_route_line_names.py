"""kb route answers an exact alert name from the routing lines the warm index keys by the
names on them (kb.route.terms.line_names): that set must hold every name kb.route.search's
names_alert finds on a line, or an alert would go unanswered (or answered by the wrong line)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kb.route.search import ALERT_NAME, names_alert
from kb.route.terms import line_names

PIECES = ["`", "[", "]", "(", ")", " ", "-", ":", "_", "a", "b", "A", "B", "0", "7", "→", "x.yaml", "../"]
NAMES = ["AgentRunCrash", "node_down", "kube:up", "a", "b", "Ab", "aB", "_", ":", "a_b", "A0", "x"]


@settings(max_examples=150, deadline=None)
@example(["`", "a", "`", "b", "`"], "b")  # overlapping backticks
@example(["[", "x", "]", "(", "AgentRunCrash", ")"], "AgentRunCrash")  # in a link target only: not on the line
@given(st.lists(st.sampled_from(PIECES + NAMES), max_size=14), st.sampled_from(NAMES + ["ab", "aBa", "AB_"]))
def test_every_name_names_alert_finds_is_a_line_name(parts: list[str], query: str) -> None:
    line = "".join(parts)
    assert ALERT_NAME.fullmatch(query)
    if query in line and names_alert(line, query):
        assert query in line_names(line), (line, query)


def test_line_names_of_router_lines() -> None:
    line = "- `SvcSvc004Alert4`: svc-004 pattern 4, also node_down → [card-00004](../cards/NotAName.yaml)"
    assert line_names(line) == {"SvcSvc004Alert4", ":", "node_down"}  # ":" alone is an alert name too
    assert line_names("`a`b` and `budget`") == {"a", "b", "budget"}  # overlapping backticks
