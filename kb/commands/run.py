"""`kb run CARD`: execute a card step by step and leave the evidence in runs/.

On a terminal, a guided walk: one step at a time with its command ready to copy, the
permissions it needs (and whether you hold them), its done_when; mark it done (with
evidence), skipped or failed (with why), record an approval, worklist items, notes and
status updates. Without a terminal, one flag set appends one event (`--step ID --done
--evidence TEXT`, `--approve`, `--item`, `--note`, `--end` ...), for scripts and agents.

Persist first: every event is appended and fsynced (kb.edit.run_log) before anything is
printed or asked next, so a kill at any instant loses nothing already confirmed; `--resume`
continues the card's open run from its log. `--drill` marks the run a drill: its end times
switchback, core recovery and first update against the drill targets and, when it ended
mitigated with an outcome (done, skipped, failed) for every step of the card, sets the card's
last_drilled to the day of that log.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from kb.analysis.access import AccessModel
from kb.analysis.membership import read_memberships
from kb.analysis.runs import (
    DrillResult,
    RunState,
    StepState,
    approval_problem,
    drill_complete,
    drill_dates,
    measure,
    needs_approval,
    run_state,
    runners,
    settle_problem,
    without_outcome,
)
from kb.commands.common import CommandError, kb_root, verb
from kb.core.ids import card_id_problem
from kb.edit import run_log
from kb.edit.stamps import StampProblem, stamp_card
from kb.load.knowledge_base import KnowledgeBase
from kb.load.loader import load_kb
from kb.load.runs import integrity_problem
from kb.load.secrets import REDACTED, scan
from kb.model import Card
from kb.model.common import PRIORITY_ACTIONS

OUTCOMES = ("mitigated", "abandoned", "escalated")
ACTOR_ENV = "KB_ACTOR"
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def safe(value: object) -> str:
    """Text from YAML or a log, made inert for a terminal: control characters (ESC, BEL,
    CR, C1) and bidirectional overrides are shown as escapes, never passed through."""
    out = []
    for char in str(value):
        if char in "\n\t":
            out.append(char)
        elif char in BIDI or unicodedata.category(char) in ("Cc", "Cs") or 0x80 <= ord(char) < 0xA0:
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def console(err: bool = False) -> Console:
    # rich drops colour off a terminal and under NO_COLOR; markup and highlighting are off so
    # that no value is ever read as style
    return Console(stderr=err, highlight=False, markup=False, emoji=False, soft_wrap=True)


@dataclass
class Action:
    """One event asked for on the command line (the non-interactive path)."""

    start: bool = False
    step: str | None = None
    done: bool = False
    skipped: bool = False
    failed: bool = False
    approve: bool = False
    approver: str | None = None
    evidence: str | None = None
    why: str | None = None
    item: str | None = None
    verdict: str | None = None
    note: str | None = None
    update: bool = False
    end: str | None = None

    def problem(self, drill: bool, resume: bool) -> str | None:
        """Why these flags do not make one event, or None (flags that would be ignored are refused)."""
        kinds = [
            name
            for name, given in (
                ("--start", self.start),
                ("--end", self.end is not None),
                ("--note", self.note is not None),
                ("--done", self.done),
                ("--skipped", self.skipped),
                ("--failed", self.failed),
                ("--approve", self.approve),
                ("--item", self.item is not None),
            )
            if given
        ]
        if len(kinds) > 1:
            return f"one event per call: {' and '.join(kinds)} cannot be combined"
        kind = kinds[0] if kinds else None
        if kind is None:
            if self.step:
                return "--step needs one of --done, --skipped, --failed, --approve, --item"
            given = (("--evidence", self.evidence), ("--why", self.why), ("--verdict", self.verdict))
            stray = [f for f, v in (*given, ("--approver", self.approver)) if v]
            stray += ["--update"] if self.update else []
            return f"{', '.join(stray)}: no event to go with (--done, --skipped, --note ...)" if stray else None
        if resume:
            return "--resume continues the guided walk; it does not combine with " + kind
        if drill and kind != "--start":
            return "--drill marks a run when it starts (--start, or the walk)"
        if self.step is None and kind in ("--done", "--skipped", "--failed", "--approve", "--item"):
            return f"{kind} needs --step ID"
        if self.step is not None and kind in ("--start", "--end"):
            return f"--step does not apply to {kind}"
        for flag, value, allowed in (
            ("--evidence", self.evidence, ("--done",)),
            ("--why", self.why, ("--skipped", "--failed", "--end")),
            ("--verdict", self.verdict, ("--item",)),
            ("--approver", self.approver, ("--approve",)),
            ("--update", self.update or None, ("--note",)),
        ):
            if value is not None and kind not in allowed:
                return f"{flag} goes with {' or '.join(allowed)}, not {kind}"
        return None

    def any(self) -> bool:
        return bool(
            self.start or self.step or self.note is not None or self.end or self.done or self.skipped or self.failed
        ) or bool(self.approve or self.item is not None)


class Session:
    """The knowledge base, the card and who is acting, for one `kb run`."""

    def __init__(self, kb: KnowledgeBase, card: Card, actor: str):
        self.kb = kb
        self.card = card
        self.actor = actor
        oncall = kb.oncall.model if kb.oncall is not None else None
        # memberships from their sources (members_from wins), as kb check and kb access read them
        self.access = AccessModel(read_memberships(kb.root, oncall).oncall) if oncall is not None else None

    @property
    def runs_dir(self) -> str:
        return self.kb.settings.runs_dir

    def path_of(self, run_id: str) -> Path:
        return self.kb.root / self.runs_dir / f"{run_id}.jsonl"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.kb.root).as_posix()

    def open_runs(self) -> list[str]:
        """Run ids of this card's logs whose last line is not an end, oldest first."""
        folder = self.kb.root / self.runs_dir
        return run_log.open_run_names(folder, self.card.id) if folder.is_dir() else []

    def state(self, path: Path) -> RunState:
        try:
            log = run_log.read(path, self.rel(path))
        except run_log.RunLogProblem as exc:
            raise CommandError(str(exc), 1) from None
        if problem := integrity_problem(log):  # KB802's check: edited evidence is neither shown nor extended
            raise CommandError(safe(problem), 1)
        events = log.events
        if not events or events[0].event != "start":
            raise CommandError(f"{self.rel(path)} does not begin with a start event; kb check {self.rel(path)}", 1)
        if events[0].card != self.card.id:
            raise CommandError(f"{self.rel(path)} is a run of '{events[0].card}', not of '{self.card.id}'", 1)
        return run_state(log, self.card)

    def append(self, path: Path, **fields: object) -> run_log.Appended:
        try:
            appended = run_log.append(path, {"actor": self.actor, **fields})
        except run_log.RunLogProblem as exc:
            raise CommandError(str(exc), 1) from None
        except OSError as exc:
            raise CommandError(f"cannot write {self.rel(path)}: {exc.strerror}", 1) from None
        if appended.dropped_torn_tail:
            console(err=True).print(
                Text(f"kb: {self.rel(path)}: dropped a last line whose write never finished", style="yellow")
            )
        return appended

    def start(self, drill: bool) -> Path:
        try:
            return run_log.start(self.kb.root, self.runs_dir, self.card.id, self.actor, drill)
        except run_log.RunLogProblem as exc:
            raise CommandError(str(exc), 1) from None
        except OSError as exc:
            raise CommandError(f"cannot write under {self.runs_dir}/: {exc.strerror}", 1) from None

    def person_kind(self, name: str) -> str | None:
        if self.access is None:
            return None
        person = self.access.oncall.people.get(name)
        return person.kind if person else None

    def holds(self, permission: str) -> bool | None:
        if self.access is None:
            return None
        person = self.access.oncall.people.get(self.actor)
        return person is not None and self.access.index.person_hours(person, permission) is not None

    # the checks that keep the log valid, shared by both paths
    def refuse_approval(self, state: RunState, step: StepState, approver: str) -> str | None:
        return approval_problem(self.access, self.card, step.step, self.actor, approver, runners(state, step.step.id))

    def refuse_settle(self, step: StepState) -> str | None:
        return settle_problem(step, self.actor)

    def refuse_done(self, step: StepState) -> str | None:
        if problem := self.refuse_settle(step):
            return problem
        if needs_approval(step.step) and not step.approvals:
            allowed = self.access.approvers(self.card.rotation, step.step.approval or "") if self.access else []
            return (
                f"step '{step.step.id}' is irreversible: it needs approval ({step.step.approval}) before it is "
                f"done; who may approve: {', '.join(allowed) or 'nobody'} "
                f"(`kb run {self.card.id} --step {step.step.id} --approve --approver NAME`)"
            )
        return None


def _session(card_id: str, actor: str | None, root: Path | None, interactive: bool) -> Session:
    kb = load_kb(kb_root(root))
    if problem := card_id_problem(card_id):
        raise CommandError(problem, 1)
    doc = kb.card_by_id().get(card_id)
    if doc is None:
        raise CommandError(f"no card '{card_id}'", 1)
    if doc.model is None:
        raise CommandError(f"{doc.path} does not load; run kb check {doc.path}", 1)
    oncall = kb.oncall.model if kb.oncall is not None else None
    if oncall is None:
        raise CommandError(f"{kb.settings.oncall} is missing or does not load: kb run records who acted", 1)
    name = actor or os.environ.get(ACTOR_ENV)
    if not name and interactive:
        name = console().input("Who is running this card (your name in oncall.yaml)? ").strip()
    if not name:
        raise CommandError(f"who is acting? pass --as NAME (a person in oncall.yaml) or set {ACTOR_ENV}")
    if name not in oncall.people:
        raise CommandError(f"'{safe(name)}' is not a person in {kb.settings.oncall}", 1)
    return Session(kb, doc.model, name)


def _pick_run(session: Session, run_id: str | None) -> Path:
    if run_id is not None:
        if not re.fullmatch(rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}-{re.escape(session.card.id)}-[1-9][0-9]*", run_id):
            raise CommandError(
                f"'{safe(run_id)}' is not a run of {session.card.id} (<YYYY-MM-DD>-{session.card.id}-<n>)"
            )
        path = session.path_of(run_id)
        if not path.is_file():
            raise CommandError(f"no run log {session.runs_dir}/{run_id}.jsonl", 1)
        return path
    open_runs = session.open_runs()
    if not open_runs:
        raise CommandError(f"{session.card.id} has no open run; start one with `kb run {session.card.id}`", 1)
    if len(open_runs) > 1:
        raise CommandError(
            f"{session.card.id} has {len(open_runs)} open runs ({', '.join(open_runs)}): pick one with --run", 1
        )
    return session.path_of(open_runs[0])


def _without_secrets(text: str) -> str:
    """Evidence as --resume shows it: a pasted credential (KB701 reports it in the log) is not
    printed again into a terminal that is shared or recorded during an incident."""
    for hit in scan(text, "evidence.txt") if text else []:
        text = text.replace(hit.value, REDACTED)
    return text


@verb
def run(
    card_id: str,
    actor: str | None = None,
    drill: bool = False,
    resume: bool = False,
    run_id: str | None = None,
    action: Action | None = None,
    root: Path | None = None,
) -> int:
    action = action or Action()
    if problem := action.problem(drill, resume):
        raise CommandError(problem)
    if action.any():
        session = _session(card_id, actor, root, interactive=False)
        return _one_event(session, action, drill, run_id)
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    if not terminal and (resume or run_id):
        return _where_it_stands(card_id, actor, run_id, root)
    if not terminal:
        raise CommandError(
            "the guided walk needs a terminal; without one, append events with "
            "--start, --step ID --done --evidence TEXT, --skipped/--failed --why TEXT, --approve, "
            "--item ITEM --verdict V, --note TEXT, --end OUTCOME (kb run --help)"
        )
    session = _session(card_id, actor, root, interactive=True)
    if resume or run_id:
        path = _pick_run(session, run_id)
        if (ended := session.state(path).end) is not None:
            raise CommandError(f"{session.rel(path)} has ended ({ended.outcome}); start a new run", 1)
    else:
        if open_runs := session.open_runs():
            raise CommandError(
                f"{card_id} has an open run ({', '.join(open_runs)}): continue it with `kb run {card_id} --resume`, "
                f"or end it with `kb run {card_id} --end abandoned`",
                1,
            )
        path = session.start(drill)
    return Walk(session, path).go()


# ---------------------------------------------------------------- one event, no terminal


def _one_event(session: Session, action: Action, drill: bool, run_id: str | None) -> int:
    out = console()
    if action.start:
        if open_runs := session.open_runs():
            raise CommandError(f"{session.card.id} has an open run ({', '.join(open_runs)}); end it first", 1)
        path = session.start(drill)
        out.print(Text(f"started {session.rel(path)}" + (" (drill)" if drill else "")))
        return 0
    path = _pick_run(session, run_id)
    state = session.state(path)
    if state.end is not None:
        raise CommandError(f"{session.rel(path)} has ended ({state.outcome}); nothing can be added", 1)
    if action.end:
        return _end(session, path, action.end, action.why, out)
    if action.note is not None:
        if not action.note.strip():
            raise CommandError("--note is empty")
        session.append(path, event="note", text=action.note, step=action.step, update=True if action.update else None)
        out.print(Text("recorded " + ("update" if action.update else "note")))
        return 0
    if not action.step:
        raise CommandError("which step? --step ID")
    step = state.steps.get(action.step)
    if step is None:
        known = ", ".join(state.steps)
        raise CommandError(f"{session.card.id} has no step '{safe(action.step)}' (it has: {known})", 1)
    chosen = [n for n in ("done", "skipped", "failed", "approve") if getattr(action, n)] + (
        ["item"] if action.item is not None else []
    )
    if len(chosen) != 1:
        raise CommandError("with --step, give exactly one of --done, --skipped, --failed, --approve, --item")
    what = chosen[0]
    if what == "done":
        if not (action.evidence or "").strip():
            raise CommandError("--done needs --evidence TEXT: what shows the step's done_when holds")
        if step.status == "done":
            same = step.evidence == action.evidence
            out.print(Text(f"step {step.step.id} was already done at {step.settled_at}; not recorded again"))
            return 0 if same else 1
        if problem := session.refuse_done(step):
            raise CommandError(safe(problem), 1)
        session.append(path, event="done", step=step.step.id, evidence=action.evidence)
    elif what in ("skipped", "failed"):
        if not (action.why or "").strip():
            raise CommandError(f"--{what} needs --why TEXT")
        if problem := session.refuse_settle(step):
            raise CommandError(safe(problem), 1)
        session.append(path, event=what, step=step.step.id, why=action.why)
    elif what == "approve":
        if not action.approver:
            raise CommandError("--approve needs --approver NAME: who approved it (not you, who records it)")
        if problem := session.refuse_approval(state, step, action.approver):
            raise CommandError(safe(problem), 1)
        session.append(path, event="approved", step=step.step.id, approver=action.approver)
    else:
        if not step.step.worklist:
            raise CommandError(f"step '{step.step.id}' has no worklist; --item is for worklist steps", 1)
        if not (action.item or "").strip() or not (action.verdict or "").strip():
            raise CommandError("--item needs a non-empty ITEM and --verdict TEXT")
        session.append(path, event="item", step=step.step.id, item=action.item, verdict=action.verdict)
    out.print(Text(f"recorded {what} of {step.step.id} in {session.rel(path)}"))
    return 0


def _where_it_stands(card_id: str, actor: str | None, run_id: str | None, root: Path | None) -> int:
    """`--resume` without a terminal (an agent picking a run up): where the run stands, from
    its log, and the next step with its command; nothing is written."""
    kb = load_kb(kb_root(root))
    doc = kb.card_by_id().get(card_id) if not card_id_problem(card_id) else None
    if doc is None or doc.model is None:
        raise CommandError(card_id_problem(card_id) or f"no card '{safe(card_id)}' that loads", 1)
    session = Session(kb, doc.model, actor or os.environ.get(ACTOR_ENV) or "")
    path = _pick_run(session, run_id)
    state = session.state(path)
    out = console()
    kind = "drill" if state.drill else "run"
    out.print(Text(safe(f"{kind} {state.run_id}: {state.outcome or 'open'} ({session.rel(path)})")))
    for step in state.steps.values():
        extra = _without_secrets(step.evidence or step.why or "")
        approvals = f" approved by {', '.join(a.approver or '' for a in step.approvals)}" if step.approvals else ""
        items = f" {len(step.items)} item(s)" if step.items else ""
        line = f"  {step.section}/{step.step.id}: {step.status}{approvals}{items}" + (f": {extra}" if extra else "")
        out.print(Text(safe(line)))
    current = state.next_step() if state.end is None else None
    if current is not None:
        s = current.step
        out.print(Text(safe(f"next: {s.id}: {s.do}")))
        if s.run:
            out.print(Text(safe(f"  run: {s.run}")))
        if needs_approval(s) and not current.approvals:
            out.print(Text(safe(f"  needs approval ({s.approval}) before it is done")))
        if s.worklist:
            out.print(Text(safe(f"  worklist: {s.worklist}")))
        out.print(Text(safe(f"  done when: {s.done_when or 'NOT STATED'}")))
    return 0


def _end(session: Session, path: Path, outcome: str, why: str | None, out: Console) -> int:
    if outcome not in OUTCOMES:
        raise CommandError(f"--end must be one of {', '.join(OUTCOMES)}, not '{safe(outcome)}'")
    session.append(path, event="end", outcome=outcome, why=why or None)
    state = session.state(path)
    pending = [s.step.id for s in state.steps.values() if s.section == "steps" and s.status not in ("done", "skipped")]
    out.print(Text(f"ended {session.rel(path)}: {outcome}"))
    if pending:
        out.print(Text(f"steps not done or skipped: {', '.join(pending)}"))
    if not state.drill:
        return 0
    result = measure(state, session.kb.settings.drill_targets)
    assert result is not None
    print_drill(out, result)
    unwalked = [f"{s.section}/{s.step.id}" for s in without_outcome(state)]
    if drill_dates(state):  # every step has an outcome, one at least done: the test kb card drilled uses too
        _stamp_drilled(session, state, out)
    elif state.completed and unwalked:
        out.print(
            Text(
                safe(
                    f"{len(unwalked)} step(s) of this drill have no outcome ({', '.join(unwalked)}): a drill "
                    "completes only when every step is done, skipped or failed, so last_drilled is not set"
                )
            )
        )
    elif state.completed:
        out.print(Text("no step was done in this drill: last_drilled is not set"))
    return 0 if result.beats and drill_complete(state) else 1


def print_drill(out: Console, result: DrillResult) -> None:
    out.print(Text("drill against the targets:", style="bold"))
    for m in result.measures:
        shown = "not shown by the log" if m.minutes is None else f"{m.minutes:g} min"
        verdict = Text("beats" if m.beats else "MISSES", style="green" if m.beats else "bold red")
        out.print(
            Text(f"  {m.name.removesuffix('_minutes').replace('_', ' '):<14} {shown:<22} target {m.target:g}  "),
            verdict,
        )
    out.print(Text("the drill beat every target" if result.beats else "the drill missed a target"))


def _stamp_drilled(session: Session, state: RunState, out: Console) -> None:
    assert state.end is not None
    day = state.end.at.date()
    current = session.card.last_drilled
    if current is not None and current >= day:
        out.print(Text(f"last_drilled stays {current} (not older than this drill)"))
        return
    try:
        path, _ = stamp_card(session.kb, session.card.id, "last_drilled", day)
    except StampProblem as exc:
        raise CommandError(f"the drill is recorded, but last_drilled was not set: {exc}", 1) from None
    out.print(Text(f"{session.rel(path)}: last_drilled {day} (from {session.rel(session.path_of(state.run_id))})"))


# ---------------------------------------------------------------- the guided walk


class Walk:
    MENU = "[d]one  [s]kip  [f]ailed  [a]pprove  [i]tems  [n]ote  [u]pdate  [e]nd  [q]uit"

    def __init__(self, session: Session, path: Path):
        self.session = session
        self.path = path
        self.out = console()
        self.rollback_asked = False

    def ask(self, prompt: str) -> str:
        return self.out.input(Text(prompt, style="bold")).strip()

    def say(self, text: str, style: str = "") -> None:
        self.out.print(Text(safe(text), style=style))

    def go(self) -> int:
        try:
            return self._walk()
        except (EOFError, KeyboardInterrupt):
            self.out.print()
            self.say(f"stopped; everything recorded is in {self.session.rel(self.path)}", "yellow")
            self.say(f"continue with: kb run {self.session.card.id} --resume")
            return 130

    def _header(self, state: RunState) -> None:
        card = self.session.card
        self.say(f"{card.title}  [{card.id}]", "bold")
        self.say(f"{card.priority}: {PRIORITY_ACTIONS[card.priority]}")
        kind = "DRILL" if state.drill else "run"
        self.say(f"{kind} {state.run_id}, log {self.session.rel(self.path)}, you are {self.session.actor}")
        settled = [s for s in state.steps.values() if s.status in ("done", "skipped")]
        if settled:
            self.say(f"resumed: {len(settled)} of {len(state.steps)} steps already done or skipped", "yellow")

    def _show(self, number: int, total: int, step: StepState) -> None:
        s = step.step
        section = "ROLLBACK " if step.section == "rollback" else ""
        self.out.print()
        self.say(f"{section}step {number}/{total}  {s.id}: {s.do}", "bold")
        if step.status == "failed":
            self.say(f"  failed before: {step.why}", "red")
        if s.run:
            self.say("  run:")
            self.say(f"    {s.run}", "cyan")  # alone on its line: triple-click copies exactly the command
        for permission in s.requires:
            held = self.session.holds(permission)
            self.say(f"  needs {permission}" + ("" if held else "  (you do NOT hold it)"), "" if held else "red")
        if s.irreversible:
            self.say(f"  IRREVERSIBLE: needs approval ({s.approval or 'unstated'}) before it is done", "bold red")
            if step.approvals:
                self.say(f"  approved by {', '.join(a.approver or '' for a in step.approvals)}", "green")
        if s.worklist:
            self.say(f"  worklist: {s.worklist}")
            if step.items:
                self.say(f"  items recorded: {len(step.items)}")
        self.say(f"  done when: {s.done_when or 'NOT STATED'}")

    def _walk(self) -> int:
        state = self.session.state(self.path)
        self._header(state)
        steps = list(state.steps.values())
        while True:
            state = self.session.state(self.path)  # from the log: what is shown is what was persisted
            current = state.next_step()
            if current is None:
                return self._finish(state)
            if current.section == "rollback" and not state.drill and not self.rollback_asked:
                self.rollback_asked = True
                answer = self.ask("the card's steps are settled. Walk its rollback (undo this card's changes)? [y/N] ")
                if not answer.lower().startswith("y"):
                    return self._finish(state)
            number = list(state.steps).index(current.step.id) + 1
            self._show(number, len(steps), current)
            choice = self.ask(self.MENU + " > ").lower()[:1]
            result = self._act(choice, state, current)
            if result is not None:
                return result

    def _act(self, choice: str, state: RunState, step: StepState) -> int | None:
        s = self.session
        if choice == "d":
            if problem := s.refuse_done(step):
                self.say(problem, "red")
                return None
            evidence = self.ask("evidence (what shows it is done): ")
            if not evidence:
                self.say("nothing recorded: done needs a line of evidence", "red")
                return None
            s.append(self.path, event="done", step=step.step.id, evidence=evidence)
            self.say(f"done: {step.step.id}", "green")
        elif choice in ("s", "f"):
            if problem := s.refuse_settle(step):
                self.say(problem, "red")
                return None
            why = self.ask("why: ")
            if not why:
                self.say("nothing recorded: say why", "red")
                return None
            kind = "skipped" if choice == "s" else "failed"
            s.append(self.path, event=kind, step=step.step.id, why=why)
            self.say(f"{kind}: {step.step.id}", "yellow")
        elif choice == "a":
            allowed = s.access.approvers(s.card.rotation, step.step.approval or "second-person") if s.access else []
            others = [name for name in allowed if name not in {*runners(state, step.step.id), s.actor}]
            self.say(f"who may approve: {', '.join(others) or 'nobody'}")
            approver = self.ask("approved by (their name in oncall.yaml): ")
            if problem := s.refuse_approval(state, step, approver):
                self.say(problem, "red")
                return None
            s.append(self.path, event="approved", step=step.step.id, approver=approver)
            self.say(f"approved by {approver}", "green")
        elif choice == "i":
            self._items(step)
        elif choice in ("n", "u"):
            text = self.ask("status update posted: " if choice == "u" else "note: ")
            if text:
                s.append(self.path, event="note", text=text, step=step.step.id, update=True if choice == "u" else None)
                self.say("recorded")
        elif choice == "e":
            return self._finish(state, early=True)
        elif choice == "q":
            self.say(f"stopped; continue with: kb run {s.card.id} --resume", "yellow")
            return 0
        else:
            self.say("choose one of the letters in brackets")
        return None

    def _items(self, step: StepState) -> None:
        if not step.step.worklist:
            self.say("this step has no worklist", "red")
            return
        self.say(f"run the worklist query, then record each item it returned: {step.step.worklist}")
        while True:
            item = self.ask("item (empty line to finish): ")
            if not item:
                return
            verdict = self.ask("verdict [ok]: ") or "ok"
            self.session.append(self.path, event="item", step=step.step.id, item=item, verdict=verdict)

    def _finish(self, state: RunState, early: bool = False) -> int:
        default = "abandoned" if early else "mitigated"
        while True:
            outcome = self.ask(f"end the run: {' / '.join(OUTCOMES)} [{default}]: ").lower() or default
            if outcome in OUTCOMES:
                break
            self.say(f"one of {', '.join(OUTCOMES)}", "red")
        why = self.ask("why (optional): ") if outcome != "mitigated" else ""
        return _end(self.session, self.path, outcome, why or None, self.out)
