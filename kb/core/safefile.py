"""The one way kb opens a file to read it: regular files only, and never more than a bound.

A FIFO would block the reader forever, a device (`/dev/zero`, `/dev/urandom`) never ends,
a socket cannot be read, and a directory named `x.yaml` is not a file: each is refused with
`NotRegularFile` before a byte is read (the kind is checked with stat before opening and
again with fstat on the open descriptor, which is opened non-blocking so that even a FIFO
swapped in between cannot hang). A regular file larger than the bound is refused with
`TooLarge` without reading it. Both are OSErrors naming the file, so callers that already
report unreadable files report these too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from kb.core.paths import confine, inside

DEFAULT_LIMIT = 64 << 20  # nothing kb reads (YAML, Markdown, rule files, templates) comes near this


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class NotRegularFile(OSError):
    def __init__(self, path: Path | str, kind: str):
        super().__init__(errno.EINVAL, f"{kind}, not a regular file: kb never opens it", str(path))
        self.kind = kind


class TooLarge(OSError):
    def __init__(self, path: Path | str, size: int, limit: int):
        super().__init__(
            errno.EFBIG,
            f"{size:,} bytes, over kb's limit of {limit:,} (max_file_bytes in mkdocs.yml); not read",
            str(path),
        )
        self.size = size
        self.limit = limit


def read_bytes(path: Path | str, limit: int = DEFAULT_LIMIT) -> bytes:
    """The content of the regular file at `path` (links followed), at most `limit` bytes."""
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        kind = kind_of(info.st_mode)
        if kind is not None:  # swapped between the stat and the open
            raise NotRegularFile(path, kind)
        if info.st_size > limit:
            raise TooLarge(path, info.st_size, limit)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # a file growing while read
                raise TooLarge(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_head(path: Path | str, size: int) -> bytes:
    """The first `size` bytes of the regular file at `path` (links followed), whatever its length."""
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = kind_of(os.fstat(fd).st_mode)  # swapped for a FIFO between the two looks
        if kind is not None:
            raise NotRegularFile(path, kind)
        chunks, left = [], size
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path | str, limit: int = DEFAULT_LIMIT) -> str:
    return read_bytes(path, limit).decode("utf-8", errors="replace")


def read_inside(root: Path | str, rel: str, limit: int = DEFAULT_LIMIT) -> bytes:
    """`rel` under `root`, confined to the KB (kb.core.paths.OutsideKB) and read safely."""
    return read_bytes(confine(root, rel), limit)


def is_regular(path: Path | str) -> bool:
    """A regular file (links followed) that kb may read; False for anything else or an error."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def describe(exc: BaseException) -> str:
    """An OSError as `what happened`, without the path (the caller names the file)."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def read_named(root: Path, rel: str, limit: int = DEFAULT_LIMIT) -> tuple[bytes | None, str | None]:
    """A file that a KB file names (a schedule, a membership export): its bytes, or None and
    why not: outside the KB, not a regular file, over `limit`, unreadable."""
    path = inside(root, rel)
    if path is None:
        return None, f"{rel} resolves outside the knowledge base"
    try:  # a regular file only (a FIFO would block for ever), bounded
        return read_bytes(path, limit), None
    except OSError as exc:
        return None, f"cannot read {rel}: {describe(exc)}"
