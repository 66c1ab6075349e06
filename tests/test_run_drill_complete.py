"""A drill completes only when every step of the card has an outcome (issue #15, outside
review): one step done and the others never walked stamped last_drilled as if the card had
been drilled. Through the CLI: `kb run CARD --drill`, `--step ... --done`, `--end mitigated`,
then `kb card drilled` and `kb check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_kb

from kb.check.engine import run_check
from kb.commands import card as card_verb
from kb.commands import run as run_verb
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

FIXTURE = REPO / "tests" / "fixtures" / "runs_kb"
CARD = "prompt-regression"  # steps: confirm-deploy, rollback, purge-cache; rollback: restore


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    return root


def act(kb: Path, drill: bool = False, **action) -> int:
    return run_verb.run(CARD, "alice", drill, False, None, run_verb.Action(**action), kb)


def test_one_step_done_and_the_rest_never_walked_is_not_a_drill(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = kb / "cards" / f"{CARD}.yaml"
    before = card.read_text()
    assert act(kb, drill=True, start=True) == 0
    assert act(kb, step="rollback", done=True, evidence="v40 at 100%") == 0
    ended = run_kb("run", CARD, "--end", "mitigated", cwd=kb, env={"KB_ACTOR": "alice"})  # the real CLI
    assert ended.returncode == 1, ended.stdout + ended.stderr
    assert "3 step(s) of this drill have no outcome" in ended.stdout
    assert "steps/confirm-deploy, steps/purge-cache, rollback/restore" in ended.stdout
    assert card.read_text() == before  # no last_drilled
    assert card_verb.run("drilled", CARD, kb) == 1
    assert "no completed drill log" in capsys.readouterr().err
    # a last_drilled written by hand for that day has no complete drill behind it
    day = next((kb / "runs").glob("*.jsonl")).name[:10]
    card.write_text(before + f"last_drilled: {day}\n")
    found = [d for d in run_check(RuleContext(load_kb(kb)), select=["KB811"]).diagnostics]
    assert [d.code for d in found] == ["KB811"]


def test_every_step_with_an_outcome_completes_the_drill(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The near miss: the same drill, the other steps skipped with a reason, is complete."""
    assert act(kb, drill=True, start=True) == 0
    assert act(kb, step="rollback", done=True, evidence="v40 at 100%") == 0
    assert act(kb, note="rolled back", update=True) == 0
    for step in ("confirm-deploy", "purge-cache"):
        assert act(kb, step=step, skipped=True, why="not part of this drill's scenario") == 0
    assert act(kb, end="mitigated") == 1  # restore has no outcome yet: still not complete
    assert "rollback/restore" in capsys.readouterr().out
    assert card_verb.run("drilled", CARD, kb) == 1
    capsys.readouterr()
    # the same again, restore failing in staging: an outcome too
    for log in (kb / "runs").glob("*.jsonl"):
        log.unlink()
    assert act(kb, drill=True, start=True) == 0
    assert act(kb, step="rollback", done=True, evidence="v40 at 100%") == 0
    assert act(kb, note="rolled back", update=True) == 0
    for step in ("confirm-deploy", "purge-cache"):
        assert act(kb, step=step, skipped=True, why="not part of this drill's scenario") == 0
    assert act(kb, step="restore", failed=True, why="staging deployctl timed out") == 0
    assert act(kb, end="mitigated") == 0
    assert "last_drilled" in (kb / "cards" / f"{CARD}.yaml").read_text()
    assert not [d for d in run_check(RuleContext(load_kb(kb)), select=["KB811"]).diagnostics]
