"""A per-KB lock so that two `kb new` at once never pick the same id."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def kb_lock(root: Path, name: str = "new") -> Iterator[None]:
    # flock is released by the kernel when the process dies, even on SIGKILL: no stale lock
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"kb-{name}-{digest}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
