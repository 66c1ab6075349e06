"""Class 2 and 6: a `.kb-set.*.journal` that kb did not write (committed to the repository, or
left in an exported KB) is never acted on outside the tree it serves (outside review: a
journal naming /tmp files made `kb card verified` delete one and `kb check` plant another)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import BASE_KB, copy_kb, run_kb


def _plant(folder: Path, victim: Path, payload: Path, planted: Path) -> None:
    journal = folder / ".kb-set.4000000.deadbeef.journal"  # a pid that is not running
    journal.write_text(json.dumps([[None, str(victim)], [str(payload), str(planted)]]))


def test_a_journal_in_an_exported_kb_touches_nothing_outside(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")  # no .git: the journal folder is rules/ itself
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious\n")
    payload = root / "rules" / ".payload.1.ab.kbtmp"
    payload.write_text("attacker content\n")
    _plant(root / "rules", victim, payload, outside / "planted.sh")
    run_kb("check", "--select", "KB1", cwd=root)
    assert victim.read_text() == "precious\n"
    assert not (outside / "planted.sh").exists()


def test_a_committed_journal_in_cards_touches_nothing_outside(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious\n")
    _plant(root / "cards", victim, root / "cards" / ".x.1.ab.kbtmp", outside / "planted.sh")
    result = run_kb("card", "verified", "queue-stuck", cwd=root)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert not (outside / "planted.sh").exists()


def test_a_committed_journal_naming_the_kbs_own_card_is_never_run(tmp_path: Path) -> None:
    """Outside review: journals inside the KB (several guesses at its path) deleted a card or
    replaced it with the attacker's content on an ordinary `kb card verified`."""
    root = copy_kb(BASE_KB, tmp_path / "kb")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    victim, replaced = root / "cards" / "draft-a.txt", root / "cards" / "draft-b.txt"
    victim.write_text("a draft\n")
    replaced.write_text("another draft\n")
    before = {p: p.read_bytes() for p in (victim, replaced)}
    temp = root / "cards" / ".x.1.ab.kbtmp"
    temp.write_text("title: pwned\n")
    journal = root / "cards" / ".kb-set.4000000.deadbeef.journal"
    journal.write_text(json.dumps([[None, str(victim)], [str(temp), str(replaced)]]))
    result = run_kb("card", "verified", "queue-stuck", cwd=root)
    assert result.returncode == 0, result.stderr
    assert {p: p.read_bytes() for p in (victim, replaced)} == before


def test_kb_schema_never_writes_through_a_schemas_link(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "schemas").symlink_to(outside)
    result = run_kb("schema", cwd=root)
    assert result.returncode == 2 and "outside the knowledge base" in result.stderr
    assert list(outside.iterdir()) == []
