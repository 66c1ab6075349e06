"""The JSON Schemas an editor uses and `kb check` give one answer (issue #15).

Each mutation is applied to a valid file of the frozen base KB; `kb check` (errors on that
file) and the generated JSON Schema (validated with `jsonschema`, on the data as an editor's
YAML 1.2 parser sees it, formats checked) must both accept it or both reject it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import BASE_KB, copy_kb

from kb.check.engine import run_check
from kb.core import yamlio
from kb.load.loader import load_kb
from kb.model.schema import schema_text
from kb.rules.context import RuleContext

CARD = "cards/queue-stuck.yaml"
PM = "postmortems/PM-2026-001-queue.yaml"
ONCALL = "oncall.yaml"
KIND = {CARD: "card", PM: "postmortem", ONCALL: "oncall"}

# (name, file, old text, new text, accepted by both?)
MUTATIONS = [
    ("irreversible-no", CARD, "    done_when: Queue", "    irreversible: no\n    done_when: Queue", False),
    ("irreversible-false", CARD, "    done_when: Queue", "    irreversible: false\n    done_when: Queue", True),
    ("irreversible-string-true", CARD, "    done_when: Queue", "    irreversible: 'true'\n    done_when: Queue", False),
    ("step-without-done-when", CARD, "    done_when: Queue depth falls for five minutes\n", "", False),
    (
        "step-done-when-null",
        CARD,
        "    done_when: Queue depth falls for five minutes\n",
        "    done_when: null\n",
        False,
    ),
    ("step-done-when-empty", CARD, "    done_when: Queue depth falls for five minutes\n", "    done_when: ''\n", False),
    ("priority-p4", CARD, "priority: P2", "priority: P4", False),
    ("unknown-card-field", CARD, "priority: P2", "priority: P2\nseverity: high", False),
    ("title-number", CARD, "title: Queue stuck", "title: 42", False),
    ("title-quoted-number", CARD, "title: Queue stuck", "title: '42'", True),
    ("last-verified-not-a-date", CARD, "last_verified: 2026-11-01", "last_verified: yesterday", False),
    ("last-verified-date", CARD, "last_verified: 2026-11-01", "last_verified: 2026-11-02", True),
    ("no-model-inference", PM, "model_inference:\n  involved: false\n  why_not: No agent took part.\n", "", False),
    ("involved-false-without-why-not", PM, "  why_not: No agent took part.\n", "", False),
    ("involved-yes", PM, "  involved: false", "  involved: no", False),
    ("started-at-space", PM, "started_at: 2026-11-03T01:52:00+00:00", "started_at: 2026-11-03 01:52:00+00:00", False),
    (
        "started-at-offset-without-colon",
        PM,
        "started_at: 2026-11-03T01:52:00+00:00",
        "started_at: 2026-11-03T01:52:00+0100",
        False,
    ),
    ("started-at-no-seconds", PM, "started_at: 2026-11-03T01:52:00+00:00", "started_at: 2026-11-03T01:52+00:00", False),
    ("started-at-no-offset", PM, "started_at: 2026-11-03T01:52:00+00:00", "started_at: 2026-11-03T01:52:00", False),
    ("started-at-z", PM, "started_at: 2026-11-03T01:52:00+00:00", "started_at: 2026-11-03T01:52:00Z", True),
    (
        "started-at-fraction",
        PM,
        "started_at: 2026-11-03T01:52:00+00:00",
        "started_at: 2026-11-03T01:52:00.250+01:00",
        True,
    ),
    ("users-affected-string", PM, "model_inference:", "impact: {users_affected: '30'}\nmodel_inference:", False),
    ("users-affected-number", PM, "model_inference:", "impact: {users_affected: 30}\nmodel_inference:", True),
    ("users-affected-negative", PM, "model_inference:", "impact: {users_affected: -1}\nmodel_inference:", False),
    ("cost-string", PM, "model_inference:", "impact: {cost_usd: '12.5'}\nmodel_inference:", False),
    ("cost-integer", PM, "model_inference:", "impact: {cost_usd: 12}\nmodel_inference:", True),
    ("status-unknown", PM, "status: draft", "status: drafted", False),
    ("pm-unknown-field", PM, "status: draft", "status: draft\nseverity: high", False),
    (
        "decision-string",
        PM,
        "actor: human, event: Consumers resumed}",
        "actor: human, event: Consumers resumed, decision: 'yes'}",
        False,
    ),
    ("timezone-misspelled", ONCALL, "timezone: Europe/Berlin", "timezone: Europe/Berln", False),
    ("timezone-utc", ONCALL, "timezone: Europe/Berlin", "timezone: UTC", True),
    ("timezone-lowercase", ONCALL, "timezone: Europe/Berlin", "timezone: europe/berlin", False),
    ("coverage-unknown", ONCALL, "coverage: 24x7\n    escalates_to", "coverage: always\n    escalates_to", False),
    ("oncall-unknown-field", ONCALL, "rotations:", "pager: none\nrotations:", False),
]


def schema_says(kind: str, data: object) -> list[str]:
    schema = json.loads(schema_text(kind))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def kb_says(root: Path, rel: str) -> list[str]:
    result = run_check(RuleContext(load_kb(root)))
    return [f"{d.code} {d.message}" for d in result.diagnostics if d.path == rel and d.level.value == "error"]


def test_the_unmutated_files_pass_both(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    for rel, kind in KIND.items():
        assert kb_says(root, rel) == []
        assert schema_says(kind, yamlio.load_mapping((root / rel).read_bytes())) == []


@pytest.mark.parametrize(("name", "rel", "old", "new", "accepted"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_schema_and_kb_check_agree(tmp_path: Path, name: str, rel: str, old: str, new: str, accepted: bool) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    path = root / rel
    text = path.read_text()
    assert old in text, f"{name}: the fixture changed"
    path.write_text(text.replace(old, new, 1))
    kb = kb_says(root, rel)
    schema = schema_says(KIND[rel], yamlio.load_mapping(path.read_bytes()))
    assert (not kb) == (not schema), f"kb check: {kb}\nschema: {schema}"
    assert (not kb) == accepted, f"kb check: {kb}\nschema: {schema}"
