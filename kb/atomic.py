"""Writes that never leave half a file: a temp file in the same folder, fsync, rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, *, exclusive: bool = False, compare: bool = True) -> bool:
    """Write `data` to `path` atomically; returns False when the content was already there.

    `compare=False` skips reading the old content first (a cache file that is rewritten anyway).
    With `exclusive`, an existing file is never replaced (FileExistsError): the final step
    is a hard link, which fails instead of overwriting, so two writers cannot clobber each
    other's new file.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if compare and not exclusive and path.is_file() and path.read_bytes() == payload:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kbtmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists() and path.is_file():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        if exclusive:
            os.link(tmp, path)  # raises FileExistsError rather than replace
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True
