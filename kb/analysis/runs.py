"""What the run logs say: the state of a run, drill timings against the targets, who may
approve a step, and the per-card summaries the site and the dashboard show.

Drill timings come from the log's own timestamps, measured from the `start` event:
- switchback: the `done` of the card's switch step, the first step of `steps` that requires a
  permission whose action changes something (not read/list/get/view): rolling back, halting,
  pinning, failing over. A card with no such step has no switchback to time.
- core recovery: the event that settled (done or skipped) the last of the card's `steps`,
  when every one of them is done or skipped.
- first update: the first `note` with `update: true` (a status update posted to users).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from kb.analysis.access import AccessModel
from kb.config.settings import DrillTargets
from kb.load.knowledge_base import KnowledgeBase
from kb.load.runs import RunLog
from kb.model import Card, Step
from kb.model.oncall import Oncall
from kb.model.run import RunEvent

READ_ACTIONS = frozenset({"read", "list", "get", "view"})
METRICS = ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")
SETTLED = ("done", "skipped")


@dataclass
class StepState:
    step: Step
    section: str  # "steps" or "rollback"
    status: str = "pending"  # pending | done | skipped | failed
    settled_at: dt.datetime | None = None
    evidence: str | None = None
    why: str | None = None
    actor: str | None = None
    approvals: list[RunEvent] = field(default_factory=list)
    items: list[RunEvent] = field(default_factory=list)


@dataclass
class RunState:
    log: RunLog
    card: Card | None
    start: RunEvent | None
    steps: dict[str, StepState] = field(default_factory=dict)
    end: RunEvent | None = None

    @property
    def run_id(self) -> str:
        return self.start.run if self.start else self.log.stem

    @property
    def drill(self) -> bool:
        return bool(self.start and self.start.drill)

    @property
    def runner(self) -> str | None:
        return self.start.actor if self.start else None

    @property
    def outcome(self) -> str | None:
        return self.end.outcome if self.end else None

    @property
    def completed(self) -> bool:
        return self.end is not None and self.end.outcome == "mitigated"

    def next_step(self) -> StepState | None:
        """The first step of `steps`, then of `rollback`, that is neither done nor skipped."""
        return next((s for s in self.steps.values() if s.status not in SETTLED), None)


def run_state(log: RunLog, card: Card | None) -> RunState:
    events = log.events
    start = events[0] if events and events[0].event == "start" else None
    state = RunState(log, card, start)
    if card is not None:
        for section, _index, step in card.all_steps():
            state.steps.setdefault(step.id, StepState(step, section))
    for event in events:
        if event.event == "end" and state.end is None:
            state.end = event
        target = state.steps.get(event.step or "")
        if target is None:
            continue
        if event.event in ("done", "skipped", "failed"):
            target.status = event.event
            target.settled_at = event.at
            target.evidence = event.evidence
            target.why = event.why
            target.actor = event.actor
        elif event.event == "approved":
            target.approvals.append(event)
        elif event.event == "item":
            target.items.append(event)
    return state


def needs_approval(step: Step) -> bool:
    return step.irreversible and step.approval not in (None, "none")


def approval_problem(
    access: AccessModel | None, card: Card, step: Step, actor: str, approver: str, not_by: Mapping[str, str]
) -> str | None:
    """Why `actor` may not record `approver`'s approval of `step`, or None when it is valid
    (FORMAT.md: `approver` is a person who may approve, not the actor): the recorder is a
    human of oncall.yaml, never an agent; the approver is someone else, whom KB309's rule
    lets give the step's approval, and not a person running the run or the step (`not_by`: who,
    and what they did)."""
    if access is None:
        return "oncall.yaml does not load, so nobody can be shown to be allowed to approve"
    people = access.oncall.people
    recorder = people.get(actor)
    if recorder is None:
        return f"'{actor}' is not a person in oncall.yaml"
    if recorder.kind == "agent":
        return f"'{actor}' is an agent; an agent cannot record an approval"
    if approver not in people:
        return f"approver '{approver}' is not a person in oncall.yaml"
    if approver == actor:
        return f"'{approver}' cannot record their own approval: the approver is not the one recording it"
    if approver in not_by:
        return f"'{approver}' {not_by[approver]}; an approval must come from someone else"
    kind = step.approval or "second-person"
    if kind == "none":
        kind = "second-person"
    allowed = access.approvers(card.rotation, kind)
    if approver not in allowed:
        who = ", ".join(allowed) or "nobody"
        return f"'{approver}' may not give the {kind} approval of step {step.id} (who may: {who})"
    return None


def runners(state: RunState, step_id: str | None = None) -> dict[str, str]:
    """Who runs the run (its starter) and, for a step, who settled it: each with what they did."""
    found: dict[str, str] = {}
    step = state.steps.get(step_id or "")
    if step is not None and step.actor:
        found[step.actor] = f"settled step {step.step.id} ({step.status}) themselves"
    if state.runner:
        found[state.runner] = "is running this run"
    return found


def settle_problem(step: StepState, actor: str) -> str | None:
    """Why `actor` may not settle (done, skipped, failed) `step`: they approved it, and the
    approval is a second person looking before the step runs, not the one who runs it."""
    if any(approval.approver == actor for approval in step.approvals):
        return (
            f"{actor} approved step '{step.step.id}'; the approver cannot also settle it "
            "(the approval is a second person's look): someone else records it"
        )
    return None


def is_change(permission: str) -> bool:
    parts = permission.split(":")
    return len(parts) >= 2 and parts[1].lower() not in READ_ACTIONS


def switch_step(card: Card) -> Step | None:
    return next((s for s in card.steps if any(is_change(p) for p in s.requires)), None)


@dataclass
class Measure:
    name: str  # one of METRICS
    minutes: float | None  # None: the log does not show it
    target: float

    @property
    def beats(self) -> bool:
        return self.minutes is not None and self.minutes <= self.target


@dataclass
class DrillResult:
    measures: list[Measure]

    @property
    def beats(self) -> bool:
        return all(m.beats for m in self.measures)


def _minutes(since: dt.datetime, until: dt.datetime | None) -> float | None:
    return None if until is None else round((until - since).total_seconds() / 60, 2)


def measure(state: RunState, targets: DrillTargets) -> DrillResult | None:
    """Switchback, core recovery and first update of a run, against the targets."""
    if state.start is None or state.card is None:
        return None
    t0 = state.start.at
    switch = switch_step(state.card)
    switched = state.steps[switch.id] if switch else None
    switchback_at = switched.settled_at if switched is not None and switched.status == "done" else None
    main = [s for s in state.steps.values() if s.section == "steps"]
    core_at = None
    if main and all(s.status in SETTLED for s in main):
        core_at = max(s.settled_at for s in main if s.settled_at is not None)
    update_at = next((e.at for e in state.log.events if e.event == "note" and e.update), None)
    return DrillResult(
        [
            Measure("switchback_minutes", _minutes(t0, switchback_at), targets.switchback_minutes),
            Measure("core_recovery_minutes", _minutes(t0, core_at), targets.core_recovery_minutes),
            Measure("first_update_minutes", _minutes(t0, update_at), targets.first_update_minutes),
        ]
    )


@dataclass
class RunSummary:
    """One run as the card page and the dashboard show it."""

    run: str
    path: str
    card: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    runner: str | None
    drill: bool
    outcome: str | None  # None: still open
    steps_done: int
    steps_total: int
    drill_result: DrillResult | None = None
    rollback_drilled: bool = False  # a completed drill that did the switch step and every rollback step

    @property
    def when(self) -> str:
        return self.started_at.isoformat(timespec="minutes") if self.started_at else "?"

    @property
    def kind(self) -> str:
        return "drill" if self.drill else "run"

    @property
    def result(self) -> str:
        """The outcome as a person reads it: open, or how it ended (and, for a drill, whether
        it beat the targets)."""
        if self.outcome is None:
            return f"open ({self.steps_done} of {self.steps_total} steps)"
        if self.drill_result is not None and self.outcome == "mitigated":
            return f"{self.outcome}, {'beat the targets' if self.drill_result.beats else 'missed a target'}"
        return self.outcome

    @property
    def times(self) -> str:
        """Drill times against the targets, e.g. `switchback 3.5 of 5 min · core recovery - of 15 min`."""
        if self.drill_result is None:
            return ""
        return " · ".join(
            f"{m.name.removesuffix('_minutes').replace('_', ' ')} "
            f"{'-' if m.minutes is None else format(m.minutes, 'g')} of {m.target:g} min"
            for m in self.drill_result.measures
        )


def _cards(kb: KnowledgeBase) -> dict[str, Card]:
    return {doc.model.id: doc.model for doc in kb.cards if doc.model is not None}


def states(kb: KnowledgeBase) -> list[RunState]:
    cards = _cards(kb)
    found = []
    for log in kb.runs:
        events = log.events
        card = cards.get(events[0].card) if events else None
        found.append(run_state(log, card))
    return found


def summary(state: RunState, targets: DrillTargets) -> RunSummary:
    settled = [s for s in state.steps.values() if s.status in SETTLED]
    return RunSummary(
        run=state.run_id,
        path=state.log.path,
        card=state.start.card if state.start else "",
        started_at=state.start.at if state.start else None,
        ended_at=state.end.at if state.end else None,
        runner=state.runner,
        drill=state.drill,
        outcome=state.outcome,
        steps_done=len(settled),
        steps_total=len(state.steps),
        drill_result=measure(state, targets) if state.drill else None,
        rollback_drilled=drill_complete(state) and rollback_walked(state),
    )


def has_rollback(card: Card) -> bool:
    """The card changes something it can switch back: a switch step or a rollback section."""
    return bool(card.rollback) or switch_step(card) is not None


def rollback_walked(state: RunState) -> bool:
    """The run did the card's switch step and every step of its rollback section."""
    if state.card is None or not has_rollback(state.card):
        return False
    switch = switch_step(state.card)
    if switch is not None and state.steps[switch.id].status != "done":
        return False
    return all(s.status == "done" for s in state.steps.values() if s.section == "rollback")


def runs_by_card(kb: KnowledgeBase) -> dict[str, list[RunSummary]]:
    """Every card's runs, newest first (a card with no run is absent)."""
    by_card: dict[str, list[RunSummary]] = {}
    for state in states(kb):
        if state.start is None or state.card is None:
            continue
        by_card.setdefault(state.start.card, []).append(summary(state, kb.settings.drill_targets))
    for runs in by_card.values():
        runs.sort(key=lambda r: r.started_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return by_card


def card_runs(kb: KnowledgeBase, card_id: str, limit: int = 5) -> list[RunSummary]:
    """The card's last runs and drills, newest first (for its page)."""
    return runs_by_card(kb).get(card_id, [])[:limit]


def drill_history(kb: KnowledgeBase) -> dict[str, list[RunSummary]]:
    """Per card, its drills (open, abandoned and completed), newest first."""
    return {
        card: [r for r in runs if r.drill]
        for card, runs in sorted(runs_by_card(kb).items())
        if any(r.drill for r in runs)
    }


def rollback_never_drilled(kb: KnowledgeBase) -> list[str]:
    """Cards that can switch something back (a switch step or a rollback section) and that no
    completed drill walked through it: the switch step done and every rollback step done."""
    drilled = {card for card, runs in runs_by_card(kb).items() if any(r.rollback_drilled for r in runs)}
    return sorted(card.id for card in _cards(kb).values() if has_rollback(card) and card.id not in drilled)


def without_outcome(state: RunState) -> list[StepState]:
    """The card's steps (steps, then rollback) the run gave no outcome: neither done, skipped nor failed."""
    return [step for step in state.steps.values() if step.status == "pending"]


def drill_complete(state: RunState) -> bool:
    """A drill that ended mitigated with an outcome for every step of the card, at least one
    of them done. One step done and the rest never walked is a drill of one step, not of the
    card: it proves nothing about the others (outside review), so it stamps nothing."""
    if not (state.drill and state.completed and state.start and state.end and state.card is not None):
        return False
    if without_outcome(state):
        return False
    return any(step.status == "done" for step in state.steps.values())  # all skipped: nothing walked


def drill_dates(state: RunState) -> set[dt.date]:
    """The days a complete drill (drill_complete) can stamp as last_drilled: its start's and
    its end's, each in the offset the log wrote it in."""
    if not drill_complete(state) or state.start is None or state.end is None:
        return set()
    return {state.start.at.date(), state.end.at.date()}


def completed_drills(kb: KnowledgeBase, card_id: str) -> list[RunState]:
    """Completed drills of the card, oldest first by their end."""
    found = [s for s in states(kb) if s.start and s.start.card == card_id and drill_dates(s)]
    return sorted(found, key=lambda s: s.end.at if s.end else s.log.stem)


def last_drill_date(kb: KnowledgeBase, card_id: str) -> dt.date | None:
    """The day of the card's latest completed drill (its end, in its own offset)."""
    drills = completed_drills(kb, card_id)
    return drills[-1].end.at.date() if drills and drills[-1].end else None


def person_kind(oncall: Oncall | None, name: str) -> str | None:
    person = oncall.people.get(name) if oncall is not None else None
    return person.kind if person is not None else None
