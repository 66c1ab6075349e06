"""Writing run logs (runs/<YYYY-MM-DD>-<card>-<n>.jsonl): persist first, append only.

Every event is validated, then written with one write(2) on a file opened O_APPEND, then
fsynced, before the caller does anything else: a SIGKILL, a closed laptop or a crash after
`append` returns loses nothing, and one before it loses at most that event, never a line
already written. The file is locked (flock) from reading its last line to the fsync, so two
writers at once (a person and an agent on the same run) cannot give two lines the same
`seq` or `prev`. A last line without its newline (a write that power loss cut short) was
never acknowledged to anyone: the next append cuts it off and says so, rather than chain a
hash over half a line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb.core import safefile
from kb.core.atomic import write_atomic
from kb.core.ids import card_id_problem
from kb.core.locking import kb_lock
from kb.core.paths import inside
from kb.load.runs import RunLog, integrity_problem, line_digest, parse_log
from kb.model.run import RunEvent

FIELD_ORDER = ("seq", "at", "run", "card", "actor", "event", "drill", "step", "approver", "item", "verdict")


class RunLogProblem(Exception):
    pass


@dataclass
class Appended:
    event: RunEvent
    line: bytes
    dropped_torn_tail: bool = False


def now() -> dt.datetime:
    """The local time with its offset, to the millisecond (drills are timed from these)."""
    return dt.datetime.now().astimezone()


def timestamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def encode(fields: dict[str, Any]) -> bytes:
    """One line: the common fields first, in the order FORMAT.md shows, `prev` last."""
    ordered = {key: fields[key] for key in FIELD_ORDER if key in fields}
    ordered.update({key: value for key, value in fields.items() if key not in ordered and key != "prev"})
    ordered["prev"] = fields.get("prev")
    return json.dumps(ordered, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


def _validated(fields: dict[str, Any]) -> RunEvent:
    """The event exactly as the line will read: the bytes `encode` writes, validated."""
    try:
        return RunEvent.model_validate_json(encode(fields))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        raise RunLogProblem(f"not a valid event: {where + ': ' if where else ''}{error['msg']}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def runs_folder(root: Path, runs_dir: str) -> Path:
    folder = inside(root, runs_dir.strip("/"))
    if folder is None:
        raise RunLogProblem(f"runs_dir '{runs_dir}' is outside the knowledge base")
    return folder


def start(root: Path, runs_dir: str, card: str, actor: str, drill: bool, moment: dt.datetime | None = None) -> Path:
    """A new run log with its `start` line, under the next free number for the day and card."""
    if problem := card_id_problem(card):
        raise RunLogProblem(problem)
    moment = moment or now()
    folder = runs_folder(root, runs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    day = moment.date().isoformat()
    pattern = re.compile(rf"^{re.escape(day)}-{re.escape(card)}-([1-9][0-9]*)\.jsonl$")
    with kb_lock(root, "run"):  # two starts at once: one gets the run, the other sees it open
        if open_runs := open_run_names(folder, card):
            raise RunLogProblem(f"{card} has an open run ({', '.join(open_runs)}); continue it or end it first")
        used = [int(m.group(1)) for name in os.listdir(folder) if (m := pattern.match(name))]
        number = max(used) + 1 if used else 1
        run_id = f"{day}-{card}-{number}"
        fields: dict[str, Any] = {
            "seq": 0,
            "at": timestamp(moment),
            "run": run_id,
            "card": card,
            "actor": actor,
            "event": "start",
            "drill": drill,
            "prev": None,
        }
        _validated(fields)
        path = folder / f"{run_id}.jsonl"
        try:
            # linked in whole (O_TMPFILE, fsynced, then linked): a kill never leaves an empty log
            write_atomic(path, encode(fields) + b"\n", exclusive=True)
        except FileExistsError:
            raise RunLogProblem(f"{path.name} already exists; nothing was overwritten") from None
        _fsync_folder(folder)
    return path


def _last_line(path: Path) -> bytes:
    """The last complete line of a file, reading only its tail."""
    if not safefile.is_regular(path):
        raise safefile.NotRegularFile(path, "not a regular file")
    with open(path, "rb") as handle:  # regular: cannot block; only its tail is read
        size = handle.seek(0, os.SEEK_END)
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            handle.seek(start)
            tail = handle.read(size - start)
            body = tail[: tail.rfind(b"\n")] if b"\n" in tail else b""
            if b"\n" in body or start == 0:
                return body.rsplit(b"\n", 1)[-1]
            chunk *= 4


def open_run_names(folder: Path, card: str) -> list[str]:
    """The card's run logs in `folder` whose last line is not an `end`, by name."""
    pattern = re.compile(rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}-{re.escape(card)}-[1-9][0-9]*\.jsonl$")
    found = []
    for name in sorted(os.listdir(folder)):
        if not pattern.match(name) or (folder / name).is_symlink():
            continue
        try:
            last = json.loads(_last_line(folder / name) or b"null")
        except (OSError, ValueError):
            last = None
        if not (isinstance(last, dict) and last.get("event") == "end"):
            found.append(name.removesuffix(".jsonl"))
    return found


def append(path: Path, fields: dict[str, Any], moment: dt.datetime | None = None) -> Appended:
    """Append one event (`event` and its own fields; seq, at, run, card and prev are filled
    from the log) and fsync it before returning."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        kind = safefile.kind_of(os.fstat(fd).st_mode)
        if kind is not None:  # a FIFO in runs/ would block the read below for ever
            raise safefile.NotRegularFile(path, kind)
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = _read_all(fd)
        dropped = False
        if raw and not raw.endswith(b"\n"):
            raw = raw[: raw.rfind(b"\n") + 1]
            os.ftruncate(fd, len(raw))
            dropped = True
        lines = raw.split(b"\n")[:-1]
        # the whole log is read and its chain checked under the lock: a line is never chained
        # onto a log whose earlier lines were edited (KB802), which would launder the edit
        log, _ = parse_log(path.name, raw)
        if not lines or log.lines[0].event is None or log.lines[0].event.event != "start":
            raise RunLogProblem(f"{path.name}: the first line is not a readable start event; kb check {path.name}")
        if problem := integrity_problem(log):
            raise RunLogProblem(problem)
        first = log.lines[0].event
        last = log.lines[-1]
        if last.event is not None and last.event.event == "end":
            raise RunLogProblem(f"{path.name}: the run has ended; nothing can be added after its end")
        line_fields = {
            "seq": len(lines),
            "at": timestamp(moment or now()),
            "run": first.run,
            "card": first.card,
            **{k: v for k, v in fields.items() if v is not None},
            "prev": last.digest,
        }
        event = _validated(line_fields)
        line = encode(line_fields)
        _write_all(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return Appended(event, line, dropped)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def read(path: Path, rel: str) -> RunLog:
    try:
        raw = safefile.read_bytes(path)  # a regular file, bounded
    except OSError as exc:
        raise RunLogProblem(f"cannot read {rel}: {exc.strerror}") from None
    log, _ = parse_log(rel, raw)
    return log


__all__ = ["Appended", "RunLogProblem", "append", "encode", "line_digest", "now", "read", "start", "timestamp"]
