"""The `kb` MkDocs plugin: the knowledge base's pages generated from its YAML at build time.

Its options are kb's settings, validated by the same model `kb check` uses. Nothing is
written into the docs folder: every page is a generated File (router as home page, cards,
postmortems, references, indexes, dashboard, rules reference) whose edit_uri is the YAML or
Markdown it came from, so MkDocs' edit link opens the source (with Material's
content.action.edit feature). Card pages are rendered to HTML by kb (kb/site/html.py): MkDocs
gets front matter only and the plugin supplies the body and its table of contents.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from pydantic import ValidationError

from kb.config.mkdocs import normalise_site_url
from kb.config.settings import Config, Settings
from kb.load.published import published_secrets
from kb.rules import secret_allowlist
from kb.site.theme import CSS, DEFAULT_NAV, REQUIRED_EXTENSIONS, SITE_MARKER


class KbPlugin(BasePlugin):
    """Validates the `kb` entry of mkdocs.yml with kb's own Settings model, and builds the pages."""

    def load_config(self, options: dict[str, Any], config_file_path: str | None = None):
        self.config = dict(options)
        errors: list[tuple[str, Exception]] = []
        try:
            self.settings = Settings.model_validate(options)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(p) for p in error["loc"]) or "kb"
                errors.append((where, ValueError(error["msg"])))
            self.settings = Settings()
        return errors, []

    def on_config(self, config):
        from kb.load.loader import load_kb

        self.kb = load_kb(self.root(config), config=self.kb_config(config))
        self.html_bodies = {}
        self.secrets = published_secrets(self.kb, secret_allowlist().keys)
        for name in REQUIRED_EXTENSIONS:
            if name not in config.markdown_extensions:
                config.markdown_extensions.append(name)
        config.extra_css.append(CSS)
        if not config.nav:
            config.nav = list(DEFAULT_NAV)
            # the nav lists the indexes only: one INFO line per card page would flood the build's output
            config.validation.nav.omitted_files = logging.DEBUG
        config.theme["font"] = False  # system fonts whatever mkdocs.yml says: nothing loads from another host
        if self.settings.search == "pagefind":
            from mkdocs.exceptions import PluginError

            from kb.site.search import SEARCH_JS, pagefind_installed

            theirs = [name for name in config.plugins if name in ("search", "material/search")]
            if theirs:
                raise PluginError(
                    f"kb: search: pagefind replaces the theme's search: remove `{theirs[0].split('/')[-1]}`"
                    " from plugins in mkdocs.yml"
                )
            if not pagefind_installed():
                raise PluginError("kb: search: pagefind needs Pagefind: pip install 'pagefind[extended]'")
            config.extra_javascript.append(SEARCH_JS)
        return config

    def on_serve(self, server, config, builder):
        """Live reload: MkDocs watches the docs folder; kb's pages come from the KB's own files."""
        from kb.load.router import router_for

        settings, root = self.settings, self.root(config)
        watched = [
            root / settings.cards_dir,
            root / settings.postmortems_dir,
            root / settings.references_dir,
            root / settings.templates_dir,
            root / settings.runs_dir,
            root / settings.oncall,
        ]
        try:
            watched += [root / page.path for page in router_for(root, settings).pages]
        except Exception:  # noqa: BLE001 (a broken router is kb check's to report; watch its file anyway)
            watched.append(root / settings.router)
        for path in watched:
            if path.exists():
                server.watch(str(path))
        return server

    def on_post_build(self, config) -> None:
        """The site is marked as kb's (so `kb site build --out` may replace it), and with
        `search: pagefind` indexed (after every rebuild under serve)."""
        (Path(config.site_dir) / SITE_MARKER).write_text("built by kb\n", encoding="utf-8")
        if self.settings.search != "pagefind":
            return
        from mkdocs.exceptions import PluginError

        from kb.site.search import PagefindProblem, run_pagefind

        try:
            result = run_pagefind(Path(config.site_dir))
        except PagefindProblem as exc:
            raise PluginError(f"kb: {exc}") from None
        if result.returncode != 0:
            raise PluginError(
                f"kb: pagefind failed (exit {result.returncode}): {(result.stderr or result.stdout)[-500:]}"
            )

    @staticmethod
    def root(config) -> Path:
        """The KB: beside mkdocs.yml, or (kb site build, whose mkdocs.yml is a staged copy) the
        folder kb.site.build names in KB_SITE_BUILD_ROOT."""
        import os

        from kb.site.build import ROOT_ENV

        staged = os.environ.get(ROOT_ENV)
        return Path(staged).resolve() if staged else Path(config.config_file_path).resolve().parent

    def kb_config(self, config) -> Config:
        """kb's configuration from what MkDocs validated (this plugin's options, site_url and the
        Markdown extensions), so mkdocs.yml is read once, by MkDocs."""
        extensions = [
            {name: config.mdx_configs[name]} if name in config.mdx_configs else name
            for name in config.markdown_extensions
        ]
        where = next(
            (i for i, (name, _) in enumerate(config.plugins.items()) if name == "kb" or name.endswith("/kb")), None
        )
        return Config(
            root=self.root(config),
            settings=self.settings,
            site_url=normalise_site_url(config.site_url),
            markdown_extensions=extensions,
            plugin_loc=("plugins", where, "kb") if where is not None else ("plugins", "kb"),
        )

    @event_priority(50)  # before the search plugin collects files
    def on_files(self, files: Files, config) -> Files:
        from mkdocs.exceptions import PluginError

        from kb.core.templating import TemplateProblem
        from kb.site.pages import DEFAULTS, build_pages

        try:
            pages = build_pages(self.kb)
        except TemplateProblem as exc:  # a KB's own template: say where, not a traceback
            raise PluginError(f"kb: {exc}") from None
        self.html_bodies = {page.src_uri: page.html for page in pages if page.html is not None}
        # pages from Markdown a person wrote (router pages, references/): their raw HTML is sanitized
        self.written_pages = {page.src_uri for page in pages if page.edit_uri and page.edit_uri.endswith(".md")}
        for page in pages:
            existing = files.get_file_from_path(page.src_uri)
            if existing is not None:
                files.remove(existing)  # the KB's YAML is the source of truth for generated pages
            generated = File.generated(config, page.src_uri, content=page.markdown)
            if page.edit_uri:
                generated.edit_uri = page.edit_uri
            files.append(generated)
        files.append(File.generated(config, CSS, content=(DEFAULTS / "kb.css").read_text(encoding="utf-8")))
        if self.settings.search == "pagefind":
            from kb.site.search import SEARCH_JS

            files.append(
                File.generated(config, SEARCH_JS, content=(DEFAULTS / "kb-search.js").read_text(encoding="utf-8"))
            )
        return files

    # A credential in the KB never reaches a page, whatever `kb check` was told to ignore:
    # removed from the Markdown (and the title the search index reads), from the HTML the
    # search plugin indexes, and from the final page.
    def on_page_markdown(self, markdown: str, page, config, files) -> str:
        from kb.load.secrets import redact

        if self.secrets and page.title:
            page.title = redact(page.title, self.secrets)
        return redact(markdown, self.secrets) if self.secrets else markdown

    def on_page_content(self, html: str, page, config, files) -> str:
        from kb.load.secrets import redact
        from kb.site.escape import sanitize_html

        body = self.html_bodies.get(page.file.src_uri)
        if body is not None:
            html = self._render_html_body(body, page, config, files)
        if page.file.src_uri in getattr(self, "written_pages", ()):
            html = sanitize_html(html)
        self._escape_titles(page)  # here: every page has passed this point before any is rendered with its nav
        return redact(html, self.secrets, html=True) if self.secrets else html

    @staticmethod
    def _escape_titles(page) -> None:
        """Every title a theme prints raw (<title>, nav, table of contents, search index) is
        escaped here, whichever page or heading it came from (idempotent)."""
        from kb.site.escape import page_title

        page.title = page_title(page.title)

        def walk(items) -> None:
            for item in items or []:
                item.title = page_title(item.title)
                walk(getattr(item, "children", None))

        walk(page.toc)

    @staticmethod
    def _render_html_body(body, page, config, files) -> str:
        from urllib.parse import quote

        from mkdocs.exceptions import PluginError
        from mkdocs.structure.toc import get_toc

        from kb.core.templating import TemplateProblem
        from kb.site.html import TocSettings

        def url_for(target: str) -> str:
            path, _, anchor = target.partition("#")
            linked = files.get_file_from_path(path)
            url = linked.url_relative_to(page.file) if linked is not None else quote(path, safe="/.-_~")
            return url + (f"#{quote(anchor, safe='-_.~')}" if anchor else "")

        try:
            html, tokens, ids = body.render(url_for, TocSettings.from_mdx_configs(config.mdx_configs))
        except TemplateProblem as exc:
            raise PluginError(f"kb: {exc}") from None
        page.toc = get_toc(tokens)
        page.present_anchor_ids = ids
        return html

    def on_post_page(self, output: str, page, config) -> str:
        from kb.load.secrets import redact

        return redact(output, self.secrets, html=True) if self.secrets else output
