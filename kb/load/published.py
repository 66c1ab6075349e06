"""What the site would publish besides the YAML, and the credentials in it."""

from __future__ import annotations

from kb.core import safefile
from kb.load.exports import export_files, read_export, scan_export
from kb.load.knowledge_base import KnowledgeBase
from kb.load.router import published_text_files, router_for
from kb.load.secrets import scan_published_text


def published_secrets(kb: KnowledgeBase, allow_keys: frozenset[str]) -> frozenset[str]:
    """Every credential the site could publish that is not allowlisted: in the documents
    (found while loading), the router pages, the references, and the exports (schedules,
    memberships)."""
    values: set[str] = set()
    for doc in kb.documents():
        values |= doc.secret_values(allow_keys)
    pages = [page.path for page in router_for(kb.root, kb.settings).pages]
    for rel in published_text_files(kb.root, kb.settings.references_dir, pages, kb.settings.max_file_bytes):
        try:
            raw = safefile.read_inside(kb.root, rel)
        except (OSError, ValueError):
            continue
        values.update(hit.value for hit in scan_published_text(raw, rel) if not hit.allowed(allow_keys))
    values |= export_secrets(kb)
    return frozenset(values)


def export_secrets(kb: KnowledgeBase) -> frozenset[str]:
    """Every credential in the schedules and membership exports the KB keeps: their text
    reaches the site (the dashboard's shifts) and kb access, so it is redacted by value there."""
    values: set[str] = set()
    for rel in export_files(kb):
        raw = read_export(kb.root, rel)
        if raw is not None:
            values.update(hit.value for hit in scan_export(raw, rel))
    return frozenset(values)
