"""tooling/synth_kb.py makes the benchmark's corpus: it must be a KB that checks clean (issue
#20: no finding at all, so every rule runs its full course), with the realism the issue names
in it, and its --findings copy must carry findings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import REPO

from kb.commands import check

sys.path.insert(0, str(REPO / "tooling"))
import synth_kb


def test_small_synthetic_kb_checks_clean_and_is_realistic(tmp_path: Path, call) -> None:
    root = tmp_path / "kb-40"
    synth_kb.generate(root, 40)  # two sub-router pages, two drilled cards
    # the realism issue #20 asks for, present in a small corpus too
    drilled = sorted(p.name for p in (root / "runs").glob("*.jsonl"))
    assert [name.split("-card-")[1] for name in drilled] == ["00000-1.jsonl", "00020-1.jsonl"]
    assert all("last_drilled:" in (root / "cards" / f"card-{n:05d}.yaml").read_text() for n in (0, 20))
    pm = (root / "postmortems" / "PM-2020-0001-synthetic-incident.yaml").read_text()
    for kind in ("alert", "gate", "test", "eval", "card"):
        assert f"kind: {kind}\n" in pm
    assert list((root / "rules").glob("hand-written-*.rules.yml")) and list((root / "references").glob("*.md"))
    assert list((root / "routes").glob("l1-*.md"))  # a router with sub-routers
    emitted = [p for p in (root / "rules" / "kb").rglob("*.yml") if "kb emit" in p.read_text()[:400]]
    assert len(emitted) > 10, "kb emit's output is part of the corpus"

    clean = call(check.run, output_format="json", root=root)
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert json.loads(clean.stdout) == []

    changed = synth_kb.inject_findings(root, 0.25)
    assert changed > 0
    dirty = call(check.run, output_format="json", root=root)
    assert dirty.returncode == 1 and len(json.loads(dirty.stdout)) >= changed
