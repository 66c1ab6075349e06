from pathlib import Path

from kb.core.diagnostics import Finding, Level, Span
from kb.rules.base import Rule


class DocsDirMissing(Rule):
    """The docs folder mkdocs.yml names (default `docs`) is missing: `mkdocs build` stops before kb runs.

    Why: MkDocs checks that `docs_dir` is a folder before it loads any plugin, and it stops
    at the first configuration error: "Config value 'docs_dir': The path ... isn't an
    existing directory". No plugin can prevent that. The knowledge base's layout needs no
    docs folder, and `kb site build` (every generator) builds without one; `mkdocs build`,
    `properdocs build` and `kb site serve` need the folder to exist, even empty.

    Bad:

    ```yaml
    # mkdocs.yml, in a KB with no docs/ folder
    site_name: Agent operations
    plugins:
      - kb
    ```

    Good:

    ```yaml
    # mkdocs.yml, beside an (empty) docs/ folder: mkdir docs
    site_name: Agent operations
    docs_dir: docs
    plugins:
      - kb
    ```
    """

    code = "KB104"
    name = "config/docs-dir-missing"
    level = Level.INFO

    def check(self, ctx, options):
        docs_dir = ctx.kb.config.docs_dir
        folder = Path(docs_dir) if Path(docs_dir).is_absolute() else ctx.root / docs_dir
        if folder.is_dir():
            return
        message = (
            f"docs_dir '{docs_dir}' is not a folder: mkdocs build and properdocs build stop before the kb plugin runs;"
            f" create it (mkdir {docs_dir}; it may stay empty) or build with `kb site build`"
        )
        if ctx.kb.config.docs_dir_written:
            yield Finding("mkdocs.yml", message, loc=("docs_dir",))
        else:
            yield Finding("mkdocs.yml", message, span=Span(1, 1, 1, 2))
