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
