"""The router caches (route-router.json, the card index) answer as the files do now (outside
review, findings 1, 2, 7, 8, 9, 10): a warm `kb route` equals a cold one after the router was
missing once, after a linked sub-router page appears, after markdown_extensions change, and
after a page is replaced while it was parsed; KB_NO_CACHE=1 writes no cache at all."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

import kb.load.router as router_module
from kb.commands import access, route
from kb.route import index as card_index
from kb.route import search

REAL_TIME_NS = time.time_ns


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    return root


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file seems older than the racy margin: the caches keep what they read (the path a
    user takes seconds after an edit), so the tests exercise what the caches validate."""
    monkeypatch.setattr(time, "time_ns", lambda: REAL_TIME_NS() + 10_000_000_000)


def _cold(call, monkeypatch: pytest.MonkeyPatch, *args, **kwargs):
    with monkeypatch.context() as m:
        m.setenv("KB_NO_CACHE", "1")
        return call(*args, **kwargs)


def test_router_missing_once_is_not_kept_as_an_empty_table(kb: Path, call, monkeypatch, settled) -> None:
    with (kb / "router.md").open("a") as handle:
        handle.write("- `ZzOnlyRouter`: disk full → [queue-stuck](cards/queue-stuck.yaml)\n")  # no card names it
    (kb / "router.md").rename(kb / "router.away")  # mid `git checkout`
    call(route.run, "ZzOnlyRouter", root=kb)
    (kb / "router.away").rename(kb / "router.md")
    warm = call(route.run, "ZzOnlyRouter", root=kb)
    cold = _cold(call, monkeypatch, route.run, "ZzOnlyRouter", root=kb)
    assert "router.md:" in cold.stdout
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)


def test_a_sub_router_page_created_after_the_link_is_read(kb: Path, call, monkeypatch, settled) -> None:
    with (kb / "router.md").open("a") as handle:
        handle.write("- Storage situations → [storage](routers/storage.md)\n")
    for query in ("ZzStorageFull", "storage"):
        call(route.run, query, root=kb)  # warms the router table and the card index
    (kb / "routers").mkdir()
    (kb / "routers/storage.md").write_text(
        "# Storage\n\n- `ZzStorageFull` → [queue-stuck](../cards/queue-stuck.yaml)\n"
    )
    for query in ("ZzStorageFull", "storage full"):
        warm = call(route.run, query, root=kb)
        cold = _cold(call, monkeypatch, route.run, query, root=kb)
        assert query != "ZzStorageFull" or "routers/storage.md:3" in cold.stdout
        assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout), query


def test_markdown_extensions_are_part_of_the_router_key(kb: Path, call, monkeypatch, settled) -> None:
    config = kb / "mkdocs.yml"
    config.write_text(config.read_text() + "markdown_extensions: [admonition]\n")
    with (kb / "router.md").open("a") as handle:
        handle.write(
            '\n!!! note "Storage"\n\n    - `ZzAdmonished`: disk full → [queue-stuck](cards/queue-stuck.yaml)\n'
        )
    first = call(route.run, "ZzAdmonished", root=kb)
    assert "ZzAdmonished" in first.stdout and first.returncode == 0
    config.write_text(config.read_text().replace("markdown_extensions: [admonition]\n", ""))
    warm = call(route.run, "ZzAdmonished", root=kb)
    cold = _cold(call, monkeypatch, route.run, "ZzAdmonished", root=kb)
    assert cold.returncode != 0
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)


def test_no_cache_reads_and_writes_no_cache(kb: Path, tmp_path: Path, call, monkeypatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")
    assert call(route.run, "QueueStalled", root=kb).returncode == 0
    call(route.run, "pending jobs", root=kb)
    call(access.run, "queue-stuck", root=kb)
    cache = tmp_path / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


def test_a_page_replaced_while_it_is_parsed_is_read_again(kb: Path, call, monkeypatch) -> None:
    page = kb / "router.md"
    old = page.stat()
    os.utime(page, ns=(old.st_atime_ns, old.st_mtime_ns - 60_000_000_000))
    real = router_module.load_router

    def edited_mid_parse(*args, **kwargs):
        router = real(*args, **kwargs)
        # `cp -p` of a same-size page: another inode, the old mtime, a new ctime
        before = page.stat()
        fresh = kb / "router.new"
        fresh.write_text(page.read_text().replace("QueueStalled", "QueueStopped"))
        os.utime(fresh, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(fresh, page)
        return router

    with monkeypatch.context() as m:
        # both readers of the router: the routing table and the card index (kb route ALERT reads
        # the lines naming it from the index)
        m.setattr(search, "load_router", edited_mid_parse)
        m.setattr(router_module, "load_router", edited_mid_parse)
        call(route.run, "QueueStalled", root=kb)
    warm = call(route.run, "QueueStopped", root=kb)
    cold = _cold(call, monkeypatch, route.run, "QueueStopped", root=kb)
    assert "router.md:3" in cold.stdout
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)


@pytest.mark.parametrize(
    "spelling",
    [
        "!%45NV [KB_ONCALL, oncall.yaml]",
        "!<!ENV> [KB_ONCALL, oncall.yaml]",
        "!e!NV [KB_ONCALL, oncall.yaml]",
    ],
)
def test_env_tag_in_any_spelling_keeps_no_answer(kb: Path, spelling: str) -> None:
    config = kb / "mkdocs.yml"
    text = config.read_text()
    assert card_index.answers_keepable(kb)
    if "!e!" in spelling:
        text = "%TAG !e! !E\n---\n" + text
    config.write_text(text.replace("today: 2026-11-22", f"today: 2026-11-22\n      oncall: {spelling}"))
    assert not card_index.answers_keepable(kb)


def test_env_tag_spelled_with_an_escape_does_not_keep_an_access_answer(kb: Path, call, monkeypatch) -> None:
    config = kb / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "today: 2026-11-22", "today: 2026-11-22\n      oncall: !%45NV [KB_ONCALL, oncall.yaml]"
        )
    )
    other = kb / "other.yaml"
    shutil.copy(kb / "oncall.yaml", other)
    other.write_text(other.read_text().replace("bob: {groups: [sre]", "bob: {groups: []"))
    for path in kb.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    monkeypatch.delenv("KB_ONCALL", raising=False)
    call(access.run, "queue-stuck", root=kb)
    call(access.run, "queue-stuck", root=kb)  # kept
    monkeypatch.setenv("KB_ONCALL", "other.yaml")
    warm = call(access.run, "queue-stuck", root=kb)
    cold = _cold(call, monkeypatch, access.run, "queue-stuck", root=kb)
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)


def test_half_built_indexes_of_killed_runs_are_swept(kb: Path, tmp_path: Path, call) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    call(route.run, "pending jobs", root=kb)
    (db,) = (tmp_path / "cache").rglob(card_index.DB_NAME)
    left = [db.parent / f"{card_index.DB_NAME}.{pid}.tmp", db.parent / f"{card_index.DB_NAME}.{pid}.tmp-journal"]
    for path in left:
        path.write_bytes(b"half")
    db.write_bytes(b"damaged")  # the next run builds a fresh index
    call(route.run, "pending jobs", root=kb)
    assert not any(path.exists() for path in left)
