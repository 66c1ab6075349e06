"""Credentials pasted into the KB: found by detect-secrets, reported, never published.

Detection is detect-secrets' own plugins and filters. Running every plugin on every line
would cost minutes at 10,000 cards (each plugin call goes through its argument-injection
layer), so kb.load.secret_prefilter first proves, from the plugins' own regexes, which lines
none of them can match; the plugins and filters then judge the other lines, with the file's
lines around each as context. tests/test_secret_prefilter.py runs detect-secrets' own test
strings through both paths.

Left out on purpose: the high-entropy plugins (hex and base64), which fire on every trace
id, digest and commit sha an incident timeline quotes, and the public-IP plugin (an address
is not a credential). Messages and the check cache never hold the secret itself: CI logs
and caches are published too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from kb.core import yamlio
from kb.core.diagnostics import SUPPRESSION
from kb.core.yamlio import Rewritten, rewritten_span
from kb.load.secret_prefilter import Prefilter, prefilter_for

EXCLUDED_PLUGINS = {"HexHighEntropyString", "Base64HighEntropyString", "IPPublicDetector"}
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_.~-])[A-Za-z0-9+/=_.~-]{20,}")  # never starts inside a run


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
def _configure_detect_secrets() -> None:
    """Its plugins, once per process: its `transient_settings` per file re-imports its filter
    modules twice, which cost 2 s on a cold check of 10,000 cards (1,667 files with a suspect)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import cache_bust, configure_settings_from_baseline

    plugins: dict[str, type] = get_mapping_from_secret_type_to_class()
    names = sorted(plugin.__name__ for plugin in plugins.values())
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


def _comment_keys(text: str) -> dict[int, frozenset[str]]:
    """Per line, the keys of the `kb: ignore[...]` YAML comments on it (never one in a value)."""
    keys: dict[int, set[str]] = {}
    for line, _, codes in yamlio.suppression_comments(text):
        keys.setdefault(line, set()).update(_suppressed_keys(f"kb: ignore[{codes}]"))
    return {line: frozenset(found) for line, found in keys.items()}


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


def scan(raw: bytes | str, filename: str = "file.yaml", prefilter: bool = True) -> list[SecretHit]:
    """Every credential detect-secrets finds in the file content `raw`, with its position.
    `prefilter=False` gives every line to the plugins (the reference the prefilter is tested
    against)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    _configure_detect_secrets()
    from detect_secrets.settings import get_plugins

    plugins = get_plugins()
    nominated = prefilter_for(plugins, filename).nominate(text, lines) if prefilter else None
    if nominated == {}:
        return []  # proven: no plugin's regex can match any line
    # detect-secrets skips lines with some comment forms; it sees each line without kb's own
    seen = [SUPPRESSION.sub(lambda m: " " * len(m.group()), line) for line in lines] if "kb:" in text else lines
    numbers = list(range(1, len(lines) + 1)) if nominated is None else Prefilter.confirm(nominated, seen)
    comments = _comment_keys(text) if filename.endswith((".yaml", ".yml")) and "kb:" in text else None
    hits: set[SecretHit] = set()
    for secret in _detect(plugins, seen, numbers, filename):
        line = lines[secret.line_number - 1]
        start, end = _extent(line, secret.secret_value or "")
        keys = _suppressed_keys(line) if comments is None else comments.get(secret.line_number, frozenset())
        hits.add(SecretHit(secret.line_number, start + 1, end + 1, secret.type, line[start:end], keys))
    return sorted(hits, key=lambda h: (h.line, h.column, h.kind))


def _detect(plugins: list, lines: list[str], numbers: list[int], filename: str):
    """detect-secrets' line scan (core.scan._process_line_based_plugins) on the given line
    numbers, each judged with the file's own lines around it as context, as its scan_file does:
    line filters, every plugin, then its secret and context filters."""
    from detect_secrets.core.scan import _is_filtered_out, _scan_line
    from detect_secrets.util.code_snippet import get_code_snippet

    for number in numbers:
        line = lines[number - 1].rstrip()
        context = get_code_snippet(lines=lines, line_number=number)
        if _is_filtered_out(required_filter_parameters=["line"], filename=filename, line=line, context=context):
            continue
        for plugin in plugins:
            for secret in _scan_line(plugin=plugin, filename=filename, line=line, line_number=number, context=context):
                if not _is_filtered_out(
                    required_filter_parameters=["context"],
                    filename=secret.filename,
                    secret=secret.secret_value,
                    plugin=plugin,
                    line=line,
                    context=context,
                ):
                    yield secret


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
    """`text` with every secret value replaced, in any spelling a browser shows as the value:
    as written, HTML-escaped, or with any character written as a character reference
    (`AKIA&#x49;OSF...` in Markdown reaches the page as it is and reads as the key)."""
    import html as html_module

    for value in sorted(values, key=len, reverse=True):
        if len(value) < 4:
            continue  # too short to replace safely; never produced by a token detector
        text = text.replace(value, REDACTED)
        if html:
            text = text.replace(html_module.escape(value), REDACTED)
            text = text.replace(html_module.escape(value, quote=False), REDACTED)
        if "&" in text:
            text = _spelled(value).sub(REDACTED, text)
    return text


@lru_cache(maxsize=1024)
def _spelled(value: str) -> re.Pattern[str]:
    """`value` with each character as itself, its HTML escape or a numeric reference."""
    import html as html_module

    parts = []
    for char in value:
        code = ord(char)
        options = {re.escape(char), re.escape(html_module.escape(char))}
        options.add(f"&#0*{code};")
        options.add(f"&#[xX]0*(?:{code:x}|{code:X});")
        parts.append("(?:" + "|".join(sorted(options)) + ")")
    return re.compile("".join(parts))


_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_references(text: str) -> str:
    """`text` with the character references a browser would show as a visible character
    decoded (`&#x49;` is `I`); those that would make a line break or a space stay as written,
    so lines and columns keep their numbers."""
    import html as html_module

    def one(match: re.Match[str]) -> str:
        char = html_module.unescape(match.group())
        return char if len(char) == 1 and char.isprintable() and not char.isspace() else match.group()

    return _REFERENCE.sub(one, text) if "&" in text else text


def scan_published_text(raw: bytes, filename: str) -> list[SecretHit]:
    """`scan` of a Markdown or HTML page as written and as a browser shows it: a key written
    with character references (`AKIA&#x49;OSF...`) is found at its line too."""
    hits = scan(raw, filename)
    text = raw.decode("utf-8", errors="replace")
    decoded = decode_references(text)
    if decoded == text:
        return hits
    seen = {(hit.line, hit.value) for hit in hits}
    return sorted(
        [*hits, *(hit for hit in scan(decoded, filename) if (hit.line, hit.value) not in seen)],
        key=lambda h: (h.line, h.column, h.kind),
    )


REDACTED = "[secret removed by kb]"


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


def scan_rewritten(
    text: str, rewritten: list[Rewritten], filename: str = "file.yaml", known: frozenset[str] = frozenset()
) -> list[SecretHit]:
    """Credentials that only the decoded strings show (see scan_decoded), from the strings the
    YAML builder saw rewritten (kb.core.yamlio.Rewritten: quoted, block or folded), each
    placed at its own node. The same hits as scan_decoded, without walking every value or
    composing the file again: a string written as itself is a run of the text `scan` read.
    The strings are first proven clean together: their lines go through the prefilter as one
    text, and only a string with a line some plugin's regex matches is scanned on its own."""
    hidden = [item for item in rewritten if len(item[0]) >= 8 and not _written_in(text, item)]
    if not hidden:
        return []
    suspects = _suspects([value for value, _ in hidden], filename)
    found = []
    for index in suspects:
        item = hidden[index]
        for hit in scan(item[0], filename):
            if hit.value not in known:
                found.append((rewritten_span(item), hit))
    if not found:
        return []
    lines = text.splitlines()
    hits = []
    for span, hit in found:
        own = lines[span.line - 1 : max(span.end_line, span.line)]
        keys = frozenset().union(*(_suppressed_keys(line) for line in own))
        hits.append(SecretHit(span.line, span.column, span.end_column, hit.kind, hit.value, keys))
    return sorted(set(hits), key=lambda h: (h.line, h.column, h.kind))


def _written_in(text: str, item: Rewritten) -> bool:
    """`item`'s string is in `text`: looked for first where its node is written (most quoted
    strings are, between their quotes), then in the whole text."""
    value, node = item
    start = max(node.start_mark.index - 1, 0)  # a window that misses only costs the whole search
    return text.find(value, start, node.end_mark.index + 1) >= 0 or value in text


def _suspects(values: list[str], filename: str) -> list[int]:
    """The indexes of the values some plugin could report on, by `scan`'s own prefilter over
    their lines together: each value's lines are lines of the joined text, and the prefilter
    and its confirmation judge one line at a time."""
    texts = [value.lstrip("\ufeff") for value in values]  # as scan() reads each one
    owner: list[int] = []
    lines: list[str] = []
    for index, value in enumerate(texts):
        own = value.splitlines() or [""]
        lines += own
        owner += [index] * len(own)
    joined = "\n".join(lines)
    _configure_detect_secrets()
    from detect_secrets.settings import get_plugins

    nominated = prefilter_for(get_plugins(), filename).nominate(joined, lines)
    if nominated is None:
        return list(range(len(values)))  # a plugin kb cannot read: every value goes to scan()
    if not nominated:
        return []
    seen = [SUPPRESSION.sub(lambda m: " " * len(m.group()), line) for line in lines] if "kb:" in joined else lines
    return sorted({owner[number - 1] for number in Prefilter.confirm(nominated, seen)})


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
