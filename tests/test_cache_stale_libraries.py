"""A library upgrade is a new cache key (left open at the last review): an answer can change
with pydantic, PyYAML, Markdown or an extension mkdocs.yml names, with no KB file changed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kb.cache import result, store
from kb.route import index as route_index


def test_the_installed_distributions_are_listed_from_sys_path() -> None:
    found = store.installed_distributions()
    assert any(name.lower().startswith(("pydantic-", "pydantic_core-")) for name in found)
    assert found == sorted(found)


def test_upgrading_a_library_changes_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    (site / "markdown_extra_ext-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    before_stamp = store.code_stamp()
    before_key = result.options_key(format="text")
    (site / "markdown_extra_ext-1.0.dist-info").rename(site / "markdown_extra_ext-1.1.dist-info")
    assert store.code_stamp() != before_stamp
    assert result.options_key(format="text") != before_key
    before_route = route_index.code_stamp()
    (site / "markdown_extra_ext-1.1.dist-info").rename(site / "markdown_extra_ext-1.2.dist-info")
    assert route_index.code_stamp() != before_route
