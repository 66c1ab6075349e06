"""kb's cache: outside the tracked files, keyed by content and kb's version, never trusted blindly.

A cache entry that cannot be read, has another kb version, or does not match the files'
stat is rebuilt; the cache can make kb faster, never give a different answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

from kb import __version__
from kb.core import safefile
from kb.core.atomic import write_atomic


def code_stamp() -> list:
    """kb's own source files: a rule edited in development (same version) is a new key."""
    package = Path(__file__).resolve().parents[1]  # kb/, not kb/cache/: every rule module counts
    stamp: list[list] = []
    for path in package.rglob("*.py"):
        try:
            st = os.stat(path)
        except OSError:
            stamp.append([path.relative_to(package).as_posix()])
            continue
        stamp.append([path.relative_to(package).as_posix(), st.st_mtime_ns, st.st_size])
    return [*sorted(stamp), ["python", sys.version], ["distributions", *installed_distributions()]]


def installed_distributions() -> list[str]:
    """The name and version of every installed distribution, as their metadata folders spell
    them (`pydantic-2.13.4.dist-info`): an answer can change with a library kb leans on
    (pydantic, PyYAML, Markdown and its extensions, detect-secrets, icalendar) or with any
    Markdown extension mkdocs.yml names, so upgrading one is a new key. Listing the folders
    of sys.path costs about a millisecond; asking importlib.metadata for each would cost tens."""
    found: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip file or a missing folder on sys.path holds no metadata folder we read
        found.update(name for name in names if name.endswith((".dist-info", ".egg-info", ".egg-link")))
    return sorted(found)


def cache_dir(root: Path) -> Path:
    configured = os.environ.get("KB_CACHE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return base / digest


# Every entry starts with a checksum of the rest: a flipped bit, a truncation or a file
# written by something else is a miss (a rebuild), never a wrong answer or a crash.
MAGIC = b"kbcache1 "
MAX_ENTRY = 256 << 20


def _sealed(payload: bytes | bytearray) -> bytes | bytearray:
    head = MAGIC + hashlib.blake2b(payload, digest_size=32).hexdigest().encode() + b"\n"
    if isinstance(payload, bytearray):
        payload[:0] = head  # in place: a large entry (the check's state) is never held twice
        return payload
    return head + payload


def _unsealed(raw: bytes) -> bytes | None:
    head, _, payload = raw.partition(b"\n")
    expected = hashlib.blake2b(payload, digest_size=32).hexdigest().encode()
    if not head.startswith(MAGIC) or head[len(MAGIC) :] != expected:
        return None
    return payload


def read(root: Path, name: str) -> dict[str, Any] | None:
    raw = read_bytes(root, name)
    try:
        data = json.loads(raw.decode("utf-8")) if raw is not None else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kb_version") != __version__:
        return None
    return data


def write(root: Path, name: str, data: dict[str, Any]) -> None:
    write_bytes(root, name, json.dumps({**data, "kb_version": __version__}, separators=(",", ":")).encode("utf-8"))


def read_bytes(root: Path, name: str) -> bytes | None:
    """The entry's payload, or None when it is missing, unreadable or fails its checksum."""
    try:
        raw = safefile.read_bytes(cache_dir(root) / name, MAX_ENTRY)
    except (OSError, ValueError):
        return None
    return _unsealed(raw)


def write_bytes(root: Path, name: str, data: bytes | bytearray) -> None:
    """Store `data` (a bytearray is taken over: the entry is written from it in place)."""
    try:
        # a bytearray is written as bytes are (os.write of a memoryview)
        write_atomic(cache_dir(root) / name, cast(bytes, _sealed(data)), compare=False)
    except (OSError, ValueError):
        pass  # a read-only home or full disk costs speed, never correctness
