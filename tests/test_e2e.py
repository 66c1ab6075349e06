"""The thin end-to-end layer: `python -m kb` in a subprocess, as a user or CI runs it.

One smoke test per verb and per output format, for what only a real process shows: argv
parsing by the typer app, exit codes, what goes to stdout and what to stderr, finding the KB
from the working directory. What each verb does is tested in process elsewhere
(tests call `kb.commands.<verb>.run`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import SNAPSHOT_KB, complete_drill, copy_kb, run_kb


@pytest.fixture
def defect(snapshot_kb: Path) -> Path:
    """The snapshot with one error: a card whose rotation is not in oncall.yaml."""
    card = snapshot_kb / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    return snapshot_kb


# ---- kb check, in each format ---------------------------------------------------------------


def test_check_text(defect: Path) -> None:
    result = run_kb("check", cwd=defect / "cards")  # found from a subfolder
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("cards/queue-stuck.yaml:9:11: error KB130 ")
    assert "[ref/unknown-rotation]" in result.stdout and result.stderr == ""


def test_check_json(defect: Path) -> None:
    result = run_kb("check", "--format", "json", "cards/queue-stuck.yaml", cwd=defect)
    assert result.returncode == 1
    assert [(d["path"], d["line"], d["code"]) for d in json.loads(result.stdout) if d["level"] == "error"] == [
        ("cards/queue-stuck.yaml", 9, "KB130")
    ]


def test_check_github_on_actions(defect: Path) -> None:
    result = run_kb("check", cwd=defect, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=cards/queue-stuck.yaml,line=9,col=11,")


def test_check_sarif_to_a_file(defect: Path, tmp_path: Path) -> None:
    out = tmp_path / "kb.sarif"
    result = run_kb("check", "-f", "sarif", "-o", str(out), "--select", "KB1", cwd=defect)
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads(out.read_text())["runs"][0]["results"][0]["ruleId"] == "KB130"


def test_check_usage_errors_exit_2(snapshot_kb: Path, tmp_path: Path) -> None:
    unknown_format = run_kb("check", "--format", "xml", cwd=snapshot_kb)
    assert unknown_format.returncode == 2 and "xml" in unknown_format.stderr and unknown_format.stdout == ""
    unknown_flag = run_kb("check", "--no-such-flag", cwd=snapshot_kb)
    assert unknown_flag.returncode == 2 and "--no-such-flag" in unknown_flag.stderr
    outside = run_kb("check", cwd=tmp_path)
    assert outside.returncode == 2 and outside.stderr.startswith("kb: no mkdocs.yml in ")
    assert "Traceback" not in unknown_format.stderr + unknown_flag.stderr + outside.stderr


def test_version_and_help() -> None:
    version = run_kb("--version")
    assert version.returncode == 0 and version.stdout.startswith("kb ")
    helped = run_kb("route", "--help")  # the fast path leaves --help to the typer app
    assert helped.returncode == 0 and "--show" in helped.stdout


def test_console_script_exit_codes(tmp_path: Path) -> None:
    script = shutil.which("kb")
    if script is None:
        pytest.skip("the kb console script is not installed (pip install -e .)")
    result = subprocess.run([script, "check"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("kb: no mkdocs.yml")


# ---- the other verbs ------------------------------------------------------------------------


def test_rules() -> None:
    assert "KB201  card/step-without-done" in run_kb("rules").stdout
    unknown = run_kb("rules", "KB999")
    assert unknown.returncode == 2 and unknown.stderr == "kb: no rule 'KB999'; `kb rules` lists them\n"


def test_schema(snapshot_kb: Path) -> None:
    (snapshot_kb / "schemas" / "card.schema.json").write_text("{}")
    stale = run_kb("schema", "--check", cwd=snapshot_kb)
    assert stale.returncode == 1 and "schemas/card.schema.json is out of date" in stale.stdout
    written = run_kb("schema", cwd=snapshot_kb)
    assert written.returncode == 0 and "schema file(s) written to schemas/" in written.stdout


def test_access_text() -> None:
    result = run_kb("access", "--root", str(SNAPSHOT_KB))
    assert result.returncode == 0 and "queue-stuck" in result.stdout


def test_access_json_and_unknown_card() -> None:
    data = json.loads(run_kb("access", "--format", "json", "--root", str(SNAPSHOT_KB)).stdout)
    assert all(row["verdict"] == "executable" for row in data["cards"])
    unknown = run_kb("access", "nope", "--root", str(SNAPSHOT_KB))
    assert unknown.returncode == 1 and "no card 'nope'" in unknown.stderr


def test_new_postmortem(snapshot_kb: Path) -> None:
    result = run_kb(
        "new",
        "postmortem",
        "--title",
        "Smoke test",
        "--priority",
        "P3",
        "--card",
        "queue-stuck",
        "--started-at",
        "2026-11-21T03:00:00+00:00",
        cwd=snapshot_kb,
        input="",
    )
    assert result.returncode == 0, result.stderr
    assert "created postmortems/PM-2026-013-smoke-test.yaml (PM-2026-013)" in result.stdout
    missing = run_kb("new", "postmortem", "--title", "x", cwd=snapshot_kb, input="")  # stdin is not a terminal
    assert missing.returncode == 2 and "missing --priority (not on a terminal" in missing.stderr


def test_new_card(snapshot_kb: Path) -> None:
    args = ["new", "card", "--title", "Smoke card", "--rotation", "sre-primary", "--priority", "P3", "--owner", "sre"]
    # alerts no card lists yet: an alert another card lists is refused (one card per alert, KB530)
    result = run_kb(*args, "--alert", "SmokeQueueStalled", "--alert", "SmokePublishStalled", cwd=snapshot_kb)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((snapshot_kb / "cards" / "smoke-card.yaml").read_text())["triggers"]["alerts"] == [
        "SmokeQueueStalled",
        "SmokePublishStalled",
    ]
    again = run_kb(*args, cwd=snapshot_kb)
    assert again.returncode == 1 and "nothing was overwritten" in again.stderr


def test_followups_text() -> None:
    result = run_kb("followups", "--sort", "due", "--root", str(SNAPSHOT_KB))
    assert result.returncode == 0 and "3 open follow-ups, 0 overdue." in result.stdout


def test_followups_json_and_fail_overdue(snapshot_kb: Path) -> None:
    items = json.loads(run_kb("followups", "--format", "json", cwd=snapshot_kb).stdout)
    assert [(i["postmortem"], i["id"]) for i in items][0] == ("PM-2026-011", "R2")
    config = snapshot_kb / "mkdocs.yml"
    config.write_text(config.read_text().replace("today: 2026-11-30", "today: 2027-01-30"))
    assert run_kb("followups", "--fail-overdue", cwd=snapshot_kb).returncode == 1
    assert run_kb("followups", "--sort", "size", cwd=snapshot_kb).returncode == 2


def test_followups_done_wont_do_reopen(snapshot_kb: Path) -> None:
    pm = snapshot_kb / "postmortems" / "PM-2026-011-rotation-could-not-roll-back.yaml"
    done = run_kb("followups", "done", "PM-2026-011", "R2", cwd=snapshot_kb)
    assert done.returncode == 0 and "R2 is done" in done.stdout
    no_why = run_kb("followups", "wont-do", "PM-2026-011", "R2", cwd=snapshot_kb)
    assert no_why.returncode == 2 and "--why" in no_why.stderr  # a required option, refused by the CLI
    wont = run_kb("followups", "wont-do", "PM-2026-011", "R2", "--why", "Superseded", cwd=snapshot_kb)
    assert wont.returncode == 0 and "why: Superseded" in pm.read_text()
    reopened = run_kb("followups", "reopen", "PM-2026-011", "R2", cwd=snapshot_kb)
    assert reopened.returncode == 0 and "R2 is open" in reopened.stdout


def test_card_verified_and_drilled(snapshot_kb: Path) -> None:
    card = snapshot_kb / "cards" / "queue-stuck.yaml"
    before = card.read_text()
    day = complete_drill(snapshot_kb, "queue-stuck")  # a drilled stamp needs a drill log behind it (#19)
    card.write_text(before)
    verified = run_kb("card", "verified", "queue-stuck", cwd=snapshot_kb)
    assert verified.returncode == 0 and "last_verified: 2026-11-30" in card.read_text()
    drilled = run_kb("card", "drilled", "queue-stuck", cwd=snapshot_kb)
    assert drilled.returncode == 0 and f"last_drilled: {day}" in card.read_text()
    refused = run_kb("card", "drilled", "../oncall", cwd=snapshot_kb)  # a path through argv
    assert refused.returncode == 1 and "is not a card id" in refused.stderr


def test_init(tmp_path: Path) -> None:
    result = run_kb("init", str(tmp_path / "new-kb"), "--name", "Smoke")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new-kb" / "mkdocs.yml").read_text().startswith("site_name: Smoke")
    again = run_kb("init", str(tmp_path / "new-kb"))
    assert again.returncode == 1 and "never overwrites" in again.stderr


def test_emit(snapshot_kb: Path) -> None:
    (snapshot_kb / "rules" / "kb" / "evals" / "PM-2026-004.jsonl").unlink()
    stale = run_kb("emit", "--check", cwd=snapshot_kb)
    assert stale.returncode == 1 and "rules/kb/evals/PM-2026-004.jsonl is out of date" in stale.stderr
    written = run_kb("emit", cwd=snapshot_kb)
    assert written.returncode == 0 and "wrote rules/kb/evals/PM-2026-004.jsonl" in written.stdout


def test_show() -> None:
    shown = run_kb("show", "token-spend-runaway", "--root", str(SNAPSHOT_KB))
    assert shown.returncode == 0 and shown.stdout.startswith("Token spend is running away  [token-spend-runaway]")
    missing = run_kb("show", "nope", "--root", str(SNAPSHOT_KB))
    assert missing.returncode == 1 and missing.stderr == "kb: no card 'nope'\n"


def test_route_text(tmp_path: Path) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    found = run_kb("route", "jobs", "pending", "--show", cwd=root / "cards")
    assert found.returncode == 0 and "card: cards/queue-stuck.yaml" in found.stdout and "ROLLBACK" in found.stdout
    nothing = run_kb("route", "xylophone", cwd=root)
    assert nothing.returncode == 1 and nothing.stdout == "" and "no card matches 'xylophone'" in nothing.stderr
    usage = run_kb("route", "--no-such-flag", "x", cwd=root)  # the fast path hands usage errors to typer
    assert usage.returncode == 2 and "--no-such-flag" in usage.stderr


def test_route_json() -> None:
    result = run_kb("route", "PublishConsumersPaused", "-f", "json", "--root", str(SNAPSHOT_KB))
    assert result.returncode == 0
    assert json.loads(result.stdout)["matches"][0]["card_id"] == "queue-stuck"


@pytest.mark.parametrize("argv", [["route", "AgentSpendRateHigh"], ["show", "queue-stuck"]])
def test_route_and_show_start_without_the_typer_app(argv: list[str]) -> None:
    """Run half awake at 02:17: `python -m kb route` must not pay for importing typer and every verb."""
    result = run_kb(*argv, "--root", str(SNAPSHOT_KB), python=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import")}
    assert "kb.commands.fast_path" in imported
    assert not {"typer", "click", "kb.cli"} & imported, sorted(m for m in imported if m.startswith(("typer", "kb.")))


def test_the_console_script_also_starts_route_without_the_typer_app() -> None:
    """The installed `kb` runs kb.__main__:main, as `python -m kb` does."""
    code = (
        "import sys; sys.argv = ['kb', 'route', 'AgentSpendRateHigh', '--root', sys.argv[1]]; "
        "from kb.__main__ import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, str(SNAPSHOT_KB)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import")}
    assert not {"typer", "click", "kb.cli"} & imported
    from importlib.metadata import distribution

    scripts = [e for e in distribution("kb-runbooks").entry_points if e.group == "console_scripts" and e.name == "kb"]
    assert [e.value.split()[0] for e in scripts] == ["kb.__main__:main"]
