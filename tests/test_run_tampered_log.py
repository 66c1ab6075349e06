"""Finding 18 (outside review): a run log whose hash chain is broken (KB802) is not evidence.

kb card drilled does not stamp last_drilled from it, kb run appends nothing to it, and
--resume does not show its edited lines as what was done."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO

from kb.commands import card as card_verb
from kb.commands import run as run_verb

CARD = "prompt-regression"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(REPO / "tests" / "fixtures" / "runs_kb", root)
    return root


def act(kb: Path, who: str, drill: bool = False, **action) -> int:
    return run_verb.run(CARD, who, drill, False, None, run_verb.Action(**action), kb)


def tamper(kb: Path, old: str, new: str) -> Path:
    (log,) = (kb / "runs").glob("*.jsonl")
    log.write_text(log.read_text().replace(old, new))
    return log


def test_kb_run_refuses_to_append_to_or_resume_a_tampered_log(kb: Path, capsys) -> None:
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "alice", step="confirm-deploy", done=True, evidence="deploy 41") == 0
    assert act(kb, "alice", step="rollback", done=True, evidence="v40 serves") == 0
    log = tamper(kb, "deploy 41", "FORGED")
    before = log.read_bytes()
    capsys.readouterr()
    assert act(kb, "alice", note="still watching") == 1
    err = capsys.readouterr().err
    assert "fails its integrity check" in err and "line 3" in err and "restore it from git" in err
    assert log.read_bytes() == before
    assert run_verb.run(CARD, "alice", False, True, None, None, kb) == 1  # --resume without a terminal
    captured = capsys.readouterr()
    assert "FORGED" not in captured.out and "fails its integrity check" in captured.err


def test_kb_card_drilled_refuses_a_tampered_drill_log(kb: Path, capsys) -> None:
    assert act(kb, "alice", drill=True, start=True) == 0
    assert act(kb, "alice", step="confirm-deploy", done=True, evidence="deploy 41") == 0
    assert act(kb, "alice", step="rollback", done=True, evidence="v40 serves") == 0
    act(kb, "alice", end="mitigated")
    card = kb / "cards" / f"{CARD}.yaml"
    card.write_text("\n".join(line for line in card.read_text().splitlines() if "last_drilled" not in line) + "\n")
    before = card.read_bytes()
    tamper(kb, "deploy 41", "FORGED")
    capsys.readouterr()
    assert card_verb.run("drilled", CARD, kb) == 1
    assert "fails its integrity check" in capsys.readouterr().err
    assert card.read_bytes() == before
