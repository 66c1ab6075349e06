"""Class 10: fail closed on typos. An unknown code or name in --select, --ignore or the
select/ignore/rules settings is an error (exit 2 on the command line, a config finding in
mkdocs.yml), `kb check PATH` on a path that does not exist is an error, and a partial
`severity:` map falls back per priority."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

TYPOS = ["KB999", "KB1O1", "card/no-such-rule", "KB", "kb-101", "nosuch/", "KB9", "secret/detectd", "*"]


@pytest.mark.parametrize("flag", ["--select", "--ignore"])
@pytest.mark.parametrize("typo", TYPOS)
def test_unknown_rule_on_the_command_line_exits_2(tmp_path: Path, flag: str, typo: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb("check", flag, typo, cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode == 2, result.output
    assert typo in result.stderr


def test_a_typo_among_good_codes_still_fails(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb("check", "--select", "KB701,KB79", cwd=root)
    assert result.returncode == 2 and "KB79" in result.stderr


@pytest.mark.parametrize("key", ["select", "ignore"])
@pytest.mark.parametrize("typo", ["KB999", "card/no-such-rule"])
def test_unknown_rule_in_settings_is_a_config_error(tmp_path: Path, key: str, typo: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + f"      {key}: [{typo}]\n")
    result = kb("check", "--format", "json", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode == 1, result.output
    found = [d for d in json.loads(result.stdout) if d["path"] == "mkdocs.yml"]
    assert found and typo in found[0]["message"], found


@pytest.mark.parametrize("typo", ["KB999", "card/no-such-rule", "KB7"])
def test_unknown_rule_in_rules_setting_is_a_config_error(tmp_path: Path, typo: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + f"      rules:\n        {typo}: off\n")
    result = kb("check", "--format", "json", cwd=root, env={"KB_NO_CACHE": "1"})
    assert result.returncode == 1, result.output
    assert any(typo in d["message"] for d in json.loads(result.stdout))


@pytest.mark.parametrize("path", ["cards/nope.yaml", "nope", "cards/queue-stuck.yml", "postmortems/PM-2026-999.yaml"])
def test_check_of_a_missing_path_exits_2(tmp_path: Path, path: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb("check", path, cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode == 2 and path in result.stderr, result.output


@pytest.mark.parametrize("severity", ["{P1: page}", "{P3: ticket}", "{}", "{P2: warning}"])
def test_a_partial_severity_map_falls_back_per_priority(tmp_path: Path, severity: str):
    from conftest import REPO

    root = copy_kb(BASE_KB, tmp_path / "kb")
    pm4 = "postmortems/PM-2026-004-wrong-recovery-script.yaml"
    (root / pm4).write_text((REPO / pm4).read_text())
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + f"      severity: {severity}\n")
    for args in (["check"], ["emit"], ["emit", "--check"]):
        result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
        no_traceback(result)
    rules = (root / "rules/kb/alerts/PM-2026-004.yml").read_text()
    assert "severity: critical" in rules or "severity: page" in rules, rules
