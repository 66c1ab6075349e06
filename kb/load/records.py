"""What loading one file produced, as plain values: the unit a cache can keep and replay.

The loader defines these records and the small `Recorder` protocol through which a cache
(kb.cache.incremental) offers the previous run's records and takes this run's. The loader
never imports a cache: with no recorder it reads every file.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from kb.core.diagnostics import Finding
from kb.load.rulefiles import RuleFile

Stat = list[int]  # [mtime_ns, size, inode, ctime_ns]


@dataclass
class Record:
    """A card, postmortem or oncall.yaml as loaded."""

    stat: Stat | None
    digest: str
    data: bytes | None  # encode_value of the built YAML value; None when the file did not load
    valid: bool  # the value passed the model
    suppressions: bool
    has_todo: bool
    load_findings: list[Finding] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # document-scoped rules' findings, set by the engine's memo


@dataclass
class RuleFileRecord:
    stat: Stat | None
    digest: str
    rule_file: RuleFile | None  # None for YAML that is not a rule file
    load_findings: list[Finding] = field(default_factory=list)


class Recorder(Protocol):
    """Offered by a cache to the loader: the previous records and a place for the new ones."""

    @property
    def warm(self) -> bool:
        """A previous state is in use: most files will come from records (no load helper)."""
        ...

    def previous_record(self, path: str) -> Record | None: ...

    def previous_rule_file(self, path: str) -> RuleFileRecord | None: ...

    def keep(self, path: str, record: Record, fresh: bool) -> None:
        """This run's record of `path`; `fresh` when its content was read now (new or changed)."""
        ...

    def keep_rule_file(self, path: str, record: RuleFileRecord) -> None: ...


def file_stat(path: str | os.PathLike[str]) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # ctime too: an edit that puts the mtime back (cp -p, rsync -t) still moves it (outside review)
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def file_digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


MAX_VALUE = 1 << 31  # as the whole state (kb.cache.incremental.MAX_PLAIN): a bomb is refused, never built


def encode_value(value: Any) -> bytes | None:
    """A built YAML value as kept in a record: marshal, compressed. Every record stays in
    memory until the check writes its state, and compressed it is 2.2 times smaller (20 MB of
    a check's peak at 10,000 cards; level 1 costs 30 us a card, and the state's own stream
    then compresses less)."""
    return zlib.compress(marshal.dumps(value), 1) if value is not None else None


def decode_value(data: bytes) -> dict[str, Any]:
    """A recorded YAML value; only plain values pass (marshal builds no objects). A damaged
    or oversized record raises ValueError."""
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(data, MAX_VALUE)
    except zlib.error as exc:
        raise ValueError("value") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("value")  # truncated, or a bomb: never decompressed whole
    value = marshal.loads(plain)
    if not isinstance(value, dict):
        raise TypeError("value")
    return value
