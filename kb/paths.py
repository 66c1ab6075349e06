"""Paths from YAML or flags never leave the knowledge base."""

from __future__ import annotations

from pathlib import Path


def inside(root: Path, relative: str) -> Path | None:
    """`relative` resolved under `root`, or None when it escapes it (.., absolute, NUL, links out)."""
    if not relative or "\0" in relative or relative.startswith(("/", "\\")) or ":" in relative.split("/")[0]:
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        return None
    return target
