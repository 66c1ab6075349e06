"""An edit of a card's or a postmortem's own text (a step's `do` or `done_when`, a title, a
summary) is answered from the last result plus that document's own rules (kb.cache.delta),
and the answer is the cold check's, byte for byte; an edit of anything another document, the
router, kb emit or a run log reads takes the whole check. A postmortem title that kb emit
writes into an alert's description is answered by asking KB601, KB602 and KB605 again about
that postmortem's emitted files alone.

The second half proves which fields are local: every rule that reads across documents, and
every derived view, runs on a varied knowledge base with reads of the local fields traced;
only the document rules (run again on the new text) and kb emit (for the title, handled
above) may read them."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO, SNAPSHOT_KB, copy_kb
from test_edit_speed_delta import Calls, cold, edit

import kb.commands.check as check_command
from kb.cache import delta
from kb.check.engine import configure_rules, run_check
from kb.config.settings import load_config
from kb.emit import promtool
from kb.load.loader import load_kb
from kb.model import Card, Postmortem
from kb.model.card import Step
from kb.rules import DocumentRule
from kb.rules.context import RuleContext

CARD = "cards/queue-stuck.yaml"
EMITTING = "postmortems/PM-2026-004-wrong-recovery-script.yaml"  # an alert without a description: emit writes its title
DESCRIBED = "postmortems/PM-2026-007-research-agent-spend-runaway.yaml"  # its alert states a description
QUIET = "postmortems/PM-2026-011-rotation-could-not-roll-back.yaml"  # no alert


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture(scope="module")
def primed_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The snapshot KB checked once (a whole check: the result and the facts), shared by the
    tests of this module: each copies both, so that each starts from the same last result."""
    base = tmp_path_factory.mktemp("primed")
    root = copy_kb(SNAPSHOT_KB, base / "kb")
    patch = pytest.MonkeyPatch()
    patch.setenv("KB_CACHE_DIR", str(base / "cache"))
    patch.delenv("KB_NO_CACHE", raising=False)
    try:
        check_command.run(root=root)
    finally:
        patch.undo()
    return root, base / "cache"


@pytest.fixture
def kb_root(primed_cache: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    source, cache = primed_cache
    root = tmp_path / "kb"
    shutil.copytree(source, root, symlinks=True)
    # the cache folder is named for the KB's path: the primed one is moved to this copy's name
    from kb.cache import store

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    target = store.cache_dir(root)
    shutil.copytree(next(cache.iterdir()), target)
    capsys.readouterr()
    return root


def _run(root: Path, capsys) -> tuple[int, str]:
    code = check_command.run(root=root)
    return code, capsys.readouterr().out


# (file, old text, new text): answered from the last result
LOCAL_EDITS = [
    (CARD, "do: Read the consumers' state", "do: Read the state of every consumer"),
    (CARD, "title: Dispatch jobs pending", "title: Dispatch jobs still pending"),
    (CARD, "do: Restore parked jobs once the failing cause is fixed", "do: Restore the parked jobs after the fix"),
    (CARD, 'done_when: "Queue depth falls for five minutes in a row"', "done_when: Queue depth falls for 5 minutes"),
    (DESCRIBED, "title: Research agent looped", "title: The research agent looped"),
    (QUIET, "title: The paged engineer", "title: The paged engineer on call"),
    (QUIET, "  A prompt change made", "  Edited. A prompt change made"),  # its summary
]


class WholeCheck(BaseException):
    """The whole check was asked for: the fast path refused (raised past every handler)."""


def refuses(root: Path, capsys, monkeypatch) -> bool:
    """Whether the check takes the whole check (without running it: its answer is the cold
    check's, as the cache tests show)."""

    def whole(*args, **kwargs):
        raise WholeCheck

    with monkeypatch.context() as patch:
        patch.setattr(check_command, "check_once", whole)
        try:
            _run(root, capsys)
        except WholeCheck:
            return True
    return False


def test_local_edits_come_from_the_last_result_and_equal_cold(kb_root: Path, capsys, monkeypatch) -> None:
    for rel, old, new in LOCAL_EDITS:  # one at a time: each alone is answered fast
        original = (kb_root / rel).read_text(encoding="utf-8")
        edit(kb_root, rel, old, new)
        assert not refuses(kb_root, capsys, monkeypatch), (rel, new)
        (kb_root / rel).write_text(original, encoding="utf-8")
    for rel, old, new in LOCAL_EDITS:  # and all together, compared with a cold check
        edit(kb_root, rel, old, new)
    calls = Calls(monkeypatch)
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0, "a local edit must not load the knowledge base"


def test_an_emitted_title_is_answered_from_its_own_emitted_files(kb_root: Path, capsys, monkeypatch) -> None:
    calls = Calls(monkeypatch)
    edit(kb_root, EMITTING, "title: Agent ran the wrong", "title: The agent ran the wrong")
    code, out = _run(kb_root, capsys)
    assert "KB601" in out and "rules/kb/alerts/PM-2026-004.yml" in out and "rules/kb/tests/PM-2026-004.yml" in out
    assert (code, out) == cold(kb_root, capsys, monkeypatch)
    # and back: the emitted files are what emit writes again, their KB601 gone
    edit(kb_root, EMITTING, "title: The agent ran the wrong", "title: Agent ran the wrong")
    code, out = _run(kb_root, capsys)
    assert "KB601" not in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0


def test_an_emitted_title_with_a_template_delimiter_replays_as_written(kb_root: Path, capsys, monkeypatch) -> None:
    # the title lands in an annotation, a Go template to promtool: an unclosed `{{` used to fail
    # the replay run as a whole (KB605 at mkdocs.yml); emit now writes it as an action printing
    # `{{`, so the replay passes and the answer (fast or not) is the cold one
    if promtool.executable() is None:
        pytest.skip("promtool is not installed")
    edit(kb_root, EMITTING, "title: Agent ran the wrong", "title: '{{ Agent ran the wrong'")
    edit(kb_root, EMITTING, "stuck queue\n", "stuck queue'\n")
    edit(kb_root, EMITTING, "wrong'", "wrong")
    code, out = _run(kb_root, capsys)
    assert "KB605" not in out and "KB601" in out
    assert (code, out) == cold(kb_root, capsys, monkeypatch)


def test_findings_introduced_by_a_local_edit_are_reported(kb_root: Path, capsys, monkeypatch) -> None:
    calls = Calls(monkeypatch)
    # KB201: a step without done_when
    edit(kb_root, CARD, 'done_when: "Queue depth falls for five minutes in a row"', 'done_when: ""')
    code, out = _run(kb_root, capsys)
    assert "KB201" in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0
    # the edited card now has a finding of its own rules: removing it is answered the same way
    edit(kb_root, CARD, 'done_when: ""', 'done_when: "Queue depth falls for five minutes in a row"')
    code, out = _run(kb_root, capsys)
    assert "KB201" not in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0  # the card's only findings were its own rules': computed again on the new text


# (file, old text, new text): read across documents, by emit or by run logs: the whole check
REFUSED_EDITS = [
    (CARD, "  - id: park", "  - id: park-jobs"),  # a step id: run logs and KB-id/duplicate read it
    (CARD, "requires: [queue:read:dispatch]", "requires: [queue:read:dispatch, queue:pause:dispatch]"),  # access
    (CARD, "priority: P2", "priority: P1"),  # alert priorities, the router's budget
    (CARD, "services: [dispatcher]", "services: [dispatcher, billing]"),  # a list the site indexes by
    (CARD, 'run: "queuectl consumers dispatch"', 'run: "queuectl consumers dispatch -v"'),  # kb run shows it
    (CARD, "do: Read the consumers' state", "do: Key AKIAIOSFODNN7EXAMPLX here"),  # a credential
    (CARD, "do: Read the consumers' state", "do: Read the state  # kb: ignore[KB201]"),  # a suppression
    (EMITTING, "for: 5m", "for: 10m"),  # what kb emit writes besides the title
    (
        EMITTING,
        "summary: All dispatch consumers",
        "summary: Every dispatch consumer",
    ),  # an alert's summary (an annotation), not the postmortem's
    (DESCRIBED, "title: Research agent looped", "title: 'TODO: Research agent looped'"),  # a TODO flag
]


def test_an_edit_read_across_documents_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    for rel, old, new in REFUSED_EDITS:
        original = (kb_root / rel).read_text(encoding="utf-8")
        edit(kb_root, rel, old, new)
        assert refuses(kb_root, capsys, monkeypatch), (rel, new)
        (kb_root / rel).write_text(original, encoding="utf-8")
    assert not refuses(kb_root, capsys, monkeypatch)  # every edit undone: the last result, as it was


def test_projections_leave_out_exactly_the_local_fields() -> None:
    card = {"id": "a", "title": "t", "summary": "s", "steps": [{"id": "x", "do": "d", "done_when": "w", "run": "r"}]}
    same = {**card, "title": "T", "summary": "S", "steps": [{"id": "x", "do": "D", "done_when": "W", "run": "r"}]}
    assert delta.projection(card, "cards") == delta.projection(same, "cards")
    for changed in (
        {**card, "steps": [{"id": "y", "do": "d", "done_when": "w", "run": "r"}]},
        {**card, "steps": [{"id": "x", "do": "d", "done_when": "w", "run": "r2"}]},
        {**card, "rotation": "r"},
    ):
        assert delta.projection(card, "cards") != delta.projection(changed, "cards")
    assert delta.projection({**card, "steps": ["not a step"]}, "cards") is None
    alert = {"id": "R1", "kind": "alert", "alert": {"name": "A"}}
    pm = {"id": "PM-2026-001", "title": "t", "reinforcements": [alert]}
    retitled = {**pm, "title": "T"}
    assert delta.projection(pm, "postmortems") != delta.projection(retitled, "postmortems")  # emit writes it
    assert delta.projection(pm, "postmortems", emit_text=True) == delta.projection(retitled, "postmortems", True)
    for quiet in (
        [{**alert, "alert": {"name": "A", "description": "d"}}],
        [{**alert, "status": "wont_do"}],
        [{"id": "R2", "kind": "gate"}],
    ):
        pm_quiet = {**pm, "reinforcements": quiet}
        assert delta.projection(pm_quiet, "postmortems") == delta.projection({**pm_quiet, "title": "T"}, "postmortems")
    assert delta.projection(card, "cards") != delta.projection(card, "postmortems")


# -- which fields are local: traced ----------------------------------------------------------
TRACED = {
    Card: set(delta.LOCAL_KEYS["cards"]),
    Step: set(delta.LOCAL_STEP_KEYS),
    Postmortem: set(delta.LOCAL_KEYS["postmortems"]) | {delta.EMIT_TEXT_KEY},
}


@pytest.mark.parametrize("which", ["snapshot", "with a run log"])
def test_no_rule_across_documents_nor_a_derived_view_reads_a_local_field(
    tmp_path: Path, monkeypatch, which: str
) -> None:
    if which == "snapshot":
        root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    else:  # the run rules read the steps of the card a run walked: a full run, approvals, worklist items
        import test_run

        root = tmp_path / "kb"
        shutil.copytree(test_run.FIXTURE, root)
        test_run.full_run(root)
        assert list((root / "runs").glob("*.jsonl"))
    config = load_config(root)
    kb = load_kb(root, None, config)
    reads: set[tuple[str, str, str]] = set()
    for model, fields in TRACED.items():
        original = model.__getattribute__

        def getattribute(self, name, _original=original, _fields=fields, _model=model):
            if name in _fields:
                reads.add((_model.__name__, name, sys._getframe(1).f_code.co_filename))
            return _original(self, name)

        monkeypatch.setattr(model, "__getattribute__", getattribute)
    ctx = RuleContext(kb)
    run_check(ctx)  # every rule, the router, the access and paging models, what kb emit writes
    ctx.access(), ctx.paging(), ctx.text_files()
    active, _ = configure_rules(config)
    allowed = {
        Path(sys.modules[e.rule.__module__].__file__).resolve() for e in active if issubclass(e.rule, DocumentRule)
    }
    build = (REPO / "kb" / "emit" / "build.py").resolve()
    strays = sorted(
        (model, name, file)
        for model, name, file in reads
        if Path(file).resolve() not in allowed and not (model == "Postmortem" and Path(file).resolve() == build)
    )
    assert reads, "the trace saw nothing: it would pass whatever rules read"
    assert not strays, f"a rule across documents or a view reads a local field: {strays}"


# Modules of the checking packages whose code may name a card's or a step's local field; a new
# one could give another file an answer the delta path would not compute again.
NAME_PATTERNS = {
    "title": re.compile(r"\btitle\b"),
    "do": re.compile(r"\.do\b|[\"']do[\"']"),
    "done_when": re.compile(r"\bdone_when\b"),
}
NAME_READERS = {
    "title": {
        "kb/model/card.py",
        "kb/model/postmortem.py",
        "kb/emit/build.py",  # an alert's description (EMIT_TEXT_KEY: _emit_findings)
        "kb/core/templating.py",  # kb new's templates
        "kb/core/text.py",  # str.title
        "kb/core/slugs.py",  # docstring
        "kb/analysis/access.py",  # str.title of day names
        "kb/analysis/from_run.py",  # kb new card --from-run, not kb check
        "kb/analysis/followups.py",  # kb followups, not kb check
        "kb/rules/files/schema_missing_field.py",  # docstring
        "kb/rules/files/id_file_name_mismatch.py",  # a message's example file name
        "kb/check/formats/github.py",  # an annotation's title
        "kb/cache/delta.py",
    },
    "do": {
        "kb/analysis/from_run.py",  # kb new card --from-run
        "kb/rules/cards/card_vague_step_without_worklist.py",  # KB203, a document rule
        "kb/rules/router/card_copies_reference.py",  # KB506, a document rule
        "kb/cache/delta.py",
    },
    "done_when": {
        "kb/model/card.py",
        "kb/model/run.py",  # a run event's description text
        "kb/core/yamlio.py",  # a docstring's example
        "kb/rules/cards/card_step_without_done.py",  # KB201, a document rule
        "kb/rules/router/card_copies_reference.py",  # KB506
        "kb/rules/files/schema_missing_field.py",  # docstrings (Bad/Good examples) below
        "kb/rules/files/schema_unknown_field.py",
        "kb/rules/files/suppression_unused.py",
        "kb/rules/cards/card_vague_step_without_worklist.py",
        "kb/rules/oncall/access_agent_first_responder.py",
        "kb/rules/oncall/access_business_hours_only.py",
        "kb/rules/oncall/access_no_approver.py",
        "kb/rules/oncall/access_missing_permission.py",
    },
}
CHECK_PACKAGES = ("kb/core", "kb/config", "kb/model", "kb/load", "kb/analysis", "kb/emit", "kb/rules", "kb/check")


def test_only_known_modules_name_a_local_field() -> None:
    assert delta.LOCAL_KEYS["cards"] == {"summary", "title"} and delta.LOCAL_STEP_KEYS == {"do", "done_when"}
    assert delta.EMIT_TEXT_KEY == "title", "a new local field needs its readers listed here"
    for name, pattern in NAME_PATTERNS.items():
        found = {
            path.relative_to(REPO).as_posix()
            for package in CHECK_PACKAGES
            for path in (REPO / package).rglob("*.py")
            if pattern.search(path.read_text(encoding="utf-8"))
        }
        assert found <= NAME_READERS[name], f"new readers of {name}: {sorted(found - NAME_READERS[name])}"


def test_without_promtool_an_emitted_title_is_answered_fast_and_equals_cold(
    kb_root: Path, capsys, monkeypatch, tmp_path: Path
) -> None:
    # KB602 then says at mkdocs.yml only how many alerts went unchecked: that answer stands
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(bare))
    assert promtool.executable() is None
    _run(kb_root, capsys)  # promtool's absence is part of the key: a whole check first
    calls = Calls(monkeypatch)
    edit(kb_root, EMITTING, "title: Agent ran the wrong", "title: The agent ran the wrong")
    code, out = _run(kb_root, capsys)
    assert "KB601" in out and "promtool is not installed" in out
    assert (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0


COPIED = "Read the state of every consumer on the dispatch queue before you resume or park a single job"


@pytest.mark.parametrize("racer", ["references/dispatch-queue.md", "cards/agent-tool-loop.yaml"])
def test_a_file_changed_while_the_fast_path_ran_is_never_answered_from_a_mix(
    kb_root: Path, capsys, monkeypatch, racer: str
) -> None:
    """A file changed while the fast path ran and put back after: a shared input (a reference,
    which KB506 reads: the card's step is a copy of its text only meanwhile) means the result
    is not kept; another document (never read there) changes nothing. Either way the next
    answer is the cold one."""
    edit(kb_root, CARD, "do: Read the consumers' state", f"do: {COPIED}")
    path = kb_root / racer
    original = path.read_text(encoding="utf-8")
    meanwhile = original.replace("## Consumers and pausing\n", f"## Consumers and pausing\n\n{COPIED}.\n", 1)
    real = delta._changed_findings

    def racing(*args, **kwargs):
        path.write_text(meanwhile if meanwhile != original else original + "\n# meanwhile\n", encoding="utf-8")
        try:
            return real(*args, **kwargs)
        finally:
            path.write_text(original, encoding="utf-8")

    monkeypatch.setattr(delta, "_changed_findings", racing)
    code, out = _run(kb_root, capsys)
    assert ("KB506" in out) == (racer.startswith("references/"))  # the fast path saw the text meanwhile
    monkeypatch.setattr(delta, "_changed_findings", real)
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
