"""One Markdown understanding for every reader of the KB's Markdown: the Python-Markdown that
MkDocs runs, with the extensions MkDocs always enables (its MarkdownExtensions builtins: toc,
tables, fenced_code) and the KB's own `markdown_extensions` from mkdocs.yml.

Heading anchors (KB134) and router links (which lines route to a card) are read through it,
so a heading inside a fenced code block, or a link inside an HTML comment or an indented code
block, counts exactly when the site renders it.

Extensions are built from their modules, not looked up by entry point: Python-Markdown's
entry-point scan reads every installed package's metadata (a tenth of a second per process).
"""

from __future__ import annotations

import importlib
from typing import Any

MKDOCS_BUILTINS = ("toc", "tables", "fenced_code")  # mkdocs.config.defaults: MarkdownExtensions(builtins=...)


def entries(markdown_extensions: list[Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """(name, options) of each extension, MkDocs' builtins first, each name once (the KB's
    options win, as in MkDocs)."""
    found: dict[str, dict[str, Any]] = {name: {} for name in MKDOCS_BUILTINS}
    for entry in markdown_extensions or []:
        options: Any
        if isinstance(entry, str):
            name, options = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, options = next(iter(entry.items()))
        else:
            continue  # MkDocs refuses it; kb check reports the config
        if not isinstance(name, str):
            continue
        name = name.removeprefix("markdown.extensions.")
        found[name] = dict(options) if isinstance(options, dict) else {}
    return list(found.items())


# Extensions that read other files while they render (pymdownx.snippets pulls `--8<--` files
# from a base path relative to the working folder; b64 inlines images). A page's meaning then
# depends on files no cache lists, so kb caches nothing about it (outside review).
FILE_READERS = ("pymdownx.snippets", "pymdownx.b64")


def reads_files(markdown_extensions: list[Any] | None) -> bool:
    """Whether rendering may read files other than the page: a known file reader, or an
    extension that is neither Python-Markdown's own nor PyMdown's (kb cannot tell what it reads)."""
    for name, _ in entries(markdown_extensions):
        module = name.partition(":")[0]
        if module in FILE_READERS:
            return True
        if "." in module and not module.startswith(("markdown.extensions.", "pymdownx.")):
            return True
    return False


def _extension(name: str, options: dict[str, Any]) -> Any:
    module_name, _, class_name = name.partition(":")
    if "." not in module_name:
        module_name = f"markdown.extensions.{module_name}"
    module = importlib.import_module(module_name)
    if class_name:
        return getattr(module, class_name)(**options)
    return module.makeExtension(**options)


PROBE = "# a {: #b }\n\n```\n# c\n```\n\n- [d](e)\n\n    f\n"  # headings, code, a list: what kb reads


def build(markdown_extensions: list[Any] | None, overrides: dict[str, dict[str, Any]] | None = None) -> Any:
    """A markdown.Markdown with MkDocs' builtins and the KB's extensions; `overrides` replaces
    an extension's options (anchors pass toc options they have made safe to use). An
    extension that is not installed, or that fails with the options kb can read (a
    `!!python/name:` option is a name here, not the object MkDocs imports), is left out: the
    site build reports a broken one, and kb reads the page with the rest."""
    import markdown

    extensions = []
    for name, options in entries(markdown_extensions):
        if overrides and name in overrides:
            options = overrides[name]
        elif name == "toc":
            options = {k: v for k, v in options.items() if k in ("separator", "baselevel", "toc_depth")}
        try:
            extensions.append(_extension(name, options))
        except Exception:  # noqa: BLE001 - any failure of a third-party extension: read without it
            continue
    try:
        md = markdown.Markdown(extensions=extensions)
        md.convert(PROBE)
    except Exception:  # noqa: BLE001 - one extension fails on real text: keep those that do not
        working = []
        for extension in extensions:
            try:
                markdown.Markdown(extensions=[extension]).convert(PROBE)
                working.append(extension)
            except Exception:  # noqa: BLE001
                continue
        md = markdown.Markdown(extensions=working)
    md.reset()
    return md
