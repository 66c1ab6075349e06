"""kb's cache: outside the tracked files, keyed by content and kb's version, never trusted blindly.

A cache entry that cannot be read, has another kb version, or does not match the files'
stat is rebuilt; the cache can make kb faster, never give a different answer.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from kb import __version__
from kb.core.atomic import write_atomic


def cache_dir(root: Path) -> Path:
    configured = os.environ.get("KB_CACHE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return base / digest


def read(root: Path, name: str) -> dict[str, Any] | None:
    path = cache_dir(root) / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kb_version") != __version__:
        return None
    return data


def write(root: Path, name: str, data: dict[str, Any]) -> None:
    try:
        write_atomic(cache_dir(root) / name, json.dumps({**data, "kb_version": __version__}, separators=(",", ":")))
    except OSError:
        pass  # a read-only home or full disk costs speed, never correctness


def read_bytes(root: Path, name: str) -> bytes | None:
    try:
        return (cache_dir(root) / name).read_bytes()
    except OSError:
        return None


def write_bytes(root: Path, name: str, data: bytes) -> None:
    try:
        write_atomic(cache_dir(root) / name, data, compare=False)
    except OSError:
        pass  # as in write(): speed, never correctness
