"""Every rule's failing and passing cases, as data (tests/rule_cases/<CODE>.yaml).

A case overlays files on the small base knowledge base in tests/fixtures/base (a file set
to null is deleted; `symlinks` makes links), runs only that rule, and expects exactly the listed findings: path,
line, and column when given, and a fragment of the message when given. `select` runs more
rules than the one under test (an unused suppression is only judged for rules that ran);
`requires` names system tools the case needs (skipped without them, failed in CI).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml
from conftest import require_tool

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules import all_rules
from kb.rules.context import RuleContext

CASES_DIR = Path(__file__).parent / "rule_cases"


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(data["rule"], case, id=f"{data['rule']}-{case['name']}")


def apply_files(root: Path, case: dict) -> None:
    for rel, content in (case.get("files") or {}).items():
        target = root / rel
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    for rel, target in (case.get("symlinks") or {}).items():  # rel -> what the link points at
        link = root / rel
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    for rel, escaped in (case.get("files_bytes") or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(codecs.decode(escaped, "unicode_escape").encode("latin-1"))


@pytest.mark.parametrize(("code", "case"), list(_cases()))
def test_rule_case(base_kb: Path, code: str, case: dict) -> None:
    for tool in case.get("requires", []):
        require_tool(tool)
    apply_files(base_kb, case)
    result = run_check(RuleContext(load_kb(base_kb)), select=case.get("select") or [code])
    found = [d for d in result.diagnostics if d.code == code]
    expected = case.get("expect") or []
    assert len(found) == len(expected), "\n".join(f"{d.path}:{d.span.line}:{d.span.column} {d.message}" for d in found)
    for diag, want in zip(found, expected):
        assert diag.path == want["path"]
        assert diag.span.line == want["line"], diag.message
        if "column" in want:
            assert diag.span.column == want["column"], diag.message
        if "message" in want:
            assert want["message"] in diag.message


def test_every_rule_has_a_failing_and_a_passing_case() -> None:
    kinds: dict[str, set[str]] = {}
    for param in _cases():
        code, case = param.values
        kinds.setdefault(code, set()).add("fail" if case.get("expect") else "pass")
    for code in all_rules():
        assert kinds.get(code) == {"fail", "pass"}, f"{code} needs failing and passing cases in tests/rule_cases/"
