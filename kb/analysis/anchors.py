"""Heading anchors of a Markdown page, computed the way the site's table of contents does.

MkDocs renders headings with Python-Markdown's `toc` extension, so kb asks that same
extension (with the toc options from mkdocs.yml), alongside the extensions MkDocs always
enables and the KB's own (kb.core.markdown_render), instead of re-implementing slugify:
what `kb check` accepts is exactly what the browser can scroll to.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.core import markdown_render, safefile


def _toc_config(markdown_extensions: list[Any]) -> tuple[dict[str, Any], bool]:
    toc: dict[str, Any] = {}
    attr_list = False
    for entry in markdown_extensions:
        name, options = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()), ("", {}))
        if name in ("toc", "markdown.extensions.toc"):
            toc = dict(options or {})
        if name in ("attr_list", "markdown.extensions.attr_list"):
            attr_list = True
    config: dict[str, Any] = {}
    if "separator" in toc:
        config["separator"] = str(toc["separator"])
    slugify = toc.get("slugify")
    if callable(slugify):  # MkDocs' validated config holds the function itself
        config["slugify"] = slugify
    elif isinstance(slugify, str) and "." in slugify:
        module, _, attr = slugify.rpartition(".")
        try:
            config["slugify"] = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            pass  # the site build reports a missing slugify; anchors fall back to the default
    return config, attr_list


def _collect(tokens: list[dict[str, Any]], into: list[str]) -> None:
    for token in tokens:
        into.append(token["id"])
        _collect(token.get("children", []), into)


def anchors_of_text(text: str, markdown_extensions: list[Any] | None = None) -> list[str]:
    toc_config, _attr_list = _toc_config(markdown_extensions or [])
    # MkDocs' builtins (fenced_code: a `## line` in a code block is no heading) and the KB's extensions
    md = markdown_render.build(markdown_extensions, overrides={"toc": toc_config})
    md.convert(text)
    found: list[str] = []
    _collect(md.toc_tokens, found)
    return found


@lru_cache(maxsize=4096)
def _anchors_cached(path: str, mtime_ns: int, size: int, extensions_key: str) -> tuple[str, ...]:
    import json

    text = safefile.read_text(path)
    return tuple(anchors_of_text(text, json.loads(extensions_key)))


_seen: dict[tuple[str, str], tuple[str, ...]] = {}


def forget() -> None:
    """Called for each new load (mkdocs serve rebuilds in one process): pages may have changed."""
    _seen.clear()


def anchors_of_file(path: Path, markdown_extensions: list[Any] | None = None) -> tuple[str, ...]:
    """Anchors of a page; computed once per file and settings in a process (a check reads
    each reference page once however many cards link it), and again if the file changes."""
    import json

    key = json.dumps(markdown_extensions or [], sort_keys=True, default=str)
    seen = _seen.get((str(path), key))
    if seen is not None:
        return seen
    stat = path.stat()
    _seen[(str(path), key)] = result = _anchors_cached(str(path), stat.st_mtime_ns, stat.st_size, key)
    return result
