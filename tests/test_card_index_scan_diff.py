"""The warm card index finds the card files that changed by comparing this scan's stats with
the last scan's, kept in the index (kb.route.index.CardScan.differing), when the names are the
same: the tables it leaves must be those a full comparison of every file's key leaves, and
those of an index built from nothing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from kb.cache import store
from kb.config.mkdocs import read_paths
from kb.route import index as card_index

CARD = "id: card-{n:02d}\ntitle: Card {n} about {word}\ntriggers:\n  alerts: [Alert{n}]\nsummary: {word} {word}\n"


def _tables(root: Path) -> tuple:
    db = sqlite3.connect(str(store.cache_dir(root) / card_index.DB_NAME))
    try:
        files = db.execute("SELECT rel, key, card_id, terms, alerts FROM files ORDER BY rel").fetchall()
        docs = dict(db.execute("SELECT num, card_id FROM docs").fetchall())
        postings = {}
        for term, blob in db.execute("SELECT term, docs FROM postings"):
            nums = card_index.array("I")
            nums.frombytes(blob)
            postings[term] = sorted(docs[n] for n in nums)
        return files, sorted(docs.values()), postings
    finally:
        db.close()


def _index(root: Path) -> None:
    found = card_index.open_index(read_paths(root))
    assert found is not None
    found.close()


def test_the_kept_scan_finds_what_a_full_comparison_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_index.CardScan, "BLOCK", 4)  # many blocks from a few files
    root = tmp_path / "kb"
    (root / "cards").mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: t\ndocs_dir: docs\n")
    (root / "router.md").write_text("# Router\n\n- `Alert1` → [card-01](cards/card-01.yaml)\n")
    old = 1_700_000_000 * 10**9
    for n in range(30):
        path = root / "cards" / f"card-{n:02d}.yaml"
        path.write_text(CARD.format(n=n, word="queue"))
        os.utime(path, ns=(old + n, old + n))
    os.utime(root / "router.md", ns=(old, old))
    warm = tmp_path / "warm"
    monkeypatch.setenv("KB_CACHE_DIR", str(warm))
    _index(root)
    assert len(_tables(root)[0]) == 30
    edits = [
        (3, "marimba", old + 1000),  # new words, an old mtime: found by its stat
        (17, "xylopho", old + 17),  # same size, mtime put back: the ctime moved
        (29, "kazooes", None),  # modified just now: no key, read again next time too
    ]
    for n, word, mtime in edits:
        path = root / "cards" / f"card-{n:02d}.yaml"
        path.write_text(CARD.format(n=n, word=word))
        if mtime is not None:
            os.utime(path, ns=(mtime, mtime))
    _index(root)
    (root / "cards" / "card-29.yaml").write_text(CARD.format(n=29, word="ocarina"))  # racy again, same size
    _index(root)
    warm_tables = _tables(root)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cold"))
    _index(root)
    cold_tables = _tables(root)
    assert warm_tables == cold_tables
    assert {"marimba", "xylopho", "ocarina"} <= set(warm_tables[2])
    assert "kazooe" not in warm_tables[2] and "kazooes" not in warm_tables[2]
