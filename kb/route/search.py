"""`kb route`: from an alert name or a few words to the one card to open.

An alert name is answered from the router pages alone (the router names every alert,
KB505), so the common case reads no card at all. Words are ranked over router lines and
the cards' titles, alerts and symptoms, from an index that is revalidated by stat on every
call and rebuilt for the files that changed.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path

from kb.cache import store as cache
from kb.config.mkdocs import Paths
from kb.core import safefile, yamlio
from kb.load.router import load_router

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
INDEX_FILE = "route-index.json"
ROUTER_FILE = "route-router.json"


def tokens(text: str) -> list[str]:
    # split camel case so "AgentSpendRateHigh" also matches "spend rate"
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    return [t for t in TOKEN.findall(spaced.lower()) if t not in STOP]


@dataclass
class CardEntry:
    id: str
    path: str
    title: str
    alerts: list[str]
    symptoms: list[str]


@dataclass
class Match:
    card_id: str
    score: float
    line_page: str | None
    line_number: int | None
    line_text: str | None
    path: str
    exact_alert: bool = False


def _card_entry(path: Path, rel: str) -> CardEntry | None:
    try:
        data = yamlio.load_mapping(safefile.read_bytes(path, yamlio.MAX_BYTES))
    except (OSError, yamlio.YamlProblem):
        return None
    found = data.get("triggers")
    triggers: dict[str, object] = found if isinstance(found, dict) else {}
    as_list = lambda v: [str(x) for x in v] if isinstance(v, list) else []
    return CardEntry(
        str(data.get("id") or path.stem),
        rel,
        str(data.get("title") or ""),
        as_list(triggers.get("alerts")),
        as_list(triggers.get("symptoms")),
    )


def card_index(config: Paths) -> list[CardEntry]:
    """Every card's routing fields; unchanged files come from the cache (mtime, size)."""
    folder = config.root / config.cards_dir
    cached = cache.read(config.root, INDEX_FILE) or {}
    old = cached.get("cards", {}) if isinstance(cached.get("cards"), dict) else {}
    fresh: dict[str, dict] = {}
    changed = False
    entries = []
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")) if folder.is_dir() else []
    for path in paths:
        rel = path.relative_to(config.root).as_posix()
        try:
            stat = path.stat()
        except OSError:
            continue
        key = [stat.st_mtime_ns, stat.st_size]
        item = old.get(rel)
        if isinstance(item, dict) and item.get("stat") == key and isinstance(item.get("entry"), dict):
            try:
                entry = CardEntry(**item["entry"])
            except TypeError:
                entry = None
        else:
            entry = None
        if entry is None:
            changed = True
            entry = _card_entry(path, rel)
            if entry is None:
                continue
        fresh[rel] = {"stat": key, "entry": entry.__dict__}
        entries.append(entry)
    if changed or set(fresh) != set(old):
        cache.write(config.root, INDEX_FILE, {"cards": fresh})
    return entries


@dataclass
class RoutingLine:
    page: str
    line: int
    text: str
    card_id: str
    path: str


def routing_table(config: Paths) -> list[RoutingLine]:
    """The router's one-card lines; from the cache while every router page's stat matches."""
    cached = cache.read(config.root, ROUTER_FILE)
    if cached and cached.get("router") == config.router and isinstance(cached.get("pages"), dict):
        try:
            fresh = all(
                list(((st := (config.root / page).stat()).st_mtime_ns, st.st_size)) == key
                for page, key in cached["pages"].items()
            )
            if fresh:
                return [RoutingLine(*row) for row in cached["lines"]]
        except (OSError, TypeError, ValueError):
            pass  # a page vanished or the cache is damaged: parse again
    router = load_router(config.root, config.router, config.cards_dir.strip("/"), config.references_dir.strip("/"))
    table = [
        RoutingLine(line.page, line.line, line.text, link.card_id, link.resolved)
        for line in router.routing_lines()
        if len(line.cards) == 1
        for link in line.cards
        if link.card_id is not None and link.resolved is not None
    ]
    pages = {}
    for page in router.pages:
        st = (config.root / page.path).stat()
        pages[page.path] = [st.st_mtime_ns, st.st_size]
    cache.write(
        config.root,
        ROUTER_FILE,
        {
            "router": config.router,
            "pages": pages,
            "lines": [[r.page, r.line, r.text, r.card_id, r.path] for r in table],
        },
    )
    return table


def _alert_in(line: str, alert: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_:]){re.escape(alert)}(?![A-Za-z0-9_:])", line) is not None


def route(config: Paths, query: str) -> tuple[list[Match], list[str]]:
    """The matches, best first; when there are none, the closest router lines."""
    lines = routing_table(config)
    query = query.strip()
    # 1. an exact alert name on a routing line: no card file is read
    if re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", query):
        for line in lines:
            if query in line.text and _alert_in(line.text, query):
                return [Match(line.card_id, math.inf, line.page, line.line, line.text, line.path, True)], []
    # 2. words, ranked over router lines and the cards' own fields
    wanted = tokens(query)
    documents: dict[str, list[str]] = {}
    where: dict[str, tuple] = {}
    for line in lines:
        documents.setdefault(line.card_id, []).extend(tokens(line.text))
        where.setdefault(line.card_id, (line.page, line.line, line.text, line.path))
    entries = card_index(config)
    for entry in entries:
        bag = documents.setdefault(entry.id, [])
        bag.extend(tokens(" ".join([entry.title, *entry.alerts, *entry.symptoms])))
        if any(a.lower() == query.lower() for a in entry.alerts):
            bag.extend(["\0exact-alert"] * 3)
        where.setdefault(entry.id, (None, None, None, entry.path))
    alerts_exact = {e.id for e in entries if any(a.lower() == query.lower() for a in e.alerts)}
    count = len(documents) or 1
    frequency: dict[str, int] = {}
    for bag in documents.values():
        for token in set(bag):
            frequency[token] = frequency.get(token, 0) + 1
    matches = []
    for card_id, bag in documents.items():
        present = set(bag)
        score = sum(math.log(1 + count / frequency[t]) for t in set(wanted) if t in present)
        if card_id in alerts_exact:
            score += 1000
        if score > 0:
            page, number, text, path = where[card_id]
            matches.append(Match(card_id, score, page, number, text, path, card_id in alerts_exact))
    matches.sort(key=lambda m: (-m.score, m.card_id))
    if matches:
        return matches, []
    texts = [line.text for line in lines]
    closest = difflib.get_close_matches(query, texts, n=3, cutoff=0.0)
    return [], closest


def card_url(config: Paths, card_id: str) -> str:
    return f"{config.site_url}cards/{card_id}/" if config.site_url else f"cards/{card_id}/"
