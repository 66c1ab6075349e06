"""`kb followups done` refuses a reinforcement id a postmortem uses twice (outside review, finding 17)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import Ran

from kb.commands import followups

REINFORCEMENTS = """reinforcements:
  - {id: R1, kind: eval, owner: ai-platform, due: 2026-11-30, eval: {input: a, expected: b}}
  - {id: R1, kind: eval, owner: ai-platform, due: 2026-11-30, eval: {input: c, expected: d}}
"""


def test_done_on_a_duplicate_id_changes_nothing(base_kb: Path, call: Callable[..., Ran]) -> None:
    path = base_kb / "postmortems" / "PM-2026-001-queue.yaml"
    path.write_text(path.read_text() + REINFORCEMENTS)
    before = path.read_bytes()
    ran = call(followups.set_item, "PM-2026-001", "R1", "done", root=base_kb)
    assert ran.returncode == 1 and "more than one reinforcement R1" in ran.stderr
    assert path.read_bytes() == before
