"""The run after an edit re-reads only what changed, and answers exactly as a cold run.

Every rule case in tests/rule_cases is replayed as an edit on a KB whose state was recorded
before: the incremental run must print what a cold run prints. And every rule that says its
scope is "document" must find on each document alone what it finds on the whole KB.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from conftest import BASE_KB, SNAPSHOT_KB, copy_kb
from test_rule_cases import _cases, apply_files, promtool_reads

from kb.cache import incremental
from kb.check.engine import configure_rules, run_check
from kb.load.loader import load_kb
from kb.rules import DocumentRule, all_rules
from kb.rules.context import RuleContext

KEY = "test-key"


def _age(root: Path) -> None:
    """Every file a minute old, so the next run trusts stats (the non-racy path)."""
    for path in root.rglob("*"):
        os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))


def incremental_check(root: Path):
    session = incremental.start(root, KEY)
    kb = load_kb(root, session)
    ctx = RuleContext(kb, emitted=session.emitted)
    result = run_check(ctx, memo=session)
    incremental.finish(
        root, kb.settings, session, ctx.text_paths(), ctx.emitted_if_built, [d.path for d in kb.postmortems]
    )
    return result, session


def lines(result) -> list[tuple]:
    return [(d.path, d.span, d.code, d.level, d.message) for d in result.diagnostics]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize(("code", "case"), list(_cases()))
def test_edit_after_recorded_state_equals_cold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_without_promtool: str, code: str, case: dict
) -> None:
    if not promtool_reads(code, case):  # its verdict is the base KB's: 4 runs of it would prove nothing new
        monkeypatch.setenv("PATH", path_without_promtool)
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _age(root)
    first, session = incremental_check(root)
    assert session.previous is None and session.changed  # (equal to a cold run: the test below)
    apply_files(root, case)
    after, session = incremental_check(root)
    assert lines(after) == lines(run_check(RuleContext(load_kb(root)))), f"{code} {case['name']}"
    edited = set(case.get("files") or {}) | set(case.get("files_bytes") or {}) | set(case.get("symlinks") or {})
    if all(path.startswith(("cards/", "postmortems/", "rules/")) for path in edited):
        assert session.previous is not None, "only documents changed: the state must have been used"
        documents = {p for p in edited if p.startswith(("cards/", "postmortems/")) and (root / p).is_file()}
        assert session.changed == documents
    again, session = incremental_check(root)
    assert lines(again) == lines(after) and session.changed == set()


def test_recording_run_equals_cold(tmp_path: Path) -> None:
    """The recording run every case above starts from answers as a cold run does."""
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _age(root)
    first, session = incremental_check(root)
    assert session.previous is None and session.changed
    assert lines(first) == lines(run_check(RuleContext(load_kb(root))))


def test_unchanged_kb_reads_no_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    _age(root)
    cold, _ = incremental_check(root)
    from kb.core import yamlio

    settings = (root / "mkdocs.yml").read_bytes()
    parse = yamlio.load_mapping

    def refuse(raw, *args, **kwargs):
        assert raw == settings, "a recorded, unchanged file was parsed again"
        return parse(raw, *args, **kwargs)

    monkeypatch.setattr(yamlio, "load_mapping", refuse)
    warm, session = incremental_check(root)
    assert session.previous is not None and lines(warm) == lines(cold)


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe3\x00\x00\x00\x00", None])
def test_damaged_state_is_a_cold_run(tmp_path: Path, damage: bytes | None) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    cold, _ = incremental_check(root)
    (state,) = (tmp_path / "cache").rglob(incremental.STATE_FILE)
    if damage is None:  # valid marshal, wrong shape
        import marshal

        damage = marshal.dumps(
            {
                "format": incremental.FORMAT,
                "kb": __import__("kb").__version__,
                "key": KEY,
                "shared": "x",
                "router_pages": [],
                "records": {"a": (1,)},
            }
        )
    state.write_bytes(damage)
    result, session = incremental_check(root)
    assert session.previous is None and lines(result) == lines(cold)


DOCUMENT_RULE_CASES = {p.id: p.values[1] for p in _cases() if all_rules()[p.values[0]].scope == "document"}


@pytest.mark.parametrize("source", ["repo", *DOCUMENT_RULE_CASES])
def test_document_rules_read_no_other_document(tmp_path: Path, source: str) -> None:
    """A document rule's findings on a document are the same when the KB holds that document
    alone: what the incremental run relies on when it replays unchanged documents."""
    if source == "repo":
        root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    else:
        root = copy_kb(BASE_KB, tmp_path / "kb")
        apply_files(root, DOCUMENT_RULE_CASES[source])
    kb = load_kb(root)
    active, _ = configure_rules(kb.config)
    documents = [("cards", d) for d in kb.cards] + [("postmortems", d) for d in kb.postmortems]
    checked = 0
    for entry in active:
        if not issubclass(entry.rule, DocumentRule):
            continue
        for folder, doc in documents:
            if folder not in entry.rule.documents or (entry.rule.needs_model and doc.model is None):
                continue
            whole = sorted(
                (f.path, f.loc, f.message) for f in entry.rule().check_document(RuleContext(kb), doc, entry.options)
            )
            alone_kb = copy.copy(kb)
            alone_kb.cards = [doc] if folder == "cards" else []
            alone_kb.postmortems = [doc] if folder == "postmortems" else []
            alone = sorted(
                (f.path, f.loc, f.message)
                for f in entry.rule().check_document(RuleContext(alone_kb), doc, entry.options)
            )
            assert whole == alone, f"{entry.rule.code} reads other documents: make it a kb-wide Rule"
            checked += 1
    assert checked


def test_scopes_are_known() -> None:
    assert {rule.scope for rule in all_rules().values()} <= {"document", "kb"}
    assert all(issubclass(rule, DocumentRule) == (rule.scope == "document") for rule in all_rules().values())
