"""Reference pages: the KB's Markdown references as written (cards link to their sections)."""

from __future__ import annotations

from kb.core import safefile
from kb.core.paths import confine
from kb.site.pages.base import Page, Site


def reference_files(site: Site) -> set[str]:
    """Every Markdown file under the references folder, relative to the KB root (no symlinks,
    none over max_file_bytes)."""
    kb = site.kb
    folder = kb.root / kb.settings.references_dir
    if not folder.is_dir():
        return set()
    return {
        p.relative_to(kb.root).as_posix()
        for p in folder.rglob("*.md")
        if p.is_file() and not p.is_symlink() and p.stat().st_size <= kb.settings.max_file_bytes
    }


def pages(site: Site) -> list[Page]:
    result = []
    for rel in sorted(reference_files(site)):
        text = safefile.read_text(confine(site.kb.root, rel))
        result.append(Page(rel, text, rel))
    return result
