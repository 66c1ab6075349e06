"""`kb check` in process, as a user or CI runs it (the subprocess layer is tests/test_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from kb.commands import check, rules


def test_repo_knowledge_base_passes(call) -> None:
    """The one test on the living KB at the root: it must pass `kb check` (exit 0, whatever its content)."""
    result = call(check.run, root=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout or " 0 errors" in result.stdout


def test_root_is_found_from_a_subfolder(snapshot_kb: Path, call, monkeypatch) -> None:
    monkeypatch.chdir(snapshot_kb / "cards")
    result = call(check.run)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(21 files checked)" in result.stdout


# (file, text to replace, replacement, marker, column, code): one planted defect each; the
# finding must be on the line of the mutated file that holds `marker`, at `column`.
PLANTED = [
    (
        "cards/queue-stuck.yaml",
        '    done_when: "Queue depth falls for five minutes in a row"',
        '    done_wen: "Queue depth falls for five minutes in a row"',
        "done_wen",
        5,
        "KB111",
    ),
    ("cards/queue-stuck.yaml", "rotation: sre-primary", "rotation: sre-primery", "sre-primery", 11, "KB130"),
    ("cards/token-spend-runaway.yaml", "priority: P1", "priority: urgent", "priority: urgent", 11, "KB110"),
    (
        "cards/run-crashed-midway.yaml",
        "    section: resuming-a-run",
        "    section: resuming-a-job",
        "resuming-a-job",
        14,
        "KB134",
    ),
    (
        "cards/tool-schema-drift.yaml",
        "do: Save two traces that show the old field name sent and an empty result returned",
        "do: Review all traces from the last two hours",
        "Review all traces",
        9,
        "KB202",
    ),
    (
        "cards/agent-irreversible-actions.yaml",
        "    approval: incident-commander\n",
        "",
        "irreversible: true",
        19,
        "KB203",
    ),
    (
        "postmortems/PM-2026-004-wrong-recovery-script.yaml",
        "detected_at: 2026-11-03T02:14:00+00:00",
        "detected_at: 2026-11-03T02:14:00",
        "detected_at:",
        14,
        "KB113",
    ),
    (
        "postmortems/PM-2026-009-migration-restarted-dispatched-twice.yaml",
        "  why_not: >",
        "  because: >",
        "because:",
        3,
        "KB111",
    ),
    (
        "postmortems/PM-2026-007-research-agent-spend-runaway.yaml",
        "cards: [token-spend-runaway, agent-tool-loop]",
        "cards: [token-spend-runaway, agent-tool-lop]",
        "agent-tool-lop",
        30,
        "KB132",
    ),
    (
        "oncall.yaml",
        "    coverage: business\n    escalates_to: sre-primary",
        "    coverage: business\n\tescalates_to: sre-primary",
        "\tescalates_to",
        1,
        "KB100",
    ),
]


@pytest.mark.parametrize(
    ("path", "old", "new", "marker", "column", "code"), PLANTED, ids=[p[-1] + "-" + Path(p[0]).stem for p in PLANTED]
)
def test_planted_defect_is_found_at_its_node(snapshot_kb: Path, call, path, old, new, marker, column, code) -> None:
    target = snapshot_kb / path
    text = target.read_text(encoding="utf-8")
    assert old in text, "the planted defect's anchor text must exist"
    mutated = text.replace(old, new, 1)
    target.write_text(mutated, encoding="utf-8")
    line = mutated[: mutated.index(marker)].count("\n") + 1
    result = call(check.run, root=snapshot_kb)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [row for row in result.stdout.splitlines() if ": error " in row]
    assert errors == [row for row in errors if row.startswith(f"{path}:{line}:{column}: error {code} ")], result.stdout
    assert len(errors) == 1, "one defect, one error: no cascade"
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
def unknown_rotation(snapshot_kb: Path) -> Path:
    card = snapshot_kb / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    return snapshot_kb


def test_json_format_has_every_field(unknown_rotation: Path, call) -> None:
    result = call(check.run, output_format="json", root=unknown_rotation)
    assert result.returncode == 1
    items = [item for item in json.loads(result.stdout) if item["level"] == "error"]  # warnings: KB811 (#19)
    assert items[0] == {
        "path": "cards/queue-stuck.yaml",
        "line": 9,
        "column": 11,
        "end_line": 9,
        "end_column": 17,
        "code": "KB130",
        "name": "ref/unknown-rotation",
        "level": "error",
        "message": items[0]["message"],
        "help_url": "https://kb.example.org/rules/KB130/",
        "yaml_path": ["rotation"],
    }


def test_github_format_is_automatic_on_actions(unknown_rotation: Path, call, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = call(check.run, root=unknown_rotation)
    assert result.returncode == 1
    line = next(row for row in result.stdout.strip().splitlines() if row.startswith("::error"))  # KB811 warns first
    assert line.startswith(
        "::error file=cards/queue-stuck.yaml,line=9,col=11,endLine=9,endColumn=17,title=KB130 ref/unknown-rotation::"
    )


def test_sarif_format(unknown_rotation: Path, call) -> None:
    first = json.loads(call(check.run, output_format="sarif", root=unknown_rotation).stdout)
    assert first["version"] == "2.1.0"
    run = first["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "KB130")  # the repo's cards also carry KB811
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "KB130"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (9, 11)
    # a line added above the node moves it, but its fingerprint stays
    card = unknown_rotation / "cards/queue-stuck.yaml"
    card.write_text("# a new comment line\n" + card.read_text())
    results = json.loads(call(check.run, output_format="sarif", root=unknown_rotation).stdout)["runs"][0]["results"]
    second = next(r for r in results if r["ruleId"] == "KB130")
    assert second["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    assert second["partialFingerprints"] == result["partialFingerprints"]


def test_select_ignore_and_paths(unknown_rotation: Path, call, monkeypatch) -> None:
    monkeypatch.chdir(unknown_rotation)  # paths on the command line are relative to where kb runs
    assert call(check.run).returncode == 1  # the defect is there: every exit 0 below is the option's doing
    assert call(check.run, ignore=["KB130"]).returncode == 0
    assert call(check.run, select=["KB2"]).returncode == 0
    assert call(check.run, select=["ref/unknown-rotation"]).returncode == 1
    assert call(check.run, [Path("cards/prompt-regression.yaml")]).returncode == 0
    assert call(check.run, [Path("cards/queue-stuck.yaml")]).returncode == 1
    assert call(check.run, [Path("cards")]).returncode == 1


def test_inline_suppression(snapshot_kb: Path, call) -> None:
    card = snapshot_kb / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody  # kb: ignore[KB130]"))
    result = call(check.run, root=snapshot_kb)
    assert result.returncode == 0, result.stdout


def test_rule_levels_from_mkdocs_yml(unknown_rotation: Path, call) -> None:
    config = unknown_rotation / "mkdocs.yml"
    config.write_text(config.read_text().replace("      rules:\n", "      rules:\n        KB130: warning\n"))
    result = call(check.run, root=unknown_rotation)
    assert result.returncode == 0
    assert "warning KB130" in result.stdout


def test_exit_2_outside_a_knowledge_base(tmp_path: Path, call, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = call(check.run)
    assert result.returncode == 2
    assert "no mkdocs.yml" in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_2_on_an_unknown_format(snapshot_kb: Path, call) -> None:
    result = call(check.run, output_format="xml", root=snapshot_kb)
    assert result.returncode == 2 and "--format is one of text, json, github, sarif, not 'xml'" in result.stderr


def test_rules_listing_and_doc(call) -> None:
    listing = call(rules.run).stdout
    assert "KB201  card/step-without-done" in listing
    doc = call(rules.run, "card/step-without-done")
    assert doc.returncode == 0 and "Bad:" in doc.stdout and "Good:" in doc.stdout
    unknown = call(rules.run, "KB999")
    assert unknown.returncode == 2 and "no rule 'KB999'" in unknown.stderr


def test_output_file_is_written(snapshot_kb: Path, tmp_path: Path, call) -> None:
    out = tmp_path / "report.sarif"
    result = call(check.run, output_format="sarif", output=out, root=snapshot_kb)
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
