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
        self.results: dict[str, Parsed] | None = None
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
                payload = marshal.dumps([self._parse_plain(rel) for rel in rels])
                view = memoryview(payload)
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
        chunks = []
        try:
            while chunk := os.read(self.fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(self.fd)
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
        self.results = {}
        if os.waitstatus_to_exitcode(status) == 0:
            try:
                self.results = dict(
                    Parsed.from_plain(item) for item in marshal.loads(b"".join(chunks)) if item is not None
                )
            except (ValueError, TypeError, EOFError):
                self.results = {}  # kb reads these files itself

    def _parse_plain(self, rel: str) -> tuple | None:
        path = os.path.join(self.root, rel)
        stat = file_stat(path) if self.recording else None  # before reading, as kb does: never newer than the content
        try:
            raw = safefile.read_bytes(path, self.max_bytes)
        except OSError:
            return None  # kb reads it again and reports why it cannot
        digest = file_digest(raw) if self.recording else None
        return self.parse(rel, raw, stat, digest).to_plain(rel)
