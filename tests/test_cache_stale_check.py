"""A warm `kb check` (result cache, incremental state) equals a cold one (outside review,
findings 2, 3, 4, 5, 6): router link targets that appear or vanish, hidden and linked-in
folders, links out of the KB, `references/../` paths, a page under rules/ a card cites, and
a file saved while a cold check reads the KB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

from kb.cache import incremental
from kb.check.engine import run_check
from kb.commands import check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    return root


def _same_as_cold(call, monkeypatch: pytest.MonkeyPatch, root: Path) -> str:
    warm = call(check.run, root=root)
    with monkeypatch.context() as m:
        m.setenv("KB_NO_CACHE", "1")
        cold = call(check.run, root=root)
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    return cold.stdout


def _cite(root: Path, path: str) -> None:
    card = root / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("path: references/queues.md", f"path: {path}"))


def _rename_heading(page: Path) -> None:
    text = page.read_text()
    assert "# Pausing consumers" in text
    page.write_text(text.replace("# Pausing consumers", "# Holding consumers"))


def test_a_sub_router_page_created_and_a_linked_file_deleted(kb: Path, call, monkeypatch) -> None:
    (kb / "docs/flow.svg").write_text("<svg/>")
    with (kb / "router.md").open("a") as handle:
        handle.write("- Storage situations → [storage](routers/storage.md)\n- The flow → [flow](docs/flow.svg)\n")
    assert "routers/storage.md" in _same_as_cold(call, monkeypatch, kb)
    (kb / "routers").mkdir()
    (kb / "routers/storage.md").write_text("# Storage\n\n- Disk full → [queue-stuck](../cards/queue-stuck.yaml)\n")
    (kb / "docs/flow.svg").unlink()
    assert "docs/flow.svg" in _same_as_cold(call, monkeypatch, kb)


@pytest.mark.parametrize("folder", ["references/.drafts", "references/../docs", "references/linked"])
def test_a_cited_page_in_a_hidden_linked_or_dotted_path(kb: Path, call, monkeypatch, folder: str) -> None:
    if folder == "references/linked":
        (kb / "elsewhere").mkdir()
        (kb / "references/linked").symlink_to("../elsewhere", target_is_directory=True)
    (kb / folder).mkdir(exist_ok=True)
    page = kb / folder / "q.md"
    page.write_text((kb / "references/queues.md").read_text())
    _cite(kb, f"{folder}/q.md")
    _same_as_cold(call, monkeypatch, kb)
    _rename_heading(page)
    assert "KB134" in _same_as_cold(call, monkeypatch, kb)


def test_a_new_folder_link_out_of_the_kb(kb: Path, tmp_path: Path, call, monkeypatch) -> None:
    _same_as_cold(call, monkeypatch, kb)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/x.md").write_text("# X\n")
    (kb / "references/etc").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert "KB102" in _same_as_cold(call, monkeypatch, kb)


def test_a_save_during_a_cold_check_is_not_stored_as_checked(kb: Path, call, monkeypatch) -> None:
    real = check.check_once

    def saved_mid_run(*args, **kwargs):
        result = real(*args, **kwargs)
        _rename_heading(kb / "references/queues.md")  # saved after the run read it
        return result

    with monkeypatch.context() as m:
        m.setattr(check, "check_once", saved_mid_run)
        call(check.run, root=kb)
    assert "KB134" in _same_as_cold(call, monkeypatch, kb)


def _incremental(root: Path, finish=incremental.finish):
    session = incremental.start(root, "key")
    loaded = load_kb(root, session)
    ctx = RuleContext(loaded, emitted=session.emitted)
    result = run_check(ctx, memo=session)
    finish(root, loaded.settings, session, ctx.text_paths(), None, [d.path for d in loaded.postmortems])
    return [(d.path, d.code, d.message) for d in result.diagnostics]


def _cold(root: Path):
    return [(d.path, d.code, d.message) for d in run_check(RuleContext(load_kb(root))).diagnostics]


def test_incremental_state_after_a_save_during_the_run(kb: Path) -> None:
    def saved_before_finish(*args, **kwargs):
        _rename_heading(kb / "references/queues.md")
        return incremental.finish(*args, **kwargs)

    _incremental(kb, saved_before_finish)
    assert any(code == "KB134" for _, code, _ in _cold(kb))
    assert _incremental(kb) == _cold(kb)


def test_incremental_sees_a_cited_page_under_rules(kb: Path) -> None:
    page = kb / "rules/notes.md"
    page.write_text((kb / "references/queues.md").read_text())
    _cite(kb, "rules/notes.md")
    for path in kb.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    session = incremental.start(kb, "key")
    loaded = load_kb(kb, session)
    ctx = RuleContext(loaded, emitted=session.emitted)
    run_check(ctx, memo=session)
    from kb.check.engine import cache_inputs

    incremental.finish(kb, loaded.settings, session, cache_inputs(ctx), None, [])
    _rename_heading(page)
    session = incremental.start(kb, "key")
    loaded = load_kb(kb, session)
    warm = run_check(RuleContext(loaded, emitted=session.emitted), memo=session)
    cold = _cold(kb)
    assert any(code == "KB134" for _, code, _ in cold)
    assert [(d.path, d.code, d.message) for d in warm.diagnostics] == cold


def test_folder_link_loops_are_walked_once(kb: Path, call, monkeypatch) -> None:
    (kb / "references/a").mkdir()
    (kb / "references/c").mkdir()
    (kb / "references/a/to-c").symlink_to("../c", target_is_directory=True)
    (kb / "references/c/to-a").symlink_to("../a", target_is_directory=True)
    (kb / "references/a/self").symlink_to(".", target_is_directory=True)
    _same_as_cold(call, monkeypatch, kb)
    _rename_heading(kb / "references/queues.md")
    assert "KB134" in _same_as_cold(call, monkeypatch, kb)
