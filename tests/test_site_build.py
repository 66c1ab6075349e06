"""kb.site.build in process: addresses as each generator lays them out, and the derived
mkdocs.yml (tags kept, the kb plugin removed, system fonts, paths re-rooted)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO

from kb.load.loader import load_kb
from kb.site.build import Addresses, BuildProblem, build, stage


@pytest.mark.parametrize(
    ("addresses", "page", "target", "link"),
    [
        (Addresses(), "index.md", "cards/x.md", "cards/x/"),
        (Addresses(), "cards/x.md", "cards/index.md", "../"),
        (Addresses(), "cards/priority/p1.md", "cards/x.md", "../../x/"),
        (Addresses(), "cards/x.md", "index.md#a b", "../../#a%20b"),
        (Addresses(), "postmortems/PM-1.md", "#emitted-r1", "#emitted-r1"),
        (Addresses(), "cards/x.md", "references/q.md#s", "../../references/q/#s"),
        (Addresses(directory_urls=False), "cards/x.md", "cards/index.md", "index.html"),
        (Addresses(directory_urls=False), "index.md", "cards/x.md", "cards/x.html"),
        (Addresses(from_source=True), "cards/priority/p1.md", "cards/x.md", "../x/"),
        (Addresses(from_source=True), "index.md", "cards/x.md", "cards/x/"),
    ],
)
def test_links_between_pages(addresses: Addresses, page: str, target: str, link: str) -> None:
    assert addresses.relative(page, target) == link


def test_derived_config_keeps_tags_and_drops_the_plugin(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    __import__("shutil").copytree(REPO / "tests" / "fixtures" / "site", root)
    (root / "mkdocs.yml").write_text(
        "site_name: T\ntheme: {name: material, font: {text: Roboto}, custom_dir: overrides}\n"
        "plugins:\n  - search\n  - kb:\n      today: 2026-11-22\n"
        "markdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
        "extra:\n  who: !ENV [USER, nobody]\n"
    )
    (tmp_path / "staging").mkdir()
    config_file = stage(load_kb(root), tmp_path / "staging", "zensical").config_file
    text = config_file.read_text()
    assert "!!python/name:material.extensions.emoji.twemoji" in text and "!ENV" in text
    config = yaml.load(text.replace("!!python/name:", "").replace("!ENV", ""), Loader=yaml.SafeLoader)
    assert config["plugins"] == ["search"]
    assert config["theme"]["font"] is False
    assert config["theme"]["custom_dir"] == str((root / "overrides").resolve())
    assert config["docs_dir"] == "docs" and config["site_dir"] == "site"
    assert "attr_list" in config["markdown_extensions"] and "assets/kb.css" in config["extra_css"]
    assert (tmp_path / "staging" / "docs" / "cards" / "queue-stuck.md").is_file()
    assert not (root / "docs").exists(), "nothing is written into the knowledge base"


def test_build_refuses_to_replace_the_knowledge_base(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    __import__("shutil").copytree(REPO / "tests" / "fixtures" / "site", root)
    (root / "index.html").write_text("looks like a site")
    with pytest.raises(BuildProblem, match="knowledge base itself"):
        build(root, "mkdocs", root)
    with pytest.raises(BuildProblem, match="unknown generator"):
        build(root, "hugo", tmp_path / "site")


def test_a_symlink_in_docs_leading_outside_the_kb_is_not_published(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    __import__("shutil").copytree(REPO / "tests" / "fixtures" / "site", root)
    (tmp_path / "private.md").write_text("# private\n")
    (root / "docs").mkdir()
    (root / "docs" / "leak.md").symlink_to(tmp_path / "private.md")
    (root / "docs" / "about.md").write_text("# About\n")
    (tmp_path / "staging").mkdir()
    stage(load_kb(root), tmp_path / "staging", "zensical")
    assert (tmp_path / "staging" / "docs" / "about.md").is_file()
    assert not (tmp_path / "staging" / "docs" / "leak.md").exists()


def test_mkdocs_and_properdocs_get_the_kb_plugin_in_the_staged_config(tmp_path: Path) -> None:
    """kb site build with MkDocs or ProperDocs: the KB's own mkdocs.yml re-rooted in the staging
    folder with the kb plugin kept (it builds the pages, edit links and all); with Pagefind its
    `search` option is set and the theme's search plugin removed."""
    root = tmp_path / "kb"
    __import__("shutil").copytree(REPO / "tests" / "fixtures" / "site", root)
    for search, plugins in [
        ("pagefind", [{"kb": {"today": __import__("datetime").date(2026, 11, 22), "search": "pagefind"}}]),
        ("builtin", ["search", {"kb": {"today": __import__("datetime").date(2026, 11, 22), "search": "builtin"}}]),
    ]:
        staging = tmp_path / f"staging-{search}"
        staging.mkdir()
        staged = stage(load_kb(root), staging, "properdocs", search)
        config = yaml.safe_load(staged.config_file.read_text())
        assert config["plugins"] == plugins
        assert config["docs_dir"] == "docs" and (staging / "docs").is_dir() and not (root / "docs").exists()
        assert staged.sources == [] and not list((staging / "docs").iterdir()), "the plugin writes the pages"
