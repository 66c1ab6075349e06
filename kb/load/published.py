"""What the site would publish besides the YAML, and the credentials in it."""

from __future__ import annotations

from kb.core import safefile
from kb.load.knowledge_base import KnowledgeBase
from kb.load.router import published_text_files, router_for
from kb.load.secrets import scan_published_text


def published_secrets(kb: KnowledgeBase, allow_keys: frozenset[str]) -> frozenset[str]:
    """Every credential the site could publish that is not allowlisted: in the documents
    (found while loading), the router pages and the references."""
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
    return frozenset(values)
