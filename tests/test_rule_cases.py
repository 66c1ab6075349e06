"""Every rule's failing and passing cases, as data (tests/rule_cases/<CODE>.yaml).

A case overlays files on the small base knowledge base in tests/fixtures/base (a file set
to null is deleted; `symlinks` makes links), runs only that rule, and expects exactly the listed findings: path,
line, and column when given, and a fragment of the message when given. `select` runs more
rules than the one under test (an unused suppression is only judged for rules that ran);
`requires` names system tools the case needs (skipped without them, failed in CI).

A passing case is a near miss of a failing one: the same files, edited so that they just pass
(never the bare fixture, which test_base_fixture_is_clean covers), and every document it
edits must load, or the rule would pass it by skipping it; `raw: true` marks a rule that reads
the raw text (YAML syntax, secrets), where a document need not load.
"""

from __future__ import annotations

import codecs
import copy
import functools
from pathlib import Path

import pytest
import yaml
from conftest import require_tool

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules import all_rules
from kb.rules.context import RuleContext

CASES_DIR = Path(__file__).parent / "rule_cases"


@functools.cache
def _parsed() -> tuple[tuple[str, dict], ...]:
    """(rule, case) of every case file, parsed once per process: three test modules
    parametrize over them, and PyYAML takes a tenth of a second to read them all."""
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases += [(data["rule"], case) for case in data["cases"]]
    return tuple(cases)


def _cases():
    for rule, case in _parsed():  # a copy each time: a test that edited its case could not reach another
        yield pytest.param(rule, copy.deepcopy(case), id=f"{rule}-{case['name']}")


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


def edited(case: dict) -> set[str]:
    """The paths a case writes, deletes or links."""
    return {rel for key in ("files", "files_bytes", "symlinks") for rel in case.get(key) or {}}


def promtool_reads(code: str, case: dict) -> bool:
    """Whether promtool's verdict on a case can differ from its verdict on the base KB: the
    case's rule runs promtool or the case needs it, or the case edits what promtool reads (the
    alerts emitted from postmortems/ under mkdocs.yml's settings, the rule files under rules/).
    A test that replays every case runs the others as on a machine without promtool."""
    tools = set(case.get("requires") or []) | set(all_rules()[code].tools)
    return "promtool" in tools or any(
        rel.startswith(("postmortems/", "rules/")) or rel == "mkdocs.yml" for rel in edited(case)
    )


@pytest.mark.parametrize(("code", "case"), list(_cases()))
def test_rule_case(base_kb: Path, code: str, case: dict) -> None:
    for tool in case.get("requires", []):
        require_tool(tool)
    apply_files(base_kb, case)
    kb = load_kb(base_kb)
    result = run_check(RuleContext(kb), select=case.get("select") or [code])
    found = [d for d in result.diagnostics if d.code == code]
    expected = case.get("expect") or []
    if not expected and not case.get(
        "raw"
    ):  # it passes on its merits, not because a rule skipped a file it could not load
        unloaded = [doc.path for doc in kb.documents() if doc.path in edited(case) and doc.model is None]
        assert not unloaded, f"{unloaded} do not load, so {code} cannot judge them: the case proves nothing"
    assert len(found) == len(expected), "\n".join(f"{d.path}:{d.span.line}:{d.span.column} {d.message}" for d in found)
    for diag, want in zip(found, expected):
        assert diag.path == want["path"]
        assert diag.span.line == want["line"], diag.message
        if "column" in want:
            assert diag.span.column == want["column"], diag.message
        if "message" in want:
            assert want["message"] in diag.message


def test_base_fixture_is_clean(base_kb: Path) -> None:
    """What a bare passing case would show, once for every rule: the base KB has no finding."""
    result = run_check(RuleContext(load_kb(base_kb)))
    assert [(d.code, d.path, d.span.line, d.message) for d in result.diagnostics] == []


def test_every_rule_has_a_failing_case_and_a_near_miss() -> None:
    kinds: dict[str, set[str]] = {}
    for param in _cases():
        code, case = param.values
        assert edited(case), f"{code} {case['name']} changes no file: write a near miss of a failing case"
        kinds.setdefault(code, set()).add("fail" if case.get("expect") else "pass")
    for code in all_rules():
        assert kinds.get(code) == {"fail", "pass"}, f"{code} needs failing and passing cases in tests/rule_cases/"
