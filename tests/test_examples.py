"""examples/: three public AI incidents in kb's format. kb check passes on them with no
suppression beyond the documented ones (a source that names no day for a time)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_examples_pass_kb_check(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)  # tests never write into the repository
    kb = load_kb(root)
    result = run_check(RuleContext(kb))
    assert [(d.path, d.code, d.message) for d in result.diagnostics if d.level.value in ("error", "warning")] == []
    models = [d.model for d in kb.postmortems]
    assert len(models) == 3 and all(m is not None for m in models)
    for pm in models:
        assert pm.status in ("review", "complete")
        row = pm.model_inference
        assert row.involved and row.all_failure_modes and row.all_models and row.inferred and row.expected
        assert row.trace_id or row.trace_unavailable
        assert all(r.addresses for r in pm.reinforcements)  # every reinforcement says which root cause
        assert all(c.id for c in pm.root_causes)


def test_suppressions_in_examples_are_only_for_unknown_days() -> None:
    for path in sorted((EXAMPLES / "postmortems").glob("*.yaml")):
        for line in path.read_text().splitlines():
            if "kb: ignore" in line:
                assert line.split(":")[0] in ("detected_at", "mitigated_at") and ": null" in line, (path.name, line)


def test_examples_match_the_json_schema_editors_use() -> None:
    """The schema an editor validates with (generated from the models) agrees with kb on
    date-only times, shares, lists of models and failure modes, tasks."""
    import json

    import pytest

    jsonschema = pytest.importorskip("jsonschema")
    from kb.core import yamlio
    from kb.model.schema import schema_text

    validator = jsonschema.Draft202012Validator(
        json.loads(schema_text("postmortem")), format_checker=jsonschema.FormatChecker()
    )
    for path in sorted((EXAMPLES / "postmortems").glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yamlio.load_mapping(path.read_bytes()))]
        assert errors == [], (path.name, errors)
    naive = {
        "id": "PM-2025-001",
        "title": "x",
        "status": "draft",
        "priority": "P1",
        "started_at": "2025-08-05T10:00:00",
    }
    assert list(validator.iter_errors(naive))  # a time without its offset is refused by editors too
