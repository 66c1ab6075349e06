"""CI and editors on real tools (issue #15): the package's own name, the shipped workflow
proved by actionlint, a KB in a subfolder of a repository (annotation and SARIF paths from the
repository root, a pre-commit hook that runs), and SARIF validated against the official
2.1.0 schema (tests/fixtures/sarif, from the OASIS SARIF TC) with what GitHub reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import BASE_KB, REPO, copy_kb, require_tool

from kb.commands import check as check_command

WORKFLOW = REPO / "tooling" / "ci" / "github-actions-kb.yml"
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text())
BROKEN_CARD_LINE = (
    "    done_when: Queue depth falls for five minutes\n",
    "    done_wen: Queue depth falls for five minutes\n",
)


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.org", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@e.org"
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose knowledge base sits in ops/kb/, with one broken card."""
    monkeypatch.setenv("KB_NO_CACHE", "1")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    repo = tmp_path / "repo"
    kb = copy_kb(BASE_KB, repo / "ops" / "kb")
    card = kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace(*BROKEN_CARD_LINE))
    git(repo, "init", "-q")
    return repo


def test_the_distribution_is_not_the_unrelated_kb_and_the_workflow_installs_it() -> None:
    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    assert name != "kb"  # "kb" on the package index is another project (checked with pip index versions)
    runs = [s.get("run", "") for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"]]
    assert any(re.match(rf"pip install {re.escape(name)}\b", r) for r in runs), runs
    assert not any(re.match(r"pip install kb(\s|$)", r) for r in runs)


def test_actionlint_passes_the_shipped_workflow_and_catches_a_broken_one(tmp_path: Path) -> None:
    tool = require_tool("actionlint")
    ok = subprocess.run([tool, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "kb.yml"
    broken.write_text(WORKFLOW.read_text().replace("github.base_ref", "github.base_reff"))
    bad = subprocess.run([tool, "-no-color", str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1 and "base_reff" in bad.stdout


def test_annotations_name_the_file_from_the_repository_root(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_command.run(output_format="github", root=nested / "ops" / "kb") == 1
    out = capsys.readouterr().out
    assert "::error file=ops/kb/cards/queue-stuck.yaml,line=" in out


def test_sarif_is_valid_and_has_what_github_reads(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_command.run(output_format="sarif", root=nested / "ops" / "kb") == 1
    log = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(SCHEMA).validate(log)  # the official OASIS schema
    run = log["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "ops/kb/cards/queue-stuck.yaml" in uris
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["helpUri"] == f"https://kb.test/rules/{rule['id']}/"
        assert len(rule["shortDescription"]["text"]) <= 1024 and len(rule["fullDescription"]["text"]) <= 1024
    for result in run["results"]:
        assert set(result["partialFingerprints"]) == {"primaryLocationLineHash"}  # the key GitHub uses


def test_sarif_of_every_rule_stays_within_githubs_limits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kb = copy_kb(BASE_KB, tmp_path / "kb")
    from kb.check.engine import CheckResult
    from kb.check.formats import sarif
    from kb.rules import all_rules

    log = json.loads(sarif.render(CheckResult([], 0, dict(all_rules())), "", "https://kb.test/"))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(all_rules()) and kb.is_dir()
    assert max(len(r["fullDescription"]["text"]) for r in rules) <= 1024


def test_fingerprints_survive_a_line_moving(nested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = nested / "ops" / "kb"
    check_command.run(output_format="sarif", root=root)
    before = {
        r["partialFingerprints"]["primaryLocationLineHash"]
        for r in json.loads(capsys.readouterr().out)["runs"][0]["results"]
    }
    card = root / "cards" / "queue-stuck.yaml"
    card.write_text("# a comment moves every line down\n" + card.read_text())
    check_command.run(output_format="sarif", root=root)
    after = {
        r["partialFingerprints"]["primaryLocationLineHash"]
        for r in json.loads(capsys.readouterr().out)["runs"][0]["results"]
    }
    assert before == after


def test_pre_commit_runs_the_hook_on_a_kb_in_a_subfolder(nested: Path, tmp_path: Path) -> None:
    tool = require_tool("pre-commit")
    require_tool("git")
    shutil.copy(REPO / "tooling" / "ci" / "pre-commit-config.example.yaml", nested / ".pre-commit-config.yaml")
    git(nested, "add", "-A")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PYTHONPATH": str(REPO),  # the kb on PATH imports this tree
        "KB_CACHE_DIR": str(tmp_path / "cache"),
        "NO_COLOR": "1",
    }
    env.pop("GITHUB_ACTIONS", None)
    if shutil.which("kb") is None:
        pytest.skip("the kb command is not on PATH (pip install -e .)")
    result = subprocess.run(
        [tool, "run", "--files", "ops/kb/cards/queue-stuck.yaml"], cwd=nested, env=env, capture_output=True, text=True
    )
    out = result.stdout + result.stderr
    assert "Skipped" not in out and "no files to check" not in out, out
    assert result.returncode == 1 and "KB111" in out and "done_wen" in out, out
    card = nested / "ops" / "kb" / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace(BROKEN_CARD_LINE[1], BROKEN_CARD_LINE[0]))
    fixed = subprocess.run(
        [tool, "run", "--files", "ops/kb/cards/queue-stuck.yaml"], cwd=nested, env=env, capture_output=True, text=True
    )
    assert fixed.returncode == 0 and "Passed" in fixed.stdout, fixed.stdout + fixed.stderr


def test_the_shipped_hook_patterns_match_a_subfolder() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        assert re.search(hook["files"], "ops/kb/postmortems/PM-2026-001-x.yaml"), hook["id"]
        assert re.search(hook["files"], "postmortems/PM-2026-001-x.yaml"), hook["id"]
        assert not re.search(hook["files"], "src/app.py")
