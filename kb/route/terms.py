"""The words of kb route: how a query and a card are cut into search terms (kb.route.search
ranks them, kb.route.index keeps them per card)."""

from __future__ import annotations

import functools
import re

TOKEN = re.compile(r"[a-z0-9]+")
STOP = {
    "a",
    "an",
    "the",
    "is",
    "are",
    "of",
    "to",
    "in",
    "on",
    "for",
    "and",
    "or",
    "my",
    "our",
    "it",
    "its",
    "after",
    "with",
    "from",
    "by",
    "at",
    "be",
    "was",
    "were",
    "has",
    "have",
    "than",
    "more",
    "all",
}


def tokens(text: str) -> list[str]:
    # split camel case so "AgentSpendRateHigh" also matches "spend rate"
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    return [t for t in TOKEN.findall(spaced.lower()) if t not in STOP]


ROUTER_ALERT = re.compile(r"`([A-Za-z_:][A-Za-z0-9_:]*)`")
ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
NAME_RUN = re.compile(r"[A-Za-z0-9_:]+")  # the longest runs of the characters of an alert name
IN_BACKTICKS = re.compile(r"(?=`([A-Za-z_:][A-Za-z0-9_:]*)`)")  # overlapping: "`a`b`" holds `a` and `b`


def looks_like_alert(query: str) -> bool:
    """One identifier with an upper-case letter inside it, `_` or `:`: what an alert name looks like.

    A plain lower-case word ("budget") is a search; "AgentRunCrash" is an alert name that must
    match exactly or be reported as unknown, never answered with a guess."""
    return bool(ALERT_NAME.fullmatch(query)) and (any(c.isupper() for c in query[1:]) or "_" in query or ":" in query)


def line_names(text: str) -> set[str]:
    """Every query kb.route.search.names_alert can find on this routing line: the names in
    backticks, and the words that look like alert names, on the visible text (a word is a
    longest run of name characters, as names_alert's boundaries read it). The warm index keys
    lines by these; the route still asks names_alert of each line it gets."""
    visible = LINK_TARGET.sub("]", text)
    found = set(IN_BACKTICKS.findall(visible))
    found.update(word for word in NAME_RUN.findall(visible) if looks_like_alert(word))
    return found


@functools.lru_cache(maxsize=1 << 16)  # a KB's words repeat: 600,000 tokens at 10,000 cards, 30,000 distinct
def stem(token: str) -> str:
    # a light suffix strip so "errors", "erroring" and "error" meet; digits stay as they are
    if token.isdigit():
        return token
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def index_terms(text: str) -> list[str]:
    return [stem(t) for t in tokens(text)]
