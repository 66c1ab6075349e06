"""`kb new postmortem --from-run LOG --from-trace FILE`: the run log's steps and the trace's
spans make one timeline, in time order, each source's rows whole (#19 with #17)."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_from_trace import _export
from test_run import CARD, FIXTURE, act, full_run

from kb.commands import new as new_verb
from kb.core import yamlio
from kb.model import Postmortem
from kb.model.common import sort_key


def test_run_log_and_trace_fill_one_timeline(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    trace = tmp_path / "trace.jsonl"
    _export(trace, batch=False)  # the agent's trace, with its failing tool call, before the human acts
    full_run(root)
    assert act(root, "alice", end="mitigated") == 0
    (log,) = (root / "runs").glob("*.jsonl")
    run_only = tmp_path / "run-only"
    shutil.copytree(root, run_only)
    assert new_verb.postmortem(root=run_only, from_run=Path("runs") / log.name) == 0
    assert new_verb.postmortem(root=root, from_run=Path("runs") / log.name, from_trace=trace) == 0
    (alone_path,) = (run_only / "postmortems").glob("PM-*-002-*.yaml")
    (both_path,) = (root / "postmortems").glob("PM-*-002-*.yaml")
    alone = Postmortem.model_validate(yamlio.load_mapping(alone_path.read_bytes()))
    both = Postmortem.model_validate(yamlio.load_mapping(both_path.read_bytes()))
    run_rows = [(row.at, row.event) for row in alone.timeline]
    rows = [(row.at, row.event) for row in both.timeline]
    assert set(run_rows) < set(rows), "every row of the run log is kept"
    assert len(rows) > len(run_rows), "the trace added its spans"
    assert [sort_key(at) for at, _ in rows] == sorted(sort_key(at) for at, _ in rows), "one timeline in time order"
    assert both.model_inference is not None and both.model_inference.involved  # the trace filled the row
    assert both.cards == [CARD]
