"""`kb route`: from an alert name or a few words to the one card to open.

An alert name is answered from the router pages alone (the router names every alert,
KB505), so the common case reads no card at all. Words are ranked over router lines and
the cards' titles, alerts and symptoms, from an index that is revalidated by stat on every
call and rebuilt for the files that changed.
"""

from __future__ import annotations

import bisect
import difflib
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from kb.cache import store as cache
from kb.config.mkdocs import Paths
from kb.core import safefile, yamlio
from kb.load.router import load_router
from kb.route.terms import (  # noqa: F401 - also kb.route.search's names
    ALERT_NAME,
    LINK_TARGET,
    ROUTER_ALERT,
    STOP,
    TOKEN,
    looks_like_alert,
    tokens,
)
from kb.route.terms import index_terms as _index_terms
from kb.route.terms import stem as _stem

ROUTER_FILE = "route-router.json"


@dataclass
class CardEntry:
    id: str
    path: str
    title: str
    alerts: list[str]
    symptoms: list[str]
    summary: str = ""


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
        str(data.get("summary") or ""),
    )


def card_index(config: Paths) -> list[CardEntry]:
    """Every card's routing fields, read from the files (kb.route.index keeps them warm)."""
    from kb.route.index import card_files

    entries = []
    for rel, _ in card_files(config.root, config.cards_dir) or []:
        entry = _card_entry(config.root / rel, rel)
        if entry is not None:
            entries.append(entry)
    return entries


@dataclass
class RoutingLine:
    page: str
    line: int
    text: str
    card_id: str
    path: str


def _page_key(st: os.stat_result) -> list[int]:
    """What a router page's stat must still be for the cached table to stand: mtime, size, inode
    and ctime (an edit that puts the mtime back, as `cp -p` or rsync do, still moves the ctime)."""
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


ROUTER_FORMAT = 2  # 2: keyed on the settings that change routing; link targets and mkdocs.yml are inputs


def _router_settings(config: Paths) -> list:
    """What the table is computed from besides the files: a change to any is a new table."""
    return [ROUTER_FORMAT, config.router, config.cards_dir, config.references_dir]


def _probe(config: Paths, rel: str, racy: int) -> list[int] | str | None:
    """A path's stat key taken BEFORE it is trusted; "absent" when nothing is there (a negative
    lookup is an input too: a sub-router page created later); None when it changed within the
    2 s before `racy` was taken (mtime or ctime: `cp -p` puts the mtime back, never the ctime)
    or cannot be stat-ed: such a table is computed again next time."""
    try:
        st = (config.root / rel).stat()
    except (FileNotFoundError, NotADirectoryError):
        return "absent"
    except (OSError, ValueError):
        return None
    return None if max(st.st_mtime_ns, st.st_ctime_ns) >= racy else _page_key(st)


def routing_table(config: Paths) -> list[RoutingLine]:
    """The router's one-card lines; from the cache while every router page's stat matches."""
    racy = time.time_ns() - 2_000_000_000  # taken before any page is read: a change during the parse is racy
    cached = None if os.environ.get("KB_NO_CACHE") else cache.read(config.root, ROUTER_FILE)
    if cached and cached.get("settings") == _router_settings(config) and isinstance(cached.get("pages"), dict):
        try:
            fresh = bool(cached["pages"]) and all(
                key is not None and _probe(config, page, racy) == key for page, key in cached["pages"].items()
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
    if os.environ.get("KB_NO_CACHE") or router.reads_other_files:
        return table  # neither read nor written (an extension reads files no key lists)
    # a page modified within the last 2 s (mtime or ctime) gets no key: read again next time
    # (racy stat; a page replaced while it was parsed has a ctime after the parse began)
    pages = {rel: _probe(config, rel, racy) for rel in [page.path for page in router.pages] + router.looked_up()}
    pages["mkdocs.yml"] = _probe(config, "mkdocs.yml", racy)  # markdown_extensions decide which links are links
    if not router.pages:
        pages[config.router] = None  # no router read: never a kept empty table
    cache.write(
        config.root,
        ROUTER_FILE,
        {
            "settings": _router_settings(config),
            "pages": pages,
            "lines": [[r.page, r.line, r.text, r.card_id, r.path] for r in table],
        },
    )
    return table


def _alert_in(line: str, alert: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_:]){re.escape(alert)}(?![A-Za-z0-9_:])", line) is not None


def names_alert(line: str, query: str) -> bool:
    """Whether a routing line names the alert `query`: in backticks, or as a word that looks like
    an alert name (KB530 reads lines the same way). A plain word that happens to be on the line
    ("wrong", "yaml" in the link target) is a search, never an exact match."""
    visible = LINK_TARGET.sub("]", line)  # the link target is not text on the line
    return f"`{query}`" in visible or (looks_like_alert(query) and _alert_in(visible, query))


# words a paged engineer types that the cards say differently: a provider's name for "provider",
# an HTTP status for its class. Small and domain-specific on purpose: kb is for teams running AI agents.
SYNONYMS = {
    "openai": ["provider", "model", "llm"],
    "anthropic": ["provider", "model", "llm"],
    "azure": ["provider", "model", "llm"],
    "bedrock": ["provider", "model", "llm"],
    "gemini": ["provider", "model", "llm"],
    "vertex": ["provider", "model", "llm"],
    "mistral": ["provider", "model", "llm"],
    "cohere": ["provider", "model", "llm"],
    "llm": ["model", "provider"],
    "timeout": ["slow", "time"],
    "timeouts": ["slow", "time"],
    "oom": ["crash", "crashed"],
}


CAMEL_CASE = re.compile(r"[A-Za-z][A-Za-z0-9_:]*[a-z][A-Z][A-Za-z0-9_:]*")


def alert_tokens(query: str) -> list[str]:
    """The CamelCase alert names inside a longer query (`AgentRunCrash`, not `FIRING:1` or
    `severity`): what an alert pasted with other words looks like."""
    found = []
    for token in ALERT_NAME.findall(query):
        token = token.strip(":")
        if CAMEL_CASE.fullmatch(token) and token not in found:
            found.append(token)
    return found


def search_terms(text: str) -> list[str]:
    """Tokens of a query with stems, synonyms and HTTP status classes (503 -> 5xx)."""
    out = []
    for token in tokens(text):
        out.append(_stem(token))
        out.extend(SYNONYMS.get(token, []))
        if re.fullmatch(r"[1-5][0-9][0-9]", token):
            out.append(token[0] + "xx")
    return out


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass
class RouteAnswer:
    """What `kb route` found, and how sure it is.

    kind: "alert" (a router line or card names the alert exactly), "search" (ranked words: a
    search result, never presented as a match), "unknown-alert" (an alert name nothing names),
    "ambiguous-alert" (routing lines send the alert to several cards), "none" (no word matched)."""

    kind: str
    matches: list[Match]
    closest: list[str]
    nearest_alerts: list[tuple[str, str]]  # (alert name, card id), nearest first
    rule_file: str | None = None  # "unknown-alert": the rule file that defines it, when one does
    runbook_url: str | None = None  # and its runbook_url there
    alert: str | None = None  # "unknown-alert": the name nothing names, when the query held more words
    # "alert": the card files that hold the id of the card it leads to, read from the same warm
    # index (two or more: no card to open, KB121); None when the answer was not read from it
    holders: list[str] | None = None


def alert_in_rule_files(config: Paths, name: str) -> tuple[str, str | None] | None:
    """The rule file under rules/ (subfolders too) that defines the alert, and its runbook_url.

    Read only when an alert name is on no router line and in no card: third-party rules
    (kube-prometheus) keep their runbooks elsewhere, and the paged engineer needs that link."""
    from kb.load.rulefiles import read_rule_file, yaml_tree

    folder = config.root / config.rules_dir
    for rel in yaml_tree(folder):
        path = folder / rel
        try:
            if path.is_symlink():
                continue
            raw = safefile.read_bytes(path, yamlio.MAX_BYTES)  # a regular file, bounded: a FIFO never blocks
            if name.encode() not in raw:
                continue
            rule_file = read_rule_file(f"{config.rules_dir}/{rel}", raw, False, yamlio.MAX_BYTES)
        except (OSError, yamlio.YamlProblem):
            continue
        if rule_file is None:
            continue  # YAML that is not a rule file
        for alert in rule_file.alerts:
            if alert.name == name:
                return rule_file.path, alert.runbook_url
    return None


def known_alerts(lines: list[RoutingLine], entries: list[CardEntry]) -> dict[str, str]:
    """Every alert name the router or a card names, with the card it leads to."""
    found: dict[str, str] = {}
    for line in lines:
        for name in ROUTER_ALERT.findall(line.text):
            found.setdefault(name, line.card_id)
    for entry in entries:
        for name in entry.alerts:
            found.setdefault(name, entry.id)
    return found


def levenshtein_within(a: str, b: str, bound: int) -> int:
    """levenshtein(a, b) when it is at most `bound`, else bound + 1: only the band of cells
    within `bound` of the diagonal is computed, and a row over the bound stops it."""
    over = bound + 1
    if abs(len(a) - len(b)) > bound:
        return over
    previous = [j if j <= bound else over for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        lo, hi = max(1, i - bound), min(len(b), i + bound)
        current = [over] * (len(b) + 1)
        current[0] = i if i <= bound else over
        ca = a[i - 1]
        smallest = current[0]
        for j in range(lo, hi + 1):
            cost = previous[j - 1] + (ca != b[j - 1])
            if previous[j] + 1 < cost:
                cost = previous[j] + 1
            if current[j - 1] + 1 < cost:
                cost = current[j - 1] + 1
            current[j] = cost if cost < over else over
            if cost < smallest:
                smallest = cost
        if smallest > bound:
            return over
        previous = current
    return previous[len(b)]


def nearest_alert_names(query: str, alerts: dict[str, str], n: int = 3) -> list[tuple[str, str]]:
    """The n alert names nearest to the query by edit distance (then by name), within half its
    length. A name is measured only as far as it could still be among the n nearest so far:
    100,000 alert names cost a fraction of a second, not a Levenshtein table each."""
    wanted = query.lower()
    bound = max(3, len(query) // 2)
    best: list[tuple[int, str]] = []
    for name in alerts:
        distance = levenshtein_within(wanted, name.lower(), bound)
        if distance > bound:
            continue
        bisect.insort(best, (distance, name))
        if len(best) > n:
            best.pop()
        if len(best) == n:
            bound = best[-1][0]  # a name further than the n-th nearest cannot enter; an equal one may
    return [(name, alerts[name]) for _, name in best]


def route(config: Paths, query: str, limit: int | None = None) -> RouteAnswer:
    """The answer for QUERY: an exact alert, a labelled search result, or an honest 'not found'.
    With `limit`, only the best `limit` matches of a search (the same ones, in the same order)."""
    query = query.strip()
    from kb.route.index import open_index

    index = open_index(config)  # current with the router pages and every card file's stat
    if index is None:  # the cards folder cannot be listed: from the files, as they are
        return route_from_files(config, query)
    try:
        answer = None
        if ALERT_NAME.fullmatch(query):  # 1. an exact alert name on a routing line: the lines that name it
            answer = _exact_on_router([RoutingLine(*row) for row in index.lines_naming(query)], query)
        if answer is None:
            answer = _route_indexed(config, index, query, limit)
        if answer.kind == "alert" and answer.matches:
            answer.holders = index.holders(answer.matches[0].card_id)
        return answer
    finally:
        index.close()


def _exact_on_router(lines: list[RoutingLine], query: str) -> RouteAnswer | None:
    found: dict[str, Match] = {}
    for line in lines:
        if query in line.text and names_alert(line.text, query):
            found.setdefault(
                line.card_id, Match(line.card_id, math.inf, line.page, line.line, line.text, line.path, True)
            )
    if len(found) > 1:  # the router maps a situation to one card (KB530): two is no answer
        return RouteAnswer("ambiguous-alert", list(found.values()), [], [], alert=query)
    return RouteAnswer("alert", list(found.values()), [], []) if found else None


def _route_indexed(config: Paths, index, query: str, limit: int | None) -> RouteAnswer:
    """Steps 2 to 5 of route_from_files, from the warm index: the same answers."""
    if looks_like_alert(query):
        card_id = index.card_naming(query)
        if card_id is not None:
            page, number, text, path = index.where(card_id)
            return RouteAnswer("alert", [Match(card_id, math.inf, page, number, text, path, True)], [], [])
        nearest = nearest_alert_names(query, index.known_alerts())
        defined = alert_in_rule_files(config, query)
        if defined is not None:
            return RouteAnswer("unknown-alert", [], [], nearest, defined[0], defined[1])
        return RouteAnswer("unknown-alert", [], [], nearest)
    named = alert_tokens(query)
    if named:
        leads = {name: index.alert_card(name) for name in named}
        unknown = [name for name in named if leads[name] is None]
        if unknown:
            alerts = index.known_alerts()
            defined = alert_in_rule_files(config, unknown[0])
            nearest = nearest_alert_names(unknown[0], alerts)
            if defined is not None:
                return RouteAnswer("unknown-alert", [], [], nearest, defined[0], defined[1], unknown[0])
            return RouteAnswer("unknown-alert", [], [], nearest, alert=unknown[0])
        cards = set(leads.values())
        if len(cards) == 1:
            (card_id,) = cards
            assert card_id is not None
            page, number, text, path = index.where(card_id) or (
                None,
                None,
                None,
                f"{config.cards_dir}/{card_id}.yaml",
            )
            return RouteAnswer("alert", [Match(card_id, math.inf, page, number, text, path, True)], [], [])
    wanted = search_terms(query)
    count = index.count() or 1
    scores: dict[int, float] = {}
    for term in set(wanted):  # the order route_from_files sums in: the same floating-point sums
        docs = index.postings(term)
        if not docs:
            continue
        weight = math.log(1 + count / len(docs))
        for num in docs:
            scores[num] = scores.get(num, 0) + weight
    exact_ids = index.cards_with_alert_lower(query.lower())
    exact_nums = index.nums_of(exact_ids)
    for num in exact_nums:
        scores[num] = scores.get(num, 0) + 1000
    if not scores:
        texts = index.line_texts()
        return RouteAnswer("none", [], difflib.get_close_matches(query, texts, n=3, cutoff=0.0), [])
    if limit is not None and len(scores) > limit:
        cutoff = sorted(scores.values(), reverse=True)[limit - 1]
        chosen = [num for num, score in scores.items() if score >= cutoff]
    else:
        chosen = list(scores)
    ids = index.card_ids(chosen)
    ranked = sorted(chosen, key=lambda num: (-scores[num], ids[num]))
    if limit is not None:
        ranked = ranked[:limit]
    matches = []
    for num in ranked:
        card_id = ids[num]
        page, number, text, path = index.where(card_id)
        matches.append(Match(card_id, scores[num], page, number, text, path, num in exact_nums))
    return RouteAnswer("search", matches, [], [])


def route_from_files(config: Paths, query: str) -> RouteAnswer:
    """The answer for QUERY computed from the files alone: what `route` answers from its
    warm index (and the oracle its tests compare it with)."""
    lines = routing_table(config)
    query = query.strip()
    # 1. an exact alert name on a routing line: no card file is read
    if ALERT_NAME.fullmatch(query):
        exact = _exact_on_router(lines, query)
        if exact is not None:
            return exact
    entries = card_index(config)
    where: dict[str, tuple] = {}
    for line in lines:
        where.setdefault(line.card_id, (line.page, line.line, line.text, line.path))
    for entry in entries:
        where.setdefault(entry.id, (None, None, None, entry.path))
    if looks_like_alert(query):
        # 2. an alert a card names but the router does not (KB505 reports that): still exact
        for entry in entries:
            if query in entry.alerts:
                page, number, text, path = where[entry.id]
                return RouteAnswer("alert", [Match(entry.id, math.inf, page, number, text, path, True)], [], [])
        # 3. an alert name nothing names: say so, never a guess (with its rule file and runbook, if any)
        nearest = nearest_alert_names(query, known_alerts(lines, entries))
        defined = alert_in_rule_files(config, query)
        if defined is not None:
            return RouteAnswer("unknown-alert", [], [], nearest, defined[0], defined[1])
        return RouteAnswer("unknown-alert", [], [], nearest)
    # 4. words around alert names, as pasted from a pager ("[FIRING:1] AgentRunCrash",
    # 'AgentRunCrash{severity="page"}'): every alert name in them must be known, and lead to
    # one card; an unknown one is said, never answered with the nearest card by words
    named = alert_tokens(query)
    if named:
        alerts = known_alerts(lines, entries)
        unknown = [name for name in named if name not in alerts]
        if unknown:
            defined = alert_in_rule_files(config, unknown[0])
            nearest = nearest_alert_names(unknown[0], alerts)
            if defined is not None:
                return RouteAnswer("unknown-alert", [], [], nearest, defined[0], defined[1], unknown[0])
            return RouteAnswer("unknown-alert", [], [], nearest, alert=unknown[0])
        cards = {alerts[name] for name in named}
        if len(cards) == 1:
            (card_id,) = cards
            page, number, text, path = where.get(card_id, (None, None, None, f"{config.cards_dir}/{card_id}.yaml"))
            return RouteAnswer("alert", [Match(card_id, math.inf, page, number, text, path, True)], [], [])
    # 5. words, ranked over router lines and the cards' own fields: a search result
    wanted = search_terms(query)
    documents: dict[str, list[str]] = {}
    for line in lines:
        documents.setdefault(line.card_id, []).extend(_index_terms(line.text))
    for entry in entries:
        bag = documents.setdefault(entry.id, [])
        bag.extend(_index_terms(" ".join([entry.title, entry.summary, *entry.alerts, *entry.symptoms])))
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
        return RouteAnswer("search", matches, [], [])
    texts = [line.text for line in lines]
    closest = difflib.get_close_matches(query, texts, n=3, cutoff=0.0)
    return RouteAnswer("none", [], closest, [])


def card_url(config: Paths, card_id: str) -> str:
    return f"{config.site_url}cards/{card_id}/" if config.site_url else f"cards/{card_id}/"
