"""The proof behind an emitted alert, with the real promtool (issue #15).

promtool's own line numbers are kept (`yaml: unmarshal errors:` lists one line per
problem), output kb cannot read is an error and never a pass, the replays run in kb check,
and `require_promtool: true` turns a missing promtool into an error.

Every test here runs with Debian's promtool (2.42 on bookworm) and, where KB_PROMTOOL3 names
a promtool 3.x binary (.ci/run unpacks Debian's current `promtool` package for it), with
that one too: kb reads the output of both."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import require_tool
from test_rule_cases import apply_files

from kb.check.engine import run_check
from kb.emit import promtool
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

UNMARSHAL = "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up == 0\n    fro: 5m\n    labelz: {}\n"

NEVER_FIRES = """id: PM-2026-001
title: Queue stalled
status: draft
priority: P2
started_at: 2026-11-03T01:52:00+00:00
model_inference: {involved: false, why_not: No agent took part.}
reinforcements:
  - id: R1
    kind: alert
    alert:
      name: QueueConsumersPaused
      expr: sum(queue_consumers_running) == 0
      for: 5m
      priority: P2
      card: queue-stuck
      summary: Consumers paused
      replay:
        series:
          - {series: 'queue_consumers_running', values: '3x60'}
        fires_at: 20m
"""


VERSIONS = ["installed", *(["3.x"] if os.environ.get("KB_PROMTOOL3") else [])]


@pytest.fixture(autouse=True, params=VERSIONS)
def promtool_version(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> str:
    """The promtool the test runs with: the installed one, or KB_PROMTOOL3 first on PATH."""
    if request.param == "3.x":
        binary = Path(os.environ["KB_PROMTOOL3"])
        folder = tmp_path_factory.mktemp("promtool3")
        (folder / "promtool").symlink_to(binary)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
        assert version.startswith("promtool, version 3."), version
    return request.param


def test_promtool_3_is_there_where_ci_promised_it() -> None:
    if os.environ.get("KB_REQUIRE_TOOLS") == "1" and not os.environ.get("KB_PROMTOOL3"):
        pytest.fail("KB_REQUIRE_TOOLS=1 but KB_PROMTOOL3 names no promtool 3.x (.ci/run unpacks one)")


def test_unmarshal_errors_keep_promtools_line_numbers(tmp_path: Path) -> None:
    require_tool("promtool")
    path = tmp_path / "u.yml"
    path.write_text(UNMARSHAL)
    errors = promtool.check_rules([path])
    # the Go type promtool names changed (rulefmt.RuleNode in 2.x, rulefmt.Rule in 3.x); the lines did not
    assert [(e.line, e.message.replace("rulefmt.RuleNode", "rulefmt.Rule")) for e in errors] == [
        (6, "yaml: field fro not found in type rulefmt.Rule"),
        (7, "yaml: field labelz not found in type rulefmt.Rule"),
    ]


def test_bad_promql_points_at_its_source(base_kb: Path) -> None:
    """KB602's own case, with whichever promtool runs: the emitted alert at its postmortem's
    expr, the hand-written rule at promtool's line and column."""
    require_tool("promtool")
    cases = yaml.safe_load((Path(__file__).parent / "rule_cases" / "KB602.yaml").read_text())["cases"]
    case = next(c for c in cases if c["name"] == "bad-expressions-point-at-their-source")
    apply_files(base_kb, case)
    found = [d for d in run_check(RuleContext(load_kb(base_kb)), select=["KB602"]).diagnostics if d.code == "KB602"]
    assert [(d.path, d.span.line, d.span.column) for d in found] == [
        (e["path"], e["line"], e["column"]) for e in case["expect"]
    ]
    assert all(e["message"] in d.message for d, e in zip(found, case["expect"]))


def test_yaml_syntax_error_keeps_its_line(tmp_path: Path) -> None:
    require_tool("promtool")
    path = tmp_path / "w.yml"
    path.write_text("groups:\n- name: a\n  rules: [\n")
    errors = promtool.check_rules([path])
    assert [(e.line, e.message) for e in errors] == [(3, "yaml: line 3: did not find expected node content")]


def test_unreadable_failure_is_an_error_never_a_pass(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    errors = promtool.parse("panic: runtime error: something kb has never seen\n", [path], returncode=2)
    assert len(errors) == 1 and "promtool exited 2 and kb could not read why: panic: runtime error" in errors[0].message
    run = promtool.parse_test_output("Unit Testing:  t.yml\nsomething new\n", 1)
    assert not run.ok and run.problem and "something new" in run.problem


def test_a_broken_test_file_keeps_promtools_line(tmp_path: Path) -> None:
    require_tool("promtool")
    path = tmp_path / "t.yml"
    path.write_text("tests: [\n  bad")
    run = promtool.run_tests(path)
    assert not run.ok and run.problem and "line 2" in run.problem


def test_kb_check_runs_the_replay(base_kb: Path) -> None:
    require_tool("promtool")
    (base_kb / "postmortems" / "PM-2026-001-queue.yaml").write_text(NEVER_FIRES)
    result = run_check(RuleContext(load_kb(base_kb)))
    found = [d for d in result.diagnostics if d.code == "KB605"]
    assert [(d.path, d.span.line) for d in found] == [("postmortems/PM-2026-001-queue.yaml", 18)]
    assert "does not fire at 20m" in found[0].message
    assert found[0].level.value == "error"


def test_require_promtool_makes_a_missing_promtool_an_error(
    base_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base_kb / "postmortems" / "PM-2026-001-queue.yaml").write_text(NEVER_FIRES)
    mkdocs = base_kb / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text() + "      rules:\n        KB605: {require_promtool: true}\n")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without promtool, for real
    result = run_check(RuleContext(load_kb(base_kb)), select=["KB605"])
    found = [d for d in result.diagnostics if d.code == "KB605"]
    assert len(found) == 1 and found[0].level.value == "error" and "promtool is not installed" in found[0].message
    mkdocs.write_text(mkdocs.read_text().replace("require_promtool: true", "require_promtool: false"))
    assert [
        d for d in run_check(RuleContext(load_kb(base_kb)), select=["KB605"]).diagnostics if d.code == "KB605"
    ] == []
