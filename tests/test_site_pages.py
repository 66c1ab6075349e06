"""The site's pages in process: one module per page kind, one template factory, the plugin's
validated configuration, KB204's options as kb check resolves them."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from conftest import REPO

from kb.check.engine import rule_options
from kb.config.settings import load_config
from kb.load.loader import load_kb
from kb.rules.cards.card_stale_verification import StaleVerification
from kb.site.html import TocSettings
from kb.site.pages import build_pages


def _config(root: Path, rules: str) -> None:
    (root / "mkdocs.yml").write_text(
        f"site_name: T\ndocs_dir: docs\nplugins:\n  - kb:\n      today: 2026-11-22\n      rules: {rules}\n"
    )


@pytest.mark.parametrize("key", ["KB204", "card/stale-verification"])
def test_stale_marker_uses_kb204_options_by_code_or_name(base_kb: Path, key: str) -> None:
    _config(base_kb, f"{{{key}: {{max_age_days: 3650}}}}")
    config = load_config(base_kb)
    assert rule_options(config, StaleVerification).max_age_days == 3650
    pages = {p.src_uri: p for p in build_pages(load_kb(base_kb))}
    html, _, _ = pages["dashboard.md"].html.render(lambda target: target, TocSettings())
    assert "Every card was verified within 3650 days." in html


def test_stale_marker_falls_back_to_the_default_on_a_bad_option(base_kb: Path) -> None:
    _config(base_kb, "{KB204: {max_age_days: -1}}")
    assert rule_options(load_config(base_kb), StaleVerification).max_age_days == 90


def test_one_sandboxed_environment_factory() -> None:
    """Every Jinja environment kb makes comes from kb.core.templating.sandboxed_environment
    (which makes the bounded sandbox, kb.core.templating.BoundedEnvironment)."""
    makers = []
    for path in (REPO / "kb").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in (
                    "SandboxedEnvironment",
                    "Environment",
                    "ImmutableSandboxedEnvironment",
                    "BoundedEnvironment",
                ):
                    makers.append(path.relative_to(REPO).as_posix())
    assert set(makers) == {"kb/core/templating.py"}  # the sandbox, and kb-only templates (trusted_environment)


def test_every_page_kind_has_its_module() -> None:
    folder = REPO / "kb" / "site" / "pages"
    assert {p.stem for p in folder.glob("*.py")} >= {
        "router",
        "cards",
        "postmortems",
        "references",
        "indexes",
        "dashboard",
        "rules",
        "base",
    }


def test_plugin_loads_the_kb_with_the_settings_mkdocs_validated(base_kb: Path) -> None:
    """MkDocs reads mkdocs.yml once: the KB the plugin loads carries the very Settings object
    the plugin validated, and MkDocs' view of site_url and the Markdown extensions."""
    from mkdocs.config import load_config as mkdocs_config

    (base_kb / "mkdocs.yml").write_text(
        "site_name: T\nsite_url: https://kb.test/sub\ndocs_dir: docs\n"
        "markdown_extensions:\n  - toc: {permalink: true, separator: _}\n"
        "plugins:\n  - search\n  - kb:\n      today: 2026-11-22\n"
    )
    config = mkdocs_config(str(base_kb / "mkdocs.yml"))
    plugin = config.plugins["kb"]
    plugin.on_config(config)
    kb_config = plugin.kb.config
    assert kb_config.settings is plugin.settings
    assert kb_config.settings.today == dt.date(2026, 11, 22)
    assert kb_config.root == base_kb.resolve()
    assert kb_config.site_url == "https://kb.test/sub/"
    assert {"toc": {"permalink": True, "separator": "_"}} in kb_config.markdown_extensions
    assert kb_config.plugin_loc == ("plugins", 1, "kb")
