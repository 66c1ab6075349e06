"""Credentials pasted into the KB: found by detect-secrets, reported, never published.

Detection is detect-secrets' own plugins and filters, run on the lines that could hold a
credential. Running every plugin on every line would cost minutes at 10,000 cards (some of
its vendor regexes backtrack on long lines), so a line is scanned only when it has one of:
a run of 20 or more token characters with a digit or a capital (every token format
detect-secrets knows is at least 20 long; plain words are not scanned), a word from
detect-secrets' keyword list (password, api_key, secret ...), a private-key header, or a
password in a URL. tests/hostile/test_secrets.py runs a sample of every token kind through
this path.

Left out on purpose: the high-entropy plugins (hex and base64), which fire on every trace
id, digest and commit sha an incident timeline quotes, and the public-IP plugin (an address
is not a credential). Messages and the check cache never hold the secret itself: CI logs
and caches are published too.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from kb.core import safefile
from kb.core.diagnostics import SUPPRESSION

if TYPE_CHECKING:
    from kb.load.knowledge_base import KnowledgeBase

EXCLUDED_PLUGINS = {"HexHighEntropyString", "Base64HighEntropyString", "IPPublicDetector"}
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_.~-])[A-Za-z0-9+/=_.~-]{20,}")  # never starts inside a run
_URL_PASSWORD = re.compile(r"://[^\s/:@]+:[^\s/@]+@")


@dataclass(frozen=True)
class SecretHit:
    line: int
    column: int  # 1-based
    end_column: int
    kind: str  # detect-secrets' type, e.g. "GitHub Token"
    value: str
    keys: frozenset[str]  # what `kb: ignore[...]` on the line names: naming the secret rule allowlists it

    def allowed(self, allow_keys: frozenset[str]) -> bool:
        """A reviewed false positive: its line suppresses the rule that reports secrets."""
        return bool(self.keys & allow_keys)


@lru_cache(maxsize=1)
def _keywords() -> tuple[str, ...]:
    """detect-secrets' keyword list as the literal words it matches (api_?key is api_key and
    apikey), for `in` tests on the lower-cased text; its detector then judges each line."""
    from detect_secrets.plugins.keyword import DENYLIST

    words: set[str] = {"private key"}
    for pattern in DENYLIST:
        variants = [""]
        for piece in re.split(r"(_\?)", pattern):
            variants = [v + option for v in variants for option in (["", "_"] if piece == "_?" else [piece])]
        if all(re.escape(v) == v or not re.search(r"[\\()\[\]{}*+?|^$]", v) for v in variants):
            words.update(variants)
        else:  # not a plain word: its longest literal part is still necessary
            words.add(max(re.split(r"[^\w]+", pattern), key=len))
    return tuple(sorted(words))


def _looks_random(token: str) -> bool:
    """A token detect-secrets could match: a capital letter, or a 16+ character part with a
    digit (hex and base62 keys); not a lower-case path or name like references/ref-049.md."""
    if any(c.isupper() for c in token):
        return True
    return any(len(part) >= 16 and any(c.isdigit() for c in part) for part in _PARTS.split(token))


_PARTS = re.compile(r"[/._:~=+-]")
_TOKEN_BYTES = (string.ascii_letters + string.digits + "+/=_.~-").encode()
_ONLY_TOKENS = bytes(c if c in _TOKEN_BYTES else 32 for c in range(256))  # other bytes become spaces
_STEMS = (b"key", b"pass", b"pwd", b"secret", b"contrase", b"://")  # each keyword word holds one


def _suspects(raw: bytes) -> list[str]:
    """What in `raw` could be a credential: random-looking tokens and keyword words. C-speed
    byte operations, so the 10,000 files that hold nothing cost a fraction of a second."""
    found = [
        w.decode("ascii")
        for w in raw.translate(_ONLY_TOKENS).split()
        if len(w) >= 20 and _looks_random(w.decode("ascii"))
    ]
    low = raw.lower()
    if any(stem in low for stem in _STEMS):
        text = low.decode("utf-8", errors="replace")
        found += [word for word in _keywords() if word in text]
        if "://" in text:
            found += [m.group() for m in _URL_PASSWORD.finditer(raw.decode("utf-8", errors="replace"))]
    return found


def _candidates(text: str, suspects: list[str]) -> list[tuple[int, str]]:
    """The lines of `text` holding a suspect."""
    low = text.lower()
    positions = []
    for suspect in set(suspects):
        haystack = low if suspect.islower() else text
        at = haystack.find(suspect)
        while at >= 0:
            positions.append(at)
            at = haystack.find(suspect, at + 1)
    lines = text.splitlines()
    numbers = sorted({text.count("\n", 0, pos) + 1 for pos in positions})
    return [(n, lines[n - 1]) for n in numbers if n <= len(lines)]


@lru_cache(maxsize=1)
def _configure_detect_secrets() -> None:
    """Its plugins, once per process: its `transient_settings` per file re-imports its filter
    modules twice, which cost 2 s on a cold check of 10,000 cards (1,667 files with a suspect)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import cache_bust, configure_settings_from_baseline

    names = sorted(cls.__name__ for cls in get_mapping_from_secret_type_to_class().values())
    cache_bust()
    configure_settings_from_baseline({"plugins_used": [{"name": n} for n in names if n not in EXCLUDED_PLUGINS]})


def _suppressed_keys(line: str) -> frozenset[str]:
    """Every key a `kb: ignore[...]` comment on the line names, codes upper-cased."""
    keys = set()
    for match in SUPPRESSION.finditer(line):
        for key in match.group(1).split(","):
            key = key.strip()
            if key:
                keys.add(key.upper() if key[:2].lower() == "kb" else key)
    return frozenset(keys)


RULE_CODE = "{kb-secret-rule}"  # in a message: replaced by the code of the rule that reports secrets


@dataclass(frozen=True)
class Allowlist:
    """How a line says "not a credential": `kb: ignore[...]` naming the rule that reports
    secrets (its code, name or an alias). Built by kb.rules, which owns rule identity."""

    code: str
    keys: frozenset[str]


def unsuppressed(hits: list[tuple[str, frozenset[str]]], allow_keys: frozenset[str]) -> frozenset[str]:
    """The secret values among (value, keys) pairs that no allowlist comment covers."""
    return frozenset(value for value, keys in hits if not keys & allow_keys)


def scan(raw: bytes | str, filename: str = "file.yaml") -> list[SecretHit]:
    """Every credential detect-secrets finds in the file content `raw`, with its position."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    suspects = _suspects(raw)
    if not suspects:
        return []
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = _candidates(text, suspects)
    if not lines:
        return []
    from detect_secrets.core.scan import _process_line_based_plugins

    _configure_detect_secrets()
    # detect-secrets skips lines with some comment forms; it sees the line without kb's own
    blanked = [(n, SUPPRESSION.sub(lambda m: " " * len(m.group()), line)) for n, line in lines]
    found = list(_process_line_based_plugins(blanked, filename))
    by_number = dict(lines)
    hits: set[SecretHit] = set()
    for secret in found:
        line = by_number.get(secret.line_number, "")
        start, end = _extent(line, secret.secret_value or "")
        hits.add(
            SecretHit(secret.line_number, start + 1, end + 1, secret.type, line[start:end], _suppressed_keys(line))
        )
    return sorted(hits, key=lambda h: (h.line, h.column, h.kind))


def _extent(line: str, value: str) -> tuple[int, int]:
    """Where `value` sits in `line`, widened to the whole token: some detectors report only
    a token's prefix (GitHub's `ghp`), and redacting that would publish the rest."""
    start = line.find(value) if value else -1
    if start < 0:
        return 0, len(line)
    end = start + len(value)
    for match in _TOKEN.finditer(line):
        if match.start() <= start < match.end():
            return start, max(end, match.end())
    return start, end


def redact(text: str, values: set[str] | frozenset[str], html: bool = False) -> str:
    """`text` with every secret value replaced (and its HTML-escaped form, for pages)."""
    import html as html_module

    for value in sorted(values, key=len, reverse=True):
        if len(value) < 4:
            continue  # too short to replace safely; never produced by a token detector
        text = text.replace(value, REDACTED)
        if html:
            text = text.replace(html_module.escape(value), REDACTED)
            text = text.replace(html_module.escape(value, quote=False), REDACTED)
    return text


REDACTED = "[secret removed by kb]"


def published_secrets(kb: KnowledgeBase, allow_keys: frozenset[str]) -> frozenset[str]:
    """Every credential the site could publish that is not allowlisted: in the documents
    (found while loading), the router pages and the references."""
    from kb.load.router import published_text_files, router_for

    values: set[str] = set()
    for doc in kb.documents():
        values |= doc.secret_values(allow_keys)
    pages = [page.path for page in router_for(kb.root, kb.settings).pages]
    for rel in published_text_files(kb.root, kb.settings.references_dir, pages, kb.settings.max_file_bytes):
        try:
            raw = safefile.read_inside(kb.root, rel)
        except (OSError, ValueError):
            continue
        values.update(hit.value for hit in scan(raw, rel) if not hit.allowed(allow_keys))
    return frozenset(values)


def _strings(value: object, loc: tuple = ()) -> Iterator[tuple[tuple, str, str]]:
    """(YAML path, "key" or "value", text) of every string in a loaded YAML value."""
    if isinstance(value, str):
        yield loc, "value", value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*loc, key), "key", key
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def scan_decoded(
    text: str, data: object, filename: str = "file.yaml", known: frozenset[str] = frozenset()
) -> list[SecretHit]:
    """Credentials that only the decoded values show: a key written with YAML escapes
    (`AKIA\\x49OSF...`), split by a backslash line continuation, or folded across lines,
    never appears in the raw lines `scan` reads. Every string whose decoded text is not in
    the raw text is scanned again; a hit is placed at its node, and the `kb: ignore` on any
    line of that node allowlists it. Values already found in the raw lines (`known`) are
    not reported twice."""
    hidden = [(loc, at, value) for loc, at, value in _strings(data) if len(value) >= 8 and value not in text]
    if not hidden:
        return []
    found = []
    for loc, at, value in hidden:
        for hit in scan(value, filename):
            if hit.value not in known:
                found.append((loc, at, hit))
    if not found:
        return []
    from kb.core import yamlio

    try:
        root = yamlio.compose(text)
    except yamlio.YamlProblem:
        root = None
    lines = text.splitlines()
    hits = []
    for loc, at, hit in found:
        span = yamlio.locate_in(root, loc, at).span if root is not None else None
        first, last = (span.line, span.end_line) if span else (1, 1)
        keys = frozenset().union(*(_suppressed_keys(line) for line in lines[first - 1 : max(last, first)]))
        hits.append(
            SecretHit(first, span.column if span else 1, span.end_column if span else 1, hit.kind, hit.value, keys)
        )
    return sorted(set(hits), key=lambda h: (h.line, h.column, h.kind))
