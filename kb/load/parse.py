"""One file's bytes to plain values: secrets found, YAML built. No model, no pydantic, so a
helper process can do it (kb.load.parallel) and send the result back with marshal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.core import yamlio
from kb.core.diagnostics import Finding, LoadProblem, Span
from kb.load.records import Stat
from kb.load.secrets import RULE_CODE, SecretHit, scan, scan_rewritten


@dataclass
class Parsed:
    stat: Stat | None
    digest: str | None
    raw_flags: tuple[bool, bool]  # (may hold a `kb: ignore[...]`: mentions `kb:`, mentions todo)
    data: dict[str, Any] | None
    findings: list[Finding]
    secret_hits: tuple[tuple[str, frozenset[str]], ...]

    def to_plain(self, rel: str) -> tuple:
        return (
            rel,
            self.stat,
            self.digest,
            self.raw_flags,
            self.data,
            [f.to_plain() for f in self.findings],
            [(value, sorted(keys)) for value, keys in self.secret_hits],
        )

    @classmethod
    def from_plain(cls, item: tuple) -> tuple[str, Parsed]:
        rel, stat, digest, flags, data, findings, secrets = item
        if not isinstance(rel, str) or not (data is None or isinstance(data, dict)):
            raise TypeError("parsed")
        hits = tuple((str(value), frozenset(map(str, keys))) for value, keys in secrets)
        return rel, cls(
            stat, digest, (bool(flags[0]), bool(flags[1])), data, [Finding.from_plain(f) for f in findings], hits
        )


def parse_document(rel: str, raw: bytes, max_bytes: int, stat: Stat | None, digest: str | None) -> Parsed:
    found, hits = secret_findings(rel, raw)
    rewritten: list[yamlio.Rewritten] = []
    try:
        data = yamlio.load_mapping(raw, max_bytes, rewritten=rewritten)
    except yamlio.YamlProblem as problem:
        data = None
        found.append(Finding(rel, problem.message, span=problem.span, problem=LoadProblem.YAML))
    if data is not None and rewritten:
        hidden = scan_rewritten(
            raw.decode("utf-8", errors="replace").lstrip("\ufeff"), rewritten, rel, frozenset(v for v, _ in hits)
        )
        found += [_secret_finding(rel, hit) for hit in hidden]
        hits += tuple((hit.value, hit.keys) for hit in hidden)
    return Parsed(stat, digest, (b"kb:" in raw, b"todo" in raw.lower()), data, found, hits)


def secret_findings(rel: str, raw: bytes) -> tuple[list[Finding], tuple[tuple[str, frozenset[str]], ...]]:
    """A finding for each credential in `raw`, and the (value, allowlist keys) pairs to keep
    off every page; a message never holds the value."""
    hits = scan(raw, rel)
    return [_secret_finding(rel, hit) for hit in hits], tuple((hit.value, hit.keys) for hit in hits)


def _secret_finding(rel: str, hit: SecretHit) -> Finding:
    return Finding(
        rel,
        secret_message(hit.kind),
        span=Span(hit.line, hit.column, hit.line, max(hit.end_column, hit.column + 1)),
        problem=LoadProblem.SECRET,
    )


def secret_message(kind: str) -> str:
    return (
        f"a credential ({kind}) is pasted here: remove it, rotate it, and reference the secret store "
        "instead; if it is not a credential, say so with `# kb: ignore[" + RULE_CODE + "]` on this line"
    )
