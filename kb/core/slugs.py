"""Safe slugs and ids from anything a person types."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG = 60


def slugify(title: str, fallback: str = "incident", max_length: int = MAX_SLUG) -> str:
    """ASCII, lowercase, words joined by '-': no slashes, dots, NULs or look-alike letters."""
    text = unicodedata.normalize("NFKD", title or "")
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:max_length]
    return slug or fallback
