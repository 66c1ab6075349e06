"""The check cache's key covers what rules read beyond the KB's folders and the programs they
run: KB608's Alertmanager file, amtool's presence and build (outside review, finding 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Ran, require_tool

from kb.commands import check as check_command

ALERTMANAGER = """route:
  receiver: tickets
  routes:
    - matchers: ['priority="P2"']
      receiver: pager
receivers: [{name: pager}, {name: tickets}]
"""


@pytest.fixture
def kb608(base_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    (base_kb / "alertmanager.yml").write_text(ALERTMANAGER)
    config = base_kb / "mkdocs.yml"
    rule = "      rules:\n        KB608: {alertmanager_config: alertmanager.yml, receivers: {P2: pager}}\n"
    config.write_text(config.read_text() + rule)
    return base_kb


def test_an_alertmanager_edit_is_never_a_stale_pass(kb608: Path, call: Callable[..., Ran]) -> None:
    require_tool("amtool")
    assert call(check_command.run, select=["KB608"], root=kb608).returncode == 0
    am = kb608 / "alertmanager.yml"
    am.write_text(am.read_text().replace('priority="P2"', 'priority="p2"'))  # P2 alerts now reach tickets
    again = call(check_command.run, select=["KB608"], root=kb608)
    assert again.returncode == 1 and "reaches tickets in alertmanager.yml, not pager" in again.stdout


def test_installing_amtool_is_a_new_answer(
    kb608: Path, tmp_path: Path, call: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    amtool = require_tool("amtool")
    am = kb608 / "alertmanager.yml"
    am.write_text(am.read_text().replace('priority="P2"', 'priority="p2"'))  # P2 alerts reach tickets
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))  # amtool is not installed
    missing = call(check_command.run, select=["KB608"], root=kb608)
    assert missing.returncode == 0 and "amtool is not installed" in missing.stdout
    (bin_dir / "amtool").symlink_to(amtool)  # installed now; no file of the KB changed
    installed = call(check_command.run, select=["KB608"], root=kb608)
    assert installed.returncode == 1 and "reaches tickets in alertmanager.yml, not pager" in installed.stdout


def test_a_reference_page_outside_references_is_an_input(
    base_kb: Path, tmp_path: Path, call: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card may cite any Markdown page of the KB (docs/...): its sections are read by rules."""
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    (base_kb / "docs" / "queues.md").write_text("# Queues\n\n## Pausing consumers\n\nPause with queuectl.\n")
    card = base_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("path: references/queues.md", "path: docs/queues.md"))
    assert call(check_command.run, select=["KB134"], root=base_kb).returncode == 0  # cold: recorded
    assert call(check_command.run, select=["KB134"], root=base_kb).returncode == 0  # warm: the cached result
    (base_kb / "docs" / "queues.md").write_text("# Queues\n\n## Draining consumers\n\nDrain with queuectl.\n")
    again = call(check_command.run, select=["KB134"], root=base_kb)
    assert again.returncode == 1 and "pausing-consumers" in again.stdout
