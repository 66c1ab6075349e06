"""The check cache never gives a different answer than a cold run."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.commands import check as check_verb


@pytest.fixture
def check(call, monkeypatch):
    """`kb check --format json [paths] [--ignore ...]` in `root` with the cache in `cache`;
    KB_NO_CACHE="1" as a keyword for a cold run."""

    def run(root: Path, cache: Path, *paths: str, output_format: str = "json", ignore=None, KB_NO_CACHE=None):
        monkeypatch.setenv("KB_CACHE_DIR", str(cache))
        if KB_NO_CACHE:
            monkeypatch.setenv("KB_NO_CACHE", KB_NO_CACHE)
        else:
            monkeypatch.delenv("KB_NO_CACHE", raising=False)
        monkeypatch.chdir(root)
        return call(check_verb.run, [Path(p) for p in paths] or None, output_format, None, ignore)

    return run


def test_warm_equals_cold_and_edits_always_miss(snapshot_kb: Path, tmp_path: Path, check) -> None:
    cache = tmp_path / "cache"
    card = snapshot_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    cold = check(snapshot_kb, cache, KB_NO_CACHE="1")
    first = check(snapshot_kb, cache)
    warm = check(snapshot_kb, cache)
    assert cold.returncode == first.returncode == warm.returncode == 1
    assert cold.stdout == first.stdout == warm.stdout
    assert list(cache.rglob("check-result.json")), "the second run had a cache to read"
    for text_format in ("text", "sarif"):
        assert (
            check(snapshot_kb, cache, output_format=text_format).stdout
            == check(snapshot_kb, cache, output_format=text_format, KB_NO_CACHE="1").stdout
        )
    card.write_text(card.read_text().replace("rotation: nobody", "rotation: sre-primary"))
    fixed = check(snapshot_kb, cache)
    assert fixed.returncode == 0 and fixed.stdout == check(snapshot_kb, cache, KB_NO_CACHE="1").stdout


def test_touch_without_change_still_hits_and_a_same_size_edit_misses(snapshot_kb: Path, tmp_path: Path, check) -> None:
    cache = tmp_path / "cache"
    assert check(snapshot_kb, cache).returncode == 0
    card = snapshot_kb / "cards" / "queue-stuck.yaml"
    text = card.read_text()
    card.write_text(text)  # new mtime, same content
    assert check(snapshot_kb, cache).returncode == 0
    card.write_text(text.replace("rotation: sre-primary", "rotation: sre-primarx"))  # same size, new content
    assert check(snapshot_kb, cache).returncode == 1


def test_each_input_kind_invalidates(snapshot_kb: Path, tmp_path: Path, check) -> None:
    cache = tmp_path / "cache"
    assert check(snapshot_kb, cache).returncode == 0
    edits = [
        ("oncall.yaml", "      - deploy:rollback:*\n", ""),
        ("references/dispatch-queue.md", "## The parking lot", "## The parking area"),
        ("router.md", "[queue-stuck](cards/queue-stuck.yaml)", "queue-stuck"),
        ("rules/agents.rules.yml", "alert: AgentRunCrashed", "alert: AgentRunCrashd"),
        ("mkdocs.yml", "      router_budget: 40", "      router_budget: 4"),
    ]
    for path, old, new in edits:
        target = snapshot_kb / path
        before = target.read_text()
        target.write_text(before.replace(old, new))
        assert check(snapshot_kb, cache).returncode == 1, f"an edit of {path} must be seen"
        target.write_text(before)
        assert check(snapshot_kb, cache).returncode == 0


def test_corrupt_or_foreign_cache_is_rebuilt(snapshot_kb: Path, tmp_path: Path, check) -> None:
    cache = tmp_path / "cache"
    expected = check(snapshot_kb, cache, KB_NO_CACHE="1").stdout
    check(snapshot_kb, cache)
    for damaged in ("{not json", "[]", '{"kb_version": "0.0.0"}', '{"kb_version": "0.1.0", "options": 1}'):
        for entry in cache.rglob("check-result.json"):
            entry.write_text(damaged)
        assert check(snapshot_kb, cache).stdout == expected


def test_options_are_part_of_the_key(snapshot_kb: Path, tmp_path: Path, check) -> None:
    cache = tmp_path / "cache"
    card = snapshot_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    assert check(snapshot_kb, cache).returncode == 1
    assert check(snapshot_kb, cache, ignore=["KB130"]).returncode == 0
    assert check(snapshot_kb, cache, "cards/prompt-regression.yaml").returncode == 0
    assert check(snapshot_kb, cache).returncode == 1


def test_a_second_check_in_one_process_sees_an_edited_reference(base_kb: Path) -> None:
    """mkdocs serve checks again in one process: no memo may keep a page's old headings."""
    from kb.check.engine import run_check
    from kb.load.loader import load_kb
    from kb.rules.context import RuleContext

    def anchor_findings() -> list[str]:
        return [d.message for d in run_check(RuleContext(load_kb(base_kb)), select=["KB134"]).diagnostics]

    assert anchor_findings() == []
    page = base_kb / "references" / "queues.md"
    page.write_text(page.read_text().replace("## Pausing consumers", "## Stopping consumers"))
    assert len(anchor_findings()) == 1
