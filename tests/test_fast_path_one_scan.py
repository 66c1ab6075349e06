"""At 100,000 cards the stat of every card file is most of what `kb access CARD` and `kb route`
cost (about 0.3 s): each command scans the cards folder once. The first `kb access CARD`
computes its answer from the index the kept-answer lookup opened, not from a second one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_access import make_kb

from kb.commands import access, fast_path
from kb.load.loader import load_kb
from kb.route import index as card_index


def _old(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))


def test_kb_access_and_route_scan_the_cards_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_kb(tmp_path / "kb")
    _old(root)
    scans = []
    scan = card_index.scan_cards
    monkeypatch.setattr(card_index, "scan_cards", lambda *a: scans.append(a) or scan(*a))
    outputs = []
    for _ in range(2):  # computed, then kept
        capsys.readouterr()
        assert fast_path.dispatch(["access", "prompt-regression", "-f", "json", "--root", str(root)]) == 0
        outputs.append(capsys.readouterr().out)
        assert len(scans) == 1, "one scan of the cards folder per command"
        scans.clear()
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0]) == access.explain_card(load_kb(root), "prompt-regression")
    assert fast_path.dispatch(["route", "Answers", "wrong", "--root", str(root)]) == 0
    assert len(scans) == 1
    scans.clear()
    assert fast_path.dispatch(["access", "no-such-card", "--root", str(root)]) == 1  # a miss closes what it opened
    assert len(scans) == 1
