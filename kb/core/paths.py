"""Paths from YAML, settings or flags never leave the knowledge base.

`confine` is the one check: every path kb reads or writes goes through it (the loader, the
router, the site, templates, and every writer through kb.core.atomic.write_inside). It
resolves symbolic links at every level, so a top-level folder that is itself a link
(`cards -> /somewhere`) is outside too. `path_problem` is the same rule for the text of a
path setting, before any file exists.
"""

from __future__ import annotations

import os
from pathlib import Path


class OutsideKB(ValueError):
    """A path that would leave the knowledge base; the message says which and where to."""

    def __init__(self, rel: str, why: str):
        super().__init__(f"{rel}: {why}")
        self.rel = rel
        self.why = why


def path_problem(rel: str) -> str | None:
    """Why the text `rel` cannot name a path inside the KB (absolute, `..` out, NUL, a drive),
    or None. No file system access: for settings and flags."""
    if not isinstance(rel, str) or not rel.strip():
        return "is empty"
    if "\0" in rel:
        return "holds a NUL byte"
    if rel.startswith(("/", "\\", "~")) or ":" in rel.split("/")[0]:
        return "is absolute: kb paths are relative to the folder of mkdocs.yml"
    depth = 0
    for part in rel.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "leaves the knowledge base ('..')"
        elif part not in ("", "."):
            depth += 1
    return None


def confine(root: Path | str, rel: str) -> Path:
    """`rel` under `root` with every symbolic link resolved; OutsideKB when it lands outside.

    Not memoised: a link may change between two calls of a long-lived process (mkdocs serve).
    A link loop stays where it is (realpath does not raise), and opening it fails with ELOOP,
    which the reader reports."""
    problem = path_problem(rel)
    if problem is not None:
        raise OutsideKB(rel, problem)
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, rel))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise OutsideKB(rel, f"resolves to {target}, outside the knowledge base")
    return Path(target)


def is_outside(root: Path | str, rel: str) -> bool:
    try:
        confine(root, rel)
    except OutsideKB:
        return True
    return False


def inside(root: Path, relative: str) -> Path | None:
    """`relative` resolved under `root`, or None when it escapes it (.., absolute, NUL, links out).

    Never memoised across calls: in a long-lived process (mkdocs serve) a folder may be
    replaced by a link between two builds, and a remembered answer would let the second
    build read through it. A caller that asks about the same path many times in one pass
    (thousands of cards linking a few reference pages) keeps its own memo for that pass
    (kb.rules.context.RuleContext.inside)."""
    try:
        return confine(root, relative)
    except OutsideKB:
        return None
