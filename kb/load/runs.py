"""runs/*.jsonl: the run logs `kb run` writes, read line by line.

Plain JSON Lines, no cache: a run log is small and read whole. A line that is not JSON, not
an object or not a valid event is a load finding at that line (LoadProblem.RUN_LOG); the
line is still kept (its raw bytes) so that the hash chain of the lines after it can be
judged. A last line without its newline is a write that never finished.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from kb.core import safefile
from kb.core.diagnostics import Finding, LoadProblem, Span
from kb.core.paths import inside
from kb.model.run import RunEvent

MAX_LOG_BYTES = 64 << 20  # a worklist of many thousand items still fits; a runaway file does not


@dataclass
class RunLine:
    number: int  # 1-based line number in the file
    raw: bytes  # without the newline
    event: RunEvent | None = None

    @property
    def digest(self) -> str:
        return line_digest(self.raw)


@dataclass
class RunLog:
    path: str  # relative to the KB root, forward slashes
    lines: list[RunLine] = field(default_factory=list)
    torn: bool = False  # the last line has no newline: its write did not finish

    @property
    def stem(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".jsonl")

    @property
    def events(self) -> list[RunEvent]:
        return [line.event for line in self.lines if line.event is not None]

    def line_of(self, event: RunEvent) -> RunLine:
        return next(line for line in self.lines if line.event is event)

    def finding(self, line: RunLine, message: str, key: str | None = None) -> Finding:
        """A finding on one line (on its `"key":` member when given); rules set the code."""
        return Finding(self.path, message, span=line_span(line.raw, line.number, key))


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique: two `approver`s on one line are two answers."""
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def line_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def line_span(raw: bytes, number: int, key: str | None = None) -> Span:
    """The whole line, or the `"key":` member of it when the line has one."""
    text = raw.decode("utf-8", errors="replace")
    if key is not None:
        at = text.find(f'"{key}"')
        if at >= 0:
            return Span(number, at + 1, number, at + len(key) + 3)
    return Span(number, 1, number, max(len(text), 1) + 1)


def chain_breaks(log: RunLog) -> Iterator[tuple[RunLine, str, str]]:
    """Where the log's hash chain breaks (KB802's check, and what kb run, kb card drilled and
    --from-run refuse a log for): (line, message, the key at fault). Each line's `seq` is its
    index from 0 and its `prev` the SHA-256 of the line before it (null on the first)."""
    previous = None
    for index, line in enumerate(log.lines):
        event = line.event
        if event is not None:
            if event.seq != index:
                yield line, f"seq is {event.seq}, but this is line {index} (from 0)", "seq"
            expected = previous.digest if previous is not None else None
            if event.prev != expected:
                what = "null on the first line" if expected is None else f"the SHA-256 of line {index}"
                yield line, f"prev is not {what}: an earlier line was changed or removed", "prev"
        previous = line


def integrity_problem(log: RunLog) -> str | None:
    """Why the log is not evidence (a line that is not an event, a broken hash chain), or None."""
    for line in log.lines:
        if line.event is None and not (log.torn and line is log.lines[-1]):
            return f"{log.path} fails its integrity check: line {line.number} is not a run event; kb check {log.path}"
    for line, message, _key in chain_breaks(log):
        return (
            f"{log.path} fails its integrity check at line {line.number} ({message}); restore it from git "
            f"(kb check {log.path})"
        )
    return None


def parse_log(rel: str, raw: bytes) -> tuple[RunLog, list[Finding]]:
    log = RunLog(rel)
    findings: list[Finding] = []
    if not raw:
        return log, [Finding(rel, "an empty run log: a run begins with its start line", problem=LoadProblem.RUN_LOG)]
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    elif chunks:
        log.torn = True
    for number, chunk in enumerate(chunks, start=1):
        line = RunLine(number, chunk)
        log.lines.append(line)
        problem, key = _event_of(line)
        if problem is not None:
            findings.append(Finding(rel, problem, span=line_span(chunk, number, key), problem=LoadProblem.RUN_LOG))
    if log.torn:
        last = log.lines[-1]
        findings.append(
            Finding(
                rel,
                "the last line has no newline: its write did not finish (kb run --resume drops it)",
                span=line_span(last.raw, last.number),
                problem=LoadProblem.RUN_LOG,
            )
        )
    return log, findings


def _event_of(line: RunLine) -> tuple[str | None, str | None]:
    """Parse one line into line.event; returns (problem, key the problem is about)."""
    try:
        value = json.loads(line.raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        return "the line is not UTF-8", None
    except DuplicateKey as exc:
        return f"'{exc.key}' appears twice on the line: which one holds?", exc.key
    except json.JSONDecodeError as exc:
        return f"not a JSON object: {exc.msg} at character {exc.colno}", None
    except RecursionError:
        return "not a JSON object: nested too deeply", None
    if not isinstance(value, dict):
        return "not a JSON object", None
    try:
        line.event = RunEvent.model_validate_json(line.raw)  # strict JSON types; the keys are unique
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [str(part) for part in error["loc"]]
        key = loc[0] if loc else None
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            return f"unknown field '{key}'", key
        if error["type"] == "missing":
            return f"missing field '{key}'", None
        return (f"{key}: {message}" if key else message), key
    return None, None


def read_log(root: Path, rel: str) -> tuple[RunLog | None, list[Finding]]:
    """The log at `rel`, or None with a finding when it cannot be read."""
    path = os.path.join(root, rel)
    try:  # a regular file only (a FIFO would block for ever), bounded
        raw = safefile.read_bytes(path, MAX_LOG_BYTES)
    except OSError as exc:
        return None, [Finding(rel, f"cannot read the file: {safefile.describe(exc)}", problem=LoadProblem.RUN_LOG)]
    return parse_log(rel, raw)


def log_names(root: Path, runs_dir: str) -> list[str]:
    """Paths (relative, forward slashes) of the run logs under runs_dir, sorted; symlinks that
    leave the KB are never read (KB102 reports them for YAML; a run log is skipped)."""
    folder = runs_dir.strip("/")
    base = inside(root, folder)
    if base is None or not base.is_dir():
        return []
    names = sorted(name for name in os.listdir(base) if name.endswith(".jsonl") and not name.startswith("."))
    rels = [f"{folder}/{name}" for name in names]
    return [rel for rel in rels if not os.path.islink(os.path.join(root, rel)) or inside(root, rel) is not None]


def load_runs(root: Path, runs_dir: str) -> tuple[list[RunLog], list[Finding]]:
    logs: list[RunLog] = []
    findings: list[Finding] = []
    for rel in log_names(root, runs_dir):
        log, found = read_log(root, rel)
        findings += found
        if log is not None:
            logs.append(log)
    return logs, findings
