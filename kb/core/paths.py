"""Paths from YAML or flags never leave the knowledge base."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def inside(root: Path, relative: str) -> Path | None:
    """`relative` resolved under `root`, or None when it escapes it (.., absolute, NUL, links out).
    Memoised: thousands of cards link the same few reference pages."""
    return _inside(root, relative)


@lru_cache(maxsize=65536)
def _inside(root: Path, relative: str) -> Path | None:
    if not relative or "\0" in relative or relative.startswith(("/", "\\")) or ":" in relative.split("/")[0]:
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        return None
    return target
