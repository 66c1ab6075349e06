"""The site without the plugin API: kb writes every generated page into a folder, and a
generator (MkDocs, ProperDocs or Zensical) builds that folder with the KB's own mkdocs.yml.

Zensical reads mkdocs.yml but runs no third-party MkDocs plugin (it silently ignores the
`kb` entry), so kb cannot rely on the plugin API. Here kb does everything the plugin does
before the generator starts: the pages (card and postmortem bodies as HTML between Markdown
headings, so every generator builds their table of contents), secrets redacted, the CSS,
system fonts, the nav. The generator reads a copy of mkdocs.yml in a staging folder whose
docs folder holds the KB's docs/ (if any) and the generated pages; a KB needs no docs/.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from kb.core import safefile, yamlio
from kb.load.knowledge_base import KnowledgeBase
from kb.load.loader import load_kb
from kb.load.published import published_secrets
from kb.load.secrets import redact
from kb.rules import secret_allowlist
from kb.site import editlinks
from kb.site.escape import sanitize_html
from kb.site.html import TocSettings
from kb.site.pages import DEFAULTS, Page, build_pages
from kb.site.search import SEARCH_JS, PagefindProblem, run_pagefind
from kb.site.theme import CSS, DEFAULT_NAV, REQUIRED_EXTENSIONS, SITE_MARKER

GENERATORS: dict[str, list[str]] = {
    "mkdocs": ["-m", "mkdocs", "build"],
    "properdocs": ["-m", "properdocs", "build"],
    "zensical": ["-m", "zensical", "build"],
}


SEARCHES = ("builtin", "pagefind")


PUBLISHED_TEXT = (".html", ".json", ".xml", ".txt", ".js")


def _redact_site(site: Path, secrets: frozenset[str]) -> None:
    """Every built file without a credential, as the plugin's on_post_page does: the pages were
    redacted before the build, but Markdown unescapes what kb escaped (`ghp\\_...` in a
    heading becomes `ghp_...`), so the output is checked too, before any search index is made."""
    if not secrets:
        return
    for path in site.rglob("*"):
        if path.suffix in PUBLISHED_TEXT and path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            clean = redact(text, secrets, html=True)
            if clean != text:
                path.write_text(clean, encoding="utf-8", errors="surrogateescape")


class BuildProblem(Exception):
    """The site cannot be built as asked: said in one line, exit non-zero."""


class Tagged:
    """A YAML value with a tag kb does not interpret (`!!python/name:...`, `!ENV`): written back as read."""

    def __init__(self, tag: str, value: Any):
        self.tag, self.value = tag, value


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _construct_tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        return Tagged(tag, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tagged(tag, loader.construct_sequence(node, deep=True))
    return Tagged(tag, loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


def _represent_tagged(dumper: yaml.SafeDumper, data: Tagged) -> yaml.Node:
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value)
    return dumper.represent_scalar(data.tag, str(data.value))


_Loader.add_multi_constructor("!", _construct_tagged)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _construct_tagged)
_Dumper.add_representer(Tagged, _represent_tagged)


@dataclass(frozen=True)
class Addresses:
    """Where a docs path ends up on the site, as MkDocs, ProperDocs and Zensical lay it out."""

    directory_urls: bool = True
    # Zensical re-bases every relative link of a page's HTML, raw HTML included, from the
    # Markdown file's folder to the page's URL (as MkDocs does for Markdown links only): for
    # it, a link is written relative to the source file's folder.
    from_source: bool = False

    def of(self, src: str) -> str:
        """`cards/x.md` -> `cards/x/` (or `cards/x.html`); `index.md` -> ``; other files as they are."""
        if not src.endswith(".md"):
            return src
        stem = src[:-3]
        if not self.directory_urls:
            return stem + ".html"
        return stem[: -len("index")] if stem == "index" or stem.endswith("/index") else stem + "/"

    def relative(self, page: str, target: str) -> str:
        """The link from page `page` to `target` (a docs path, with an optional #anchor)."""
        path, _, anchor = target.partition("#")
        suffix = f"#{quote(anchor, safe='-_.~')}" if anchor else ""
        if not path:
            return suffix
        here, there = self.of(page), self.of(path)
        if self.from_source:
            base = posixpath.dirname(page)
        else:
            base = here if here.endswith("/") or not here else posixpath.dirname(here)
        link = posixpath.relpath(there.rstrip("/") or ".", base.rstrip("/") or ".")
        if there.endswith("/") or not there:
            link = "./" if link == "." else link + "/"
        return quote(link, safe="/.-_~") + suffix


def page_markdown(page: Page, addresses: Addresses, toc: TocSettings) -> str:
    """The page as a Markdown file any generator reads: an HTML body between Markdown headings."""
    if page.html is None:
        return page.markdown
    body, _, _ = page.html.render(lambda target: addresses.relative(page.src_uri, target), toc, markdown=True)
    return page.markdown + body


# MkDocs and ProperDocs run the kb plugin: kb site build hands them the KB's own mkdocs.yml
# (re-rooted in the staging folder, so a KB needs no docs/) and the plugin builds every page
# as it does for `mkdocs build`. Writing the pages as Markdown files instead made MkDocs
# re-parse 14,000 pages of raw HTML: 147 s of CPU at 10,000 cards, against about 60.
PLUGIN_GENERATORS = ("mkdocs", "properdocs")
ROOT_ENV = "KB_SITE_BUILD_ROOT"  # the KB the plugin builds when its mkdocs.yml is a staged copy


def plugin_config(raw: dict[str, Any], root: Path, docs: Path, site: Path, search: str) -> dict[str, Any]:
    """The KB's mkdocs.yml for MkDocs or ProperDocs in the staging folder: the kb plugin kept,
    with its `search` option set (pagefind: the theme's search plugin removed)."""
    config = dict(raw)
    config["docs_dir"] = docs.name
    config["site_dir"] = site.name
    theme = config.get("theme")
    if (
        isinstance(theme, dict)
        and isinstance(theme.get("custom_dir"), str)
        and not Path(theme["custom_dir"]).is_absolute()
    ):
        config["theme"] = {**theme, "custom_dir": str((root / theme["custom_dir"]).resolve())}
    dropped = {"search", "material/search"} if search == "pagefind" else set()
    plugins = config.get("plugins")
    if plugins is None:
        plugins = ["search"]
    entries: list[tuple[Any, Any]] = []
    if isinstance(plugins, dict):
        entries = list(plugins.items())
    elif isinstance(plugins, list):
        for entry in plugins:
            name = _plugin_name(entry)
            if name is None:
                raise BuildProblem(f"mkdocs.yml: plugins: cannot read the entry {str(entry)[:80]!r}")
            entries.append((name, entry[name] if isinstance(entry, dict) else {}))
    else:
        raise BuildProblem("mkdocs.yml: plugins is neither a list nor a mapping")
    kept: list[Any] = []
    for name, options in entries:
        if name in dropped:
            continue
        if name == "kb":
            options = {**(options or {}), "search": search}
        kept.append({name: options} if options else name)
    if "kb" not in [name for name, _ in entries]:
        kept.append({"kb": {"search": search}})
    config["plugins"] = kept
    if isinstance(config.get("hooks"), list):  # paths relative to mkdocs.yml, which moved
        config["hooks"] = [str((root / h).resolve()) if isinstance(h, str) else h for h in config["hooks"]]
    return config


def derived_config(
    raw: dict[str, Any], root: Path, docs: Path, site: Path, search: str = "builtin", generator: str = "mkdocs"
) -> dict[str, Any]:
    """The KB's mkdocs.yml for a build from the staging folder: kb's pages, no kb plugin
    (and, with Pagefind, no generator search: its one-file index is what Pagefind replaces)."""
    config = dict(raw)
    config["docs_dir"] = docs.name  # relative to the derived mkdocs.yml beside them (Zensical needs that)
    config["site_dir"] = site.name
    theme = config.get("theme")
    theme = {"name": theme} if isinstance(theme, str) else dict(theme or {"name": "material"})
    theme["font"] = False  # system fonts whatever mkdocs.yml says: the site loads nothing from another host
    custom = theme.get("custom_dir")
    if isinstance(custom, str) and not Path(custom).is_absolute():
        theme["custom_dir"] = str((root / custom).resolve())
    config["theme"] = theme
    dropped = {"kb", "search"} if search == "pagefind" else {"kb"}
    plugins = config.get("plugins")
    if isinstance(plugins, dict):
        config["plugins"] = {k: v for k, v in plugins.items() if k not in dropped}
    elif isinstance(plugins, list):
        config["plugins"] = [p for p in plugins if _plugin_name(p) not in dropped]
    else:
        config["plugins"] = [] if search == "pagefind" else ["search"]
    if search == "pagefind" and generator == "zensical":  # Zensical's search runs unless turned off
        plugins = config["plugins"]
        if isinstance(plugins, dict):
            plugins["search"] = {"enabled": False}
        else:
            plugins.append({"search": {"enabled": False}})
    extensions = list(config.get("markdown_extensions") or [])
    names = {e if isinstance(e, str) else next(iter(e), "") for e in extensions}
    config["markdown_extensions"] = extensions + [e for e in REQUIRED_EXTENSIONS if e not in names]
    config["extra_css"] = [*(config.get("extra_css") or []), CSS]
    if search == "pagefind":
        config["extra_javascript"] = [*(config.get("extra_javascript") or []), SEARCH_JS]
    if not config.get("nav"):
        config["nav"] = list(DEFAULT_NAV)
        validation = dict(config.get("validation") or {})
        # the nav lists the indexes only: one line per card page would flood the build's output
        validation["nav"] = {**dict(validation.get("nav") or {}), "omitted_files": "ignore"}
        config["validation"] = validation
    if isinstance(config.get("hooks"), list):  # paths relative to mkdocs.yml, which moved
        config["hooks"] = [str((root / h).resolve()) if isinstance(h, str) else h for h in config["hooks"]]
    return config


def _outside(root: Path):
    """copytree's ignore: a symlink in docs/ that leads outside the KB is not published."""
    inside = root.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if (Path(folder) / name).is_symlink() and not (Path(folder) / name).resolve().is_relative_to(inside)
        }

    return ignore


def _plugin_name(entry: Any) -> str | None:
    """`search` or `{search: {...}}` -> "search"."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        return str(next(iter(entry)))
    return None


@dataclass(frozen=True)
class Staged:
    """A staging folder ready for the generator: its mkdocs.yml, the KB's own mkdocs.yml as read,
    and each generated page's built file with its source (for its edit link)."""

    config_file: Path
    raw: dict[str, Any]
    sources: list[tuple[str, str | None]]


def built_file(address: str) -> str:
    """`cards/x/` -> `cards/x/index.html`; `` -> `index.html`; `cards/x.html` as it is."""
    return address + "index.html" if address.endswith("/") or not address else address


def stage(kb: KnowledgeBase | Path, staging: Path, generator: str = "mkdocs", search: str = "builtin") -> Staged:
    """Write the generated docs folder and the derived mkdocs.yml into `staging`. MkDocs and
    ProperDocs need only the KB's root (their kb plugin loads it); Zensical needs it loaded."""
    root = kb if isinstance(kb, Path) else kb.root
    try:
        raw = yaml.load(safefile.read_text(root / "mkdocs.yml", yamlio.MAX_BYTES), Loader=_Loader) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BuildProblem(f"mkdocs.yml: {exc}") from None
    if not isinstance(raw, dict):
        raise BuildProblem("mkdocs.yml: not a mapping")
    if "INHERIT" in raw:
        raise BuildProblem("mkdocs.yml: INHERIT is not supported by the generator-independent build")
    docs, site = staging / "docs", staging / "site"
    source_docs = root / str(raw.get("docs_dir") or "docs")
    if source_docs.is_dir():
        shutil.copytree(source_docs, docs, symlinks=False, ignore=_outside(root))
    docs.mkdir(exist_ok=True)
    if generator in PLUGIN_GENERATORS:
        return _write_config(staging, plugin_config(raw, root, docs, site, search), raw, [])
    if isinstance(kb, Path):
        kb = load_kb(root)
    addresses = Addresses(
        directory_urls=raw.get("use_directory_urls", True) is not False, from_source=generator == "zensical"
    )
    toc = TocSettings.from_mdx_configs(_mdx_configs(raw.get("markdown_extensions")))
    secrets = published_secrets(kb, secret_allowlist().keys)
    extensions = _extension_names(raw.get("markdown_extensions"))
    renderer = None
    sources: list[tuple[str, str | None]] = []
    for page in build_pages(kb):
        sources.append((built_file(addresses.of(page.src_uri)), page.edit_uri))
        if page.edit_uri and page.edit_uri.endswith(".md"):  # Markdown a person wrote (router, references/)
            configs = _mdx_configs(raw.get("markdown_extensions"))
            renderer = renderer or markdown_renderer(extensions, configs)
            removed = unsafe_html(page.markdown, extensions, configs, renderer)
            if removed is not None:
                raise BuildProblem(
                    f"{page.edit_uri}: raw HTML the site does not publish ({removed}); the plugin build removes it,"
                    " this build has no plugin hook to do so: remove it from the file"
                )
        text = page_markdown(page, addresses, toc)
        target = docs / page.src_uri
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(redact(text, secrets, html=True) if secrets else text, encoding="utf-8")
    (docs / CSS).parent.mkdir(parents=True, exist_ok=True)
    (docs / CSS).write_text((DEFAULTS / "kb.css").read_text(encoding="utf-8"), encoding="utf-8")
    if search == "pagefind":
        (docs / SEARCH_JS).write_text((DEFAULTS / "kb-search.js").read_text(encoding="utf-8"), encoding="utf-8")
    return _write_config(staging, derived_config(raw, root, docs, site, search, generator), raw, sources)


def _write_config(
    staging: Path, config: dict[str, Any], raw: dict[str, Any], sources: list[tuple[str, str | None]]
) -> Staged:
    config_file = staging / "mkdocs.yml"
    config_file.write_text(yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return Staged(config_file, raw, sources)


class _StartTags(HTMLParser):
    """Every start tag with its attributes (values unescaped), as a multiset."""

    IGNORED = {"rel", "style"}  # nh3 adds rel to links; style only formats (nh3 removes it either way)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = tuple(sorted((k, v or "") for k, v in attrs if k not in self.IGNORED))
        self.tags[(tag, kept)] += 1

    handle_startendtag = handle_starttag


def _start_tags(fragment: str) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    parser = _StartTags()
    parser.feed(fragment)
    parser.close()
    return parser.tags


def unsafe_html(text: str, extensions: list[str], configs: dict[str, Any], renderer: Any = None) -> str | None:
    """The first tag (or attribute) of `text`'s rendered HTML that kb.site.escape.sanitize_html
    would remove (a script, an event handler, a `javascript:` link), or None. The plugin
    sanitizes each page as MkDocs renders it; a build without the plugin refuses instead.
    `renderer` (from markdown_renderer) is reused across pages: loading the extensions for
    each of a large router's pages cost more than rendering them."""
    renderer = renderer or markdown_renderer(extensions, configs)
    rendered = renderer.reset().convert(text)
    removed = _start_tags(rendered) - _start_tags(sanitize_html(rendered))
    if not removed:
        return None
    tag, attrs = sorted(removed)[0]
    shown = " ".join(f'{k}="{v}"' for k, v in attrs)
    return f"<{tag}{' ' + shown if shown else ''}>"[:120]


def markdown_renderer(extensions: list[str], configs: dict[str, Any]) -> Any:
    """Python-Markdown with the site's extensions (or, when one cannot load here, kb's own)."""
    import markdown

    try:
        return markdown.Markdown(extensions=extensions, extension_configs=configs)
    except Exception:  # noqa: BLE001 (an extension kb cannot load here: judge with the ones kb requires)
        return markdown.Markdown(extensions=list(REQUIRED_EXTENSIONS))


def _extension_names(extensions: Any) -> list[str]:
    names = [
        e if isinstance(e, str) else str(next(iter(e)))
        for e in (extensions if isinstance(extensions, list) else [])
        if isinstance(e, str) or (isinstance(e, dict) and e)
    ]
    return names + [e for e in REQUIRED_EXTENSIONS if e not in names]


def _mdx_configs(extensions: Any) -> dict[str, Any]:
    configs: dict[str, Any] = {}
    for entry in extensions if isinstance(extensions, list) else []:
        if isinstance(entry, dict):
            for name, options in entry.items():
                configs[name] = options if isinstance(options, dict) else {}
    return configs


# folders of a knowledge base a site must never be built into (kb site build replaces its --out)
KB_FOLDERS = ("cards", "postmortems", "references", "rules", "runs", "schedules", "memberships", "docs", "templates")


def build(
    kb: KnowledgeBase | Path, generator: str, site_dir: Path, *, strict: bool = False, search: str = "builtin"
) -> subprocess.CompletedProcess:
    """Build the KB's site with `generator` into `site_dir` (replaced if it holds a site).
    `search="pagefind"` indexes the built site with Pagefind instead of the generator's search
    (its box in every page's header)."""
    if generator not in GENERATORS:
        raise BuildProblem(f"unknown generator '{generator}': choose one of {', '.join(GENERATORS)}")
    if search not in SEARCHES:
        raise BuildProblem(f"unknown search '{search}': choose one of {', '.join(SEARCHES)}")
    if site_dir.is_symlink():  # a committed `site -> cards` would have kb replace what it points at
        raise BuildProblem(f"{site_dir}: is a symbolic link; kb builds a site only into a real folder")
    site_dir = site_dir.resolve()
    root = (kb if isinstance(kb, Path) else kb.root).resolve()
    if site_dir == root or root.is_relative_to(site_dir):
        raise BuildProblem(f"{site_dir}: would replace the knowledge base itself")
    for name in KB_FOLDERS:
        kb_folder = root / name
        if site_dir == kb_folder or site_dir.is_relative_to(kb_folder) or kb_folder.is_relative_to(site_dir):
            raise BuildProblem(f"{site_dir}: is the knowledge base's {name}/ folder or inside it; choose another --out")
    marker = site_dir / SITE_MARKER
    if site_dir.exists() and any(site_dir.iterdir()) and not (marker.is_file() and not marker.is_symlink()):
        # an index.html alone proves nothing: a hand-written homepage has one (outside review)
        raise BuildProblem(
            f"{site_dir}: exists and is not a site kb built (no {SITE_MARKER} in it); kb will not replace it"
        )
    if generator not in PLUGIN_GENERATORS and isinstance(kb, Path):
        kb = load_kb(root)  # MkDocs' and ProperDocs' kb plugin loads it itself: not twice
    with tempfile.TemporaryDirectory(prefix="kb-site-") as folder:
        staging = Path(folder)
        staged = stage(kb, staging, generator, search)
        command = [sys.executable, *GENERATORS[generator], "-f", str(staged.config_file)]
        if strict:
            command.append("--strict")
        env = {**os.environ, "NO_COLOR": "1", ROOT_ENV: str(root)}
        # the generator imports this kb (the plugin), as the user's interpreter does
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        result = subprocess.run(command, cwd=staging, capture_output=True, text=True, env=env, check=False)
        if result.returncode == 0:
            if not (staging / "site" / "index.html").is_file():
                raise BuildProblem(f"{generator} exited 0 but wrote no index.html")
            if isinstance(kb, KnowledgeBase):  # (the plugin redacts every page it writes)
                _redact_site(staging / "site", published_secrets(kb, secret_allowlist().keys))
            if editlinks.has_edit_links(staged.raw) and generator not in PLUGIN_GENERATORS:
                editlinks.fix_site(staging / "site", staged.raw, staged.sources)
            if search == "pagefind" and generator not in PLUGIN_GENERATORS:  # the plugin indexed it
                try:
                    result = run_pagefind(staging / "site", env)
                except PagefindProblem as exc:
                    raise BuildProblem(str(exc)) from None
                if result.returncode != 0:
                    return result
            (staging / "site" / SITE_MARKER).write_text("built by kb\n", encoding="utf-8")
            if site_dir.exists():
                shutil.rmtree(site_dir)
            site_dir.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging / "site"), str(site_dir))
        return result
