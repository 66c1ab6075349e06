"""A cold load on two cores: a forked helper reads and parses part of a large folder.

Parsing YAML is most of a cold check (at 10,000 cards, 10 of 15 s), and one process uses
one core. For a folder of at least MIN_FILES files that all need reading, a child forked
from kb reads, scans for secrets and parses the last HELPER_SHARE of them while kb does the
rest; kb then validates every value against the model itself (pydantic objects do not
cross processes cheaply, and validation is a fifth of the parse). The child sends plain
values with marshal, which never runs code. Findings are added in file order, so the output
is the same as a load in one process.

Anything unusual means no helper, never a different answer: no fork (Windows), one core,
other threads running (a fork copies only the calling thread, and a lock another thread
holds would never be released in the child), KB_JOBS=1, or a helper that fails or dies (its
files are then read by kb itself).
"""

from __future__ import annotations

import marshal
import os
import threading
from collections.abc import Callable
from pathlib import Path

from kb.core import safefile
from kb.load.parse import Parsed
from kb.load.records import Stat, file_digest, file_stat

_NONE = marshal.dumps(None)

MIN_FILES = 2000
HELPER_SHARE = 0.55  # kb also validates every file, so the helper parses a little more than half

Parse = Callable[[str, bytes, "Stat | None", "str | None"], Parsed]


def helper_allowed() -> bool:
    """Whether kb may fork a helper process now (see the module docstring); other modules'
    helpers (kb.analysis.schedule's parse workers) ask the same question."""
    return _helper_allowed()


def _helper_allowed() -> bool:
    if not hasattr(os, "fork") or os.environ.get("KB_JOBS") == "1":
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores >= 2 and threading.active_count() == 1


class Prefetch:
    """`take(rel)` gives the helper's reading of `rel`, or None when kb reads it itself."""

    def __init__(
        self, root: Path, rels: list[str], parse: Parse, recording: bool, max_bytes: int = safefile.DEFAULT_LIMIT
    ):
        self.root = root
        self.max_bytes = max_bytes
        self.parse = parse
        self.recording = recording
        self.pid: int | None = None
        self.fd: int | None = None
        self.helper_rels: set[str] = set()
        self.results: Received | None = None
        if len(rels) >= MIN_FILES and _helper_allowed():
            share = rels[int(len(rels) * (1 - HELPER_SHARE)) :]
            self._start(share)

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._collect()  # never leave a child or a pipe behind, whatever happened

    def take(self, rel: str) -> Parsed | None:
        if rel not in self.helper_rels:
            return None
        if self.results is None:
            self._collect()
        return self.results.pop(rel, None) if self.results else None

    def _start(self, rels: list[str]) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the helper
            code = 1
            try:
                os.close(read_end)
                # each file's reading marshalled as soon as it is made: the helper holds the
                # bytes to send, never every file's values as well
                payload, count = bytearray(), 0
                for rel in rels:
                    item = marshal.dumps(self._parse_plain(rel))
                    payload += len(item).to_bytes(4, "little")
                    payload += item
                    count += item != _NONE
                for part in (count.to_bytes(4, "little"), payload):
                    view = memoryview(part)
                    while view:
                        view = view[os.write(write_end, view) :]
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(write_end)
        self.pid, self.fd, self.helper_rels = pid, read_end, set(rels)

    def _collect(self) -> None:
        if self.pid is None or self.fd is None:
            return
        received = bytearray()
        try:
            while chunk := os.read(self.fd, 1 << 20):
                received += chunk
        finally:
            os.close(self.fd)
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
        self.results = Received(received) if os.waitstatus_to_exitcode(status) == 0 else Received(bytearray())

    def _parse_plain(self, rel: str) -> tuple | None:
        path = os.path.join(self.root, rel)
        stat = file_stat(path) if self.recording else None  # before reading, as kb does: never newer than the content
        try:
            raw = safefile.read_bytes(path, self.max_bytes)
        except OSError:
            return None  # kb reads it again and reports why it cannot
        digest = file_digest(raw) if self.recording else None
        return self.parse(rel, raw, stat, digest).to_plain(rel)


class Received:
    """The helper's readings, each decoded only when kb takes it: kb holds the helper's bytes,
    never every file's values at once (the values of half a folder were a fifth of a cold
    check's peak memory). The stream is a count, then per file a 4-byte length and the
    marshal of Parsed.to_plain() (or of None: kb reads that file itself). A stream that does
    not decode ends there: kb reads the rest itself."""

    def __init__(self, data: bytearray):
        self.data: bytearray | None = data
        self.offset = 4
        self.count = int.from_bytes(data[:4], "little") if len(data) >= 4 else 0
        self.ahead: dict[str, Parsed] = {}  # decoded on the way to a file taken out of order

    def __len__(self) -> int:
        """How many files the helper read."""
        return self.count

    def pop(self, rel: str, default: None = None) -> Parsed | None:
        if rel in self.ahead:
            return self.ahead.pop(rel)
        while self.data is not None:
            item = self._next()
            if item is not None:
                if item[0] == rel:
                    return item[1]
                self.ahead[item[0]] = item[1]
        return default

    def _next(self) -> tuple[str, Parsed] | None:
        data, start = self.data, self.offset + 4
        assert data is not None
        size = int.from_bytes(data[self.offset : start], "little")
        if start + size > len(data):
            self.data = None  # the end, or a stream cut short
            return None
        self.offset = start + size
        try:
            with memoryview(data) as view, view[start : self.offset] as part:
                plain = marshal.loads(part)
            return Parsed.from_plain(plain) if plain is not None else None
        except (ValueError, TypeError, EOFError):
            self.data = None
            return None
