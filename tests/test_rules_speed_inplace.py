"""KB602 and KB605 run promtool on the emitted files where they are, when they are exactly what
`kb emit` writes, and started before the other rules (issue #20): the answers are those of the
long way round (every file copied to a private folder first), with the real promtool.

A file that is a link, a FIFO, other bytes, or that changes while promtool reads it is never
handed to promtool in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import BASE_KB, copy_kb
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rule_cases import CASES_DIR, apply_files

from kb.check.engine import run_check
from kb.commands import emit as emit_verb
from kb.config.settings import load_config
from kb.emit import promtool, replays
from kb.emit.build import build, dump_yaml
from kb.load.loader import load_kb
from kb.rules.context import RuleContext
from kb.rules.router.card_copies_reference import WORD, _shares_run, shingles

needs_promtool = pytest.mark.skipif(promtool.executable() is None, reason="promtool is not installed")
SELECT = ["KB601", "KB602", "KB605"]


def _case(name: str) -> dict:
    data = yaml.safe_load((CASES_DIR / "KB605.yaml").read_text(encoding="utf-8"))
    return next(case for case in data["cases"] if case["name"] == name)


def _kb(tmp_path: Path, *, emit: bool = True, broken_expr: bool = False) -> Path:
    """Two postmortems: PM-2026-001 with two failing replays, PM-2026-002 passing."""
    root = copy_kb(BASE_KB, tmp_path / "kb")
    apply_files(root, _case("a-replay-that-never-fires-and-one-missing-labels"))
    second = _case("the-replay-expects-the-labels-its-expression-keeps")["files"]["postmortems/PM-2026-001-queue.yaml"]
    second = second.replace("PM-2026-001", "PM-2026-002")
    if broken_expr:  # promtool test rules cannot even load the rules: a failure without a test name
        second = second.replace("expr: max by (agent)", "expr: max by (agent) (")
    (root / "postmortems" / "PM-2026-002-steps.yaml").write_text(second, encoding="utf-8")
    if emit:
        assert emit_verb.run(root=root) == 0
    return root


def _answers(root: Path) -> list[tuple]:
    kb = load_kb(root, None, load_config(root))
    result = run_check(RuleContext(kb), select=SELECT)
    return [(d.path, d.span.line, d.span.column, d.code, d.message) for d in result.diagnostics]


def _long_way(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every emitted file copied first, as kb always did."""
    with monkeypatch.context() as patch:
        patch.setattr(replays, "holding", lambda path, expected: None)
        return _answers(root)


@needs_promtool
@pytest.mark.parametrize("emit", [True, False], ids=["emitted", "not-emitted"])
def test_in_place_gives_the_answers_of_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emit: bool) -> None:
    root = _kb(tmp_path, emit=emit)
    kb = load_kb(root, None, load_config(root))
    emitted = build(kb)
    placed = replays.InPlace(kb, emitted, emitted.suites)
    assert len(placed.indices) == (2 if emit else 0)
    answers = _answers(root)
    assert [a for a in answers if a[3] == "KB605"], "the failing replays are reported"
    assert not any("PM-2026-002" in a[0] for a in answers if a[3] == "KB605")
    assert answers == _long_way(root, monkeypatch)


@needs_promtool
def test_a_failure_promtool_cannot_name_is_reported_as_the_single_run_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _kb(tmp_path, emit=False, broken_expr=True)
    (root / "postmortems" / "PM-2026-001-queue.yaml").unlink()  # no failure with a test name beside it
    assert emit_verb.run(root=root) == 0
    answers = _answers(root)
    assert any(a[3] == "KB602" for a in answers)
    assert any(a[3] == "KB605" and "could not be run" in a[4] for a in answers)
    assert answers == _long_way(root, monkeypatch)


@needs_promtool
def test_a_run_out_of_time_is_reported_as_the_single_run_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _kb(tmp_path)
    monkeypatch.setattr(replays, "batch_timeout", lambda count: 0.0)
    started: list[int] = []
    real = promtool.RunningTests.__init__

    def counting(self, names, cwd, timeout=120):
        started.append(len(names))
        real(self, names, cwd, timeout)

    monkeypatch.setattr(promtool.RunningTests, "__init__", counting)
    answers = _answers(root)
    assert [a[4] for a in answers if a[3] == "KB605"] == [
        "the replays could not be run: promtool test rules did not finish in 0 s"
    ]
    assert started[0] == 2 and started[-1] == 2, "the run in place first, the single run last"
    assert answers == _long_way(root, monkeypatch)


@needs_promtool
def test_a_file_that_changes_while_promtool_reads_it_counts_for_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _kb(tmp_path)
    expected = _long_way(root, monkeypatch)
    monkeypatch.setattr(replays, "still", lambda path, identity: False)
    from kb.rules.alerting import emit_promql_invalid

    monkeypatch.setattr(emit_promql_invalid, "still", lambda path, identity: False)
    assert _answers(root) == expected


@needs_promtool
def test_links_fifos_and_other_bytes_are_never_read_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _kb(tmp_path)
    kb = load_kb(root, None, load_config(root))
    emitted = build(kb)
    tests, alerts = root / "rules" / "kb" / "tests", root / "rules" / "kb" / "alerts"
    outside = tmp_path / "outside.yml"
    outside.write_bytes((tests / "PM-2026-002.yml").read_bytes())
    (tests / "PM-2026-002.yml").unlink()
    (tests / "PM-2026-002.yml").symlink_to(outside)  # the very bytes, through a link out of the KB
    (alerts / "PM-2026-001.yml").unlink()
    os.mkfifo(alerts / "PM-2026-001.yml")  # would hang a reader
    assert replays.InPlace(kb, emitted, emitted.suites).indices == []
    paths, watched = replays.in_place_or_copies(kb, emitted, sorted(emitted.files), tmp_path / "copies")
    assert root / "rules" / "kb" / "alerts" / "PM-2026-001.yml" not in watched
    assert all(p.is_file() and not p.is_symlink() for p in paths)
    answers = _answers(root)
    assert answers == _long_way(root, monkeypatch)
    # a folder that is a link is no folder of the KB: nothing under it is read in place
    (tests / "PM-2026-002.yml").unlink()
    (alerts / "PM-2026-001.yml").unlink()
    assert emit_verb.run(root=root) == 0
    real = tmp_path / "real-kb-folder"
    (root / "rules" / "kb").rename(real)
    (root / "rules" / "kb").symlink_to(real)
    kb = load_kb(root, None, load_config(root))
    assert replays.InPlace(kb, build(kb), build(kb).suites).indices == []


def test_copies_cut_from_the_emitted_files_are_the_dumps_kb_wrote(tmp_path: Path) -> None:
    root = _kb(tmp_path, emit=False)
    (root / "postmortems" / "PM-2026-003-x.yaml").write_text(
        (root / "postmortems" / "PM-2026-002-steps.yaml")
        .read_text(encoding="utf-8")
        .replace("PM-2026-002", "PM-2026-003")
        .replace("summary: One agent run repeats steps", "summary: 'é: \"quoted\" # not a comment, it''s'"),
        encoding="utf-8",
    )
    kb = load_kb(root, None, load_config(root))
    emitted = build(kb)
    assert len(emitted.suites) == 3
    for index, suite in enumerate(emitted.suites):
        reference = (
            dump_yaml({"groups": [suite.group]}),
            dump_yaml({"rule_files": [f"{index}.rules.yml"], "evaluation_interval": "1m", "tests": suite.tests}),
        )
        assert replays.copy_texts(suite, index, emitted) == reference
        assert replays.copy_texts(suite, index, None) == reference


WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "e2", "f-g"]), max_size=40).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(section=WORDS, text=WORDS, size=st.integers(1, 6))
def test_shared_runs_are_found_as_by_intersecting_every_shingle(section: str, text: str, size: int) -> None:
    copied = shingles(section, size)
    assert _shares_run(WORD.findall(text.lower()), copied, size) == bool(shingles(text, size) & copied)
