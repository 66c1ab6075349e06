"""`kb new postmortem --from-run runs/<file>.jsonl`: what a run log says about the incident.

Returns fields, never writes: the card (and its priority, services and title as defaults),
`started_at` and `detected_at` (the run's start: the log cannot show anything earlier, so
both are upper bounds the author may move back), `mitigated_at` (when every step of the
card was done or skipped, else the end if it was `mitigated`), and one timeline row per
event of the log: start, each step event, notes, end, at the log's own timestamps and
offsets, with `actor: human` or `agent` from the person's `kind` in oncall.yaml and
`decision: true` on choices (a skipped step, an approval, an irreversible step done, an end
that escalated or abandoned).

A log that does not hold together (an unreadable line, a broken hash chain, time going
backwards, an actor oncall.yaml does not know) is refused: a postmortem must not be seeded
from a record that `kb check` would reject.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.analysis.runs import RunState, needs_approval, run_state
from kb.core.diagnostics import LoadProblem
from kb.load.knowledge_base import KnowledgeBase
from kb.load.runs import RunLog
from kb.model.run import RunEvent


class FromRunProblem(Exception):
    pass


@dataclass
class RunPrefill:
    run: str
    card: str
    title: str
    priority: str
    services: list[str]
    started_at: dt.datetime
    detected_at: dt.datetime
    mitigated_at: dt.datetime | None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def fields(self, started_at: bool = True) -> dict[str, Any]:
        """Top-level postmortem fields to set after the template rendered (`started_at` too
        unless the author gave their own)."""
        found: dict[str, Any] = {"started_at": self.started_at} if started_at else {}
        found |= {"detected_at": self.detected_at, "timeline": self.timeline}
        if self.mitigated_at is not None:
            found["mitigated_at"] = self.mitigated_at
        return found


def find_log(kb: KnowledgeBase, given: Path) -> RunLog:
    """The loaded run log that `given` (relative to the working folder or the KB root) names."""
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, kb.root / given]
    for candidate in candidates:
        try:
            rel = Path(os.path.realpath(candidate)).relative_to(kb.root.resolve()).as_posix()
        except ValueError:
            continue
        for log in kb.runs:
            if log.path == rel:
                return log
    raise FromRunProblem(f"{given} is not a run log under {kb.settings.runs_dir}/ of this knowledge base")


def _integrity(kb: KnowledgeBase, log: RunLog) -> RunEvent:
    problems = [f for f in kb.load_findings.get(LoadProblem.RUN_LOG, []) if f.path == log.path]
    if problems or any(line.event is None for line in log.lines):
        raise FromRunProblem(f"{log.path} has lines that are not run events; kb check {log.path}")
    previous = None
    latest = None
    for index, line in enumerate(log.lines):
        event = line.event
        assert event is not None
        if event.seq != index or event.prev != (previous.digest if previous else None):
            raise FromRunProblem(f"{log.path}:{line.number}: the hash chain is broken; kb check {log.path}")
        if latest is not None and event.at < latest:
            raise FromRunProblem(f"{log.path}:{line.number}: time goes backwards; kb check {log.path}")
        latest = event.at
        previous = line
    if not log.lines or log.lines[0].event is None or log.lines[0].event.event != "start":
        raise FromRunProblem(f"{log.path} does not begin with a start event")
    return log.lines[0].event


def prefill(kb: KnowledgeBase, given: Path) -> RunPrefill:
    log = find_log(kb, given)
    start = _integrity(kb, log)
    doc = kb.card_by_id().get(start.card)
    if doc is None or doc.model is None:
        raise FromRunProblem(f"{log.path} is a run of '{start.card}', which is not a card that loads")
    oncall = kb.oncall.model if kb.oncall is not None else None
    if oncall is None:
        raise FromRunProblem(f"{kb.settings.oncall} does not load: who was human and who an agent is unknown")
    unknown = sorted({e.actor for e in log.events if e.actor not in oncall.people})
    if unknown:
        raise FromRunProblem(f"{log.path}: {', '.join(unknown)} not in {kb.settings.oncall}")
    card = doc.model
    state = run_state(log, card)
    return RunPrefill(
        run=start.run,
        card=card.id,
        title=card.title,
        priority=card.priority,
        services=list(card.services),
        started_at=start.at,
        detected_at=start.at,
        mitigated_at=_mitigated_at(state),
        timeline=[_row(state, event, oncall.people[event.actor].kind) for event in log.events],
    )


def _mitigated_at(state: RunState) -> dt.datetime | None:
    main = [s for s in state.steps.values() if s.section == "steps"]
    if main and all(s.status in ("done", "skipped") and s.settled_at for s in main):
        return max(s.settled_at for s in main if s.settled_at is not None)
    if state.end is not None and state.end.outcome == "mitigated":
        return state.end.at
    return None


def _row(state: RunState, event: RunEvent, kind: str) -> dict[str, Any]:
    step = state.steps.get(event.step or "")
    what = f"step {event.step}" + (f" ({step.step.do})" if step else "")
    text = {
        "start": f"{event.actor} started {'drill' if event.drill else 'run'} {event.run} of card {event.card}",
        "done": f"{event.actor} did {what}; evidence: {event.evidence}",
        "skipped": f"{event.actor} skipped {what}: {event.why}",
        "failed": f"{what} failed for {event.actor}: {event.why}",
        "approved": f"{event.approver} approved {what}",
        "item": f"{event.actor}, {what}: worklist item {event.item}: {event.verdict}",
        "note": f"{event.actor} {'posted a status update' if event.update else 'noted'}: {event.text}",
        "end": f"{event.actor} ended the run: {event.outcome}" + (f" ({event.why})" if event.why else ""),
    }[event.event]
    decision = (
        event.event in ("skipped", "approved")
        or (event.event == "done" and step is not None and needs_approval(step.step))
        or (event.event == "end" and event.outcome in ("escalated", "abandoned"))
    )
    row: dict[str, Any] = {"at": event.at, "actor": "agent" if kind == "agent" else "human", "event": text}
    if decision:
        row["decision"] = True
    return row
