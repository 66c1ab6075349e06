"""Finding 16 (outside review): the approver of an irreversible step cannot also settle it.

The approval exists so that a second person looks before the step runs; the person who
approved it marking it done (or failed, or skipped) undoes that. kb run refuses it when it
would be written, and KB808 names what happened when a log says so anyway."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from kb.check.engine import run_check
from kb.commands import run as run_verb
from kb.load.loader import load_kb
from kb.load.runs import line_digest
from kb.rules.context import RuleContext

CARD = "prompt-regression"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(REPO / "tests" / "fixtures" / "runs_kb", root)
    return root


def act(kb: Path, who: str, **action) -> int:
    return run_verb.run(CARD, who, False, False, None, run_verb.Action(**action), kb)


def approved_by_carol(kb: Path) -> None:
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "alice", step="purge-cache", approve=True, approver="carol") == 0
    assert act(kb, "alice", step="purge-cache", item="tenant-a", verdict="purged") == 0


@pytest.mark.parametrize("settle", [{"done": True, "evidence": "purged"}, {"failed": True, "why": "x"}])
def test_the_approver_cannot_settle_the_step_they_approved(kb: Path, capsys, settle: dict) -> None:
    approved_by_carol(kb)
    (log,) = (kb / "runs").glob("*.jsonl")
    before = log.read_bytes()
    assert act(kb, "carol", step="purge-cache", **settle) == 1
    err = capsys.readouterr().err
    assert "carol approved step 'purge-cache'" in err and "someone else" in err
    assert log.read_bytes() == before
    assert act(kb, "alice", step="purge-cache", done=True, evidence="purged") == 0  # the runner still can


def test_kb808_says_the_approver_settled_the_step(kb: Path) -> None:
    """A log written by hand (or by an older kb) where the approver did the step: KB808 says
    so, not that the approver is running the run."""
    approved_by_carol(kb)
    (log,) = (kb / "runs").glob("*.jsonl")
    lines = log.read_bytes().splitlines()
    last = json.loads(lines[-1])
    done = {**last, "seq": len(lines), "actor": "carol", "event": "done", "evidence": "purged"}
    done.pop("item"), done.pop("verdict")
    done["prev"] = line_digest(lines[-1])
    log.write_bytes(log.read_bytes() + json.dumps(done).encode() + b"\n")
    result = run_check(RuleContext(load_kb(kb)), select=["KB808"])
    (finding,) = result.diagnostics
    assert "'carol' settled step purge-cache" in finding.message
    assert "running this run" not in finding.message
