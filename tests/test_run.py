"""`kb run` without a terminal (#19): one event per call, approvals, drills, the postmortem it
seeds, and what `kb check` says about the logs. In process through the verbs; one subprocess
smoke test of the real CLI."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import REPO, run_kb

from kb.check.engine import run_check
from kb.commands import card as card_verb
from kb.commands import new as new_verb
from kb.commands import run as run_verb
from kb.core.diagnostics import Level
from kb.load.loader import load_kb
from kb.load.runs import line_digest
from kb.model import Postmortem
from kb.rules.context import RuleContext

FIXTURE = REPO / "tests" / "fixtures" / "runs_kb"
CARD = "prompt-regression"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    return root


def act(kb: Path, who: str, drill: bool = False, run_id: str | None = None, **action) -> int:
    return run_verb.run(CARD, who, drill, False, run_id, run_verb.Action(**action), kb)


def log_lines(kb: Path) -> list[dict]:
    (path,) = sorted((kb / "runs").glob("*.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def check(kb: Path, select: list[str] | None = None):
    return run_check(RuleContext(load_kb(kb)), select=select)


def full_run(kb: Path, drill: bool = False) -> None:
    assert act(kb, "alice", drill=drill, start=True) == 0
    assert act(kb, "triage-bot", step="confirm-deploy", done=True, evidence="deploy 41 at 01:50") == 0
    assert act(kb, "alice", step="rollback", done=True, evidence="v40 serves 100%") == 0
    assert act(kb, "alice", note="Rolled back; watching answer quality", update=True) == 0
    assert act(kb, "alice", step="purge-cache", approve=True, approver="carol") == 0
    for tenant in ("tenant-a", "tenant-b"):
        assert act(kb, "alice", step="purge-cache", item=tenant, verdict="purged") == 0
    assert act(kb, "alice", step="purge-cache", done=True, evidence="generation +1 on both") == 0
    assert act(kb, "alice", step="restore", done=True, evidence="v41 serves 100% again") == 0


def test_a_full_run_is_a_valid_chained_log(kb: Path, capsys) -> None:
    full_run(kb)
    assert act(kb, "alice", end="mitigated") == 0
    lines = log_lines(kb)
    assert [line["event"] for line in lines] == [
        "start", "done", "done", "note", "approved", "item", "item", "done", "done", "end",
    ]  # fmt: skip
    raw = next((kb / "runs").glob("*.jsonl")).read_bytes().split(b"\n")
    for index, line in enumerate(lines):
        assert line["seq"] == index
        assert line["prev"] == (line_digest(raw[index - 1]) if index else None)
        assert line["at"][-6] in "+-"  # an offset, always
    result = check(kb)
    assert result.exit_code == 0, [d.message for d in result.diagnostics]
    assert not [d for d in result.diagnostics if d.code.startswith("KB8")]


def test_events_are_refused_before_anything_is_written(kb: Path, capsys) -> None:
    assert act(kb, "alice", start=True) == 0
    before = log_lines(kb)
    assert act(kb, "alice", step="rollback", done=True) == 2  # no evidence
    assert act(kb, "alice", step="rollback", skipped=True) == 2  # no why
    assert act(kb, "alice", step="no-such-step", done=True, evidence="x") == 1
    assert act(kb, "alice", step="rollback", item="t", verdict="ok") == 1  # not a worklist step
    assert act(kb, "alice", step="rollback", done=True, skipped=True, evidence="x", why="y") == 2
    assert act(kb, "mallory", step="rollback", done=True, evidence="x") == 1  # not in oncall.yaml
    assert act(kb, "alice", end="fixed") == 2
    assert act(kb, "alice", start=True) == 1  # one open run per card
    assert log_lines(kb) == before
    err = capsys.readouterr().err
    assert "--done needs --evidence" in err and "has no step 'no-such-step'" in err and "is not a person" in err


@pytest.mark.parametrize(
    ("recorder", "approver", "why"),
    [
        ("bob", "alice", "is running this run"),  # alice started it
        ("alice", "alice", "cannot record their own approval"),
        ("carol", "carol", "cannot record their own approval"),
        ("alice", "bob", "may not give the incident-commander approval"),  # sre approves nothing
        ("alice", "triage-bot", "may not give the incident-commander approval"),  # an agent is no approver
        ("triage-bot", "carol", "an agent cannot record an approval"),
        ("alice", "mallory", "is not a person"),
        ("mallory", "carol", "is not a person"),
    ],
)
def test_an_approval_by_a_forbidden_person_is_refused(kb: Path, capsys, recorder: str, approver: str, why: str) -> None:
    assert act(kb, "alice", start=True) == 0
    before = log_lines(kb)
    assert act(kb, recorder, step="purge-cache", approve=True, approver=approver) == 1
    assert why in capsys.readouterr().err
    assert log_lines(kb) == before
    assert act(kb, "alice", step="purge-cache", item="t", verdict="ok") == 0
    assert act(kb, "alice", step="purge-cache", done=True, evidence="x") == 1  # irreversible, still unapproved
    assert "needs approval (incident-commander)" in capsys.readouterr().err


def test_a_retried_done_is_not_recorded_twice(kb: Path, capsys) -> None:
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "alice", step="rollback", done=True, evidence="v40") == 0
    assert act(kb, "alice", step="rollback", done=True, evidence="v40") == 0  # an agent retrying after a crash
    assert act(kb, "alice", step="rollback", done=True, evidence="something else") == 1
    assert [line["event"] for line in log_lines(kb)] == ["start", "done"]


def test_a_drill_that_beats_the_targets_sets_last_drilled(kb: Path, capsys) -> None:
    full_run(kb, drill=True)
    assert act(kb, "alice", end="mitigated") == 0
    out = capsys.readouterr().out
    assert "the drill beat every target" in out
    start = log_lines(kb)[0]
    day = start["at"][:10]
    assert f"last_drilled: {day}" in (kb / "cards" / f"{CARD}.yaml").read_text()
    result = check(kb)
    assert result.exit_code == 0 and not [d for d in result.diagnostics if d.code in ("KB811", "KB812")]
    assert card_verb.run("drilled", CARD, kb) == 0  # the stamp from the log: already there
    assert "(already)" in capsys.readouterr().out


def test_a_drill_that_misses_its_targets(kb: Path, capsys) -> None:
    mkdocs = kb / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text() + "      drill_targets: {switchback_minutes: 0.004}\n")  # 0.24 s
    assert act(kb, "alice", drill=True, start=True) == 0
    assert act(kb, "alice", step="confirm-deploy", done=True, evidence="deploy 41") == 0
    time.sleep(0.5)  # real time passes; the log's own timestamps measure it
    assert act(kb, "alice", step="rollback", done=True, evidence="v40") == 0
    for step in ("purge-cache", "restore"):  # an outcome for every step: a complete drill
        assert act(kb, "alice", step=step, skipped=True, why="staging has no cache") == 0
    assert act(kb, "alice", end="mitigated") == 1
    out = capsys.readouterr().out
    assert "switchback" in out and "MISSES" in out and "the drill missed a target" in out
    assert "first update   not shown by the log" in out  # no status update was posted
    infos = [d for d in check(kb, ["KB812"]).diagnostics]
    assert {d.level for d in infos} == {Level.INFO}
    messages = " ".join(d.message for d in infos)
    assert "switchback_minutes" in messages and "first_update_minutes not shown" in messages
    assert "last_drilled" in (kb / "cards" / f"{CARD}.yaml").read_text()  # drilled, slowly: still drilled


def test_an_abandoned_drill_proves_nothing(kb: Path, capsys) -> None:
    assert act(kb, "alice", drill=True, start=True) == 0
    assert act(kb, "alice", end="abandoned", why="staging down") == 1
    assert "last_drilled" not in (kb / "cards" / f"{CARD}.yaml").read_text()
    assert card_verb.run("drilled", CARD, kb) == 1
    assert "no completed drill log" in capsys.readouterr().err


def test_a_drilled_date_without_a_log_is_a_finding(kb: Path) -> None:
    path = kb / "cards" / f"{CARD}.yaml"
    path.write_text(path.read_text() + "last_drilled: 2026-11-20\n")
    (finding,) = [d for d in check(kb).diagnostics if d.code == "KB811"]
    assert finding.level is Level.WARNING and finding.span.line == len(path.read_text().splitlines())


def test_from_run_seeds_a_postmortem_that_passes_check_at_draft(kb: Path, capsys) -> None:
    full_run(kb)
    assert act(kb, "alice", step="confirm-deploy", item="x", verdict="y") == 1  # not a worklist step: refused
    assert act(kb, "alice", end="mitigated") == 0
    (log,) = (kb / "runs").glob("*.jsonl")
    assert new_verb.postmortem(root=kb, from_run=Path("runs") / log.name) == 0
    (pm_path,) = (kb / "postmortems").glob("PM-*-002-*.yaml")
    from kb.core import yamlio

    pm = Postmortem.model_validate(yamlio.load_mapping(pm_path.read_bytes()))
    events = log_lines(kb)
    assert pm.status == "draft" and pm.cards == [CARD] and pm.priority == "P1"
    assert pm.started_at.isoformat(timespec="milliseconds") == events[0]["at"]
    assert pm.detected_at == pm.started_at
    assert pm.mitigated_at.isoformat(timespec="milliseconds") == events[7]["at"]  # purge-cache: the last step
    assert len(pm.timeline) == len(events)
    assert [row.at.isoformat(timespec="milliseconds") for row in pm.timeline] == [e["at"] for e in events]
    assert pm.timeline[1].actor == "agent"  # triage-bot did confirm-deploy
    assert {row.actor for row in pm.timeline} == {"human", "agent"}
    decisions = [row.event for row in pm.timeline if row.decision]
    assert decisions == [pm.timeline[4].event, pm.timeline[7].event]  # the approval, the irreversible step
    assert "carol approved" in decisions[0]
    result = check(kb)
    assert result.exit_code == 0, [f"{d.path}:{d.span.line} {d.message}" for d in result.diagnostics]


def test_from_run_refuses_a_tampered_log(kb: Path, capsys) -> None:
    full_run(kb)
    (log,) = (kb / "runs").glob("*.jsonl")
    log.write_text(log.read_text().replace("v40 serves 100%", "v40 serves 90%"))
    assert new_verb.postmortem(root=kb, from_run=log) == 1
    assert "hash chain is broken" in capsys.readouterr().err
    assert not list((kb / "postmortems").glob("PM-*-002-*"))
    (finding,) = [d for d in check(kb).diagnostics if d.code == "KB802"]
    assert finding.span.line == 4  # the line after the edited one
    assert new_verb.postmortem(root=kb, from_run=kb / "oncall.yaml") == 1


def test_terminal_text_never_carries_control_sequences(kb: Path, capsys) -> None:
    assert run_verb.safe("a\x1b[2Jb\x07\u202ec\x9b") == "a\\x1b[2Jb\\x07\\u202ec\\x9b"
    assert run_verb.safe("tenant-é ✓\tok") == "tenant-é ✓\tok"
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "alice", step="ro\x1b[2Jllback", done=True, evidence="x") == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err  # off a terminal: plain text, and the id escaped
    assert "\\x1b[2J" in captured.err


def test_the_real_cli(kb: Path) -> None:
    env = {"KB_ACTOR": "alice"}
    started = run_kb("run", CARD, "--start", cwd=kb, env=env)
    assert started.returncode == 0 and "started runs/" in started.stdout
    done = run_kb("run", CARD, "--step", "rollback", "--done", "--evidence", "v40 at 100%", cwd=kb, env=env)
    assert done.returncode == 0, done.stderr
    walk = run_kb("run", CARD, cwd=kb, env=env)  # no terminal: the walk says how to go on without one
    assert walk.returncode == 2 and "--step ID --done --evidence" in walk.stderr
    assert [line["event"] for line in log_lines(kb)] == ["start", "done"]


def test_who_is_acting_must_be_said(kb: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("KB_ACTOR", raising=False)
    assert run_verb.run(CARD, None, action=run_verb.Action(start=True), root=kb) == 2
    assert "pass --as NAME" in capsys.readouterr().err
    monkeypatch.setenv("KB_ACTOR", "triage-bot")
    assert run_verb.run(CARD, None, action=run_verb.Action(start=True), root=kb) == 0
    assert log_lines(kb)[0]["actor"] == "triage-bot"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"drill": True, "action": {"note": "x"}}, "--drill marks a run when it starts"),
        ({"resume": True, "action": {"note": "x"}}, "--resume continues the guided walk"),
        ({"action": {"note": "x", "done": True, "step": "rollback"}}, "one event per call"),
        ({"action": {"done": True, "evidence": "x"}}, "--done needs --step ID"),
        ({"action": {"start": True, "step": "rollback"}}, "--step does not apply to --start"),
        ({"action": {"note": "x", "why": "y"}}, "--why goes with"),
        ({"action": {"step": "rollback"}}, "--step needs one of"),
        ({"action": {"evidence": "x"}}, "no event to go with"),
    ],
)
def test_flags_that_would_be_ignored_are_refused(kb: Path, capsys, flags: dict, message: str) -> None:
    action = run_verb.Action(**flags.get("action", {}))
    code = run_verb.run(CARD, "alice", flags.get("drill", False), flags.get("resume", False), None, action, kb)
    assert code == 2 and message in capsys.readouterr().err
    assert not (kb / "runs").exists()


def test_an_ended_run_takes_nothing_more(kb: Path, capsys) -> None:
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "alice", end="escalated", why="needs the provider") == 0
    (log,) = (kb / "runs").glob("*.jsonl")
    assert act(kb, "alice", run_id=log.stem, note="late") == 1
    assert act(kb, "alice", start=True) == 0  # a new run may start: the old one ended
    assert len(list((kb / "runs").glob("*.jsonl"))) == 2


def test_an_empty_run_log_is_a_finding(kb: Path) -> None:
    (kb / "runs").mkdir()
    (kb / "runs" / "2026-11-22-prompt-regression-1.jsonl").write_bytes(b"")
    (finding,) = [d for d in check(kb).diagnostics if d.code == "KB801"]
    assert "empty run log" in finding.message


def test_resume_without_a_terminal_says_where_the_run_stands(kb: Path, capsys) -> None:
    assert act(kb, "alice", start=True) == 0
    assert act(kb, "triage-bot", step="confirm-deploy", done=True, evidence="deploy 41") == 0
    assert act(kb, "alice", step="rollback", skipped=True, why="already rolled back by CI") == 0
    capsys.readouterr()
    before = log_lines(kb)
    assert run_verb.run(CARD, "triage-bot", False, True, None, None, kb) == 0  # an agent picks the run up
    out = capsys.readouterr().out
    assert "run " in out and ": open" in out
    assert "steps/confirm-deploy: done: deploy 41" in out and "steps/rollback: skipped: already rolled back" in out
    assert "next: purge-cache" in out and "run: cachectl purge --tenant $TENANT" in out
    assert "needs approval (incident-commander)" in out and "worklist: cachectl tenants" in out
    assert log_lines(kb) == before  # nothing written


def test_a_drill_that_walked_no_step_stamps_nothing(kb: Path, capsys) -> None:
    """start --drill then end mitigated, nothing done between: no drill behind a stamp (outside review)."""
    before = (kb / "cards" / f"{CARD}.yaml").read_text()
    assert act(kb, "alice", drill=True, start=True) == 0
    act(kb, "alice", end="mitigated")
    assert (kb / "cards" / f"{CARD}.yaml").read_text() == before
    assert card_verb.run("drilled", CARD, kb) == 1
    assert "no completed drill log" in capsys.readouterr().err
