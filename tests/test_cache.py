"""The check cache never gives a different answer than a cold run."""

from __future__ import annotations

from pathlib import Path

from conftest import run_kb


def check(root: Path, cache: Path, *args: str, **env: str):
    return run_kb("check", "--format", "json", *args, cwd=root, env={"KB_CACHE_DIR": str(cache), **env})


def test_warm_equals_cold_and_edits_always_miss(repo_kb: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    card = repo_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    cold = check(repo_kb, cache, KB_NO_CACHE="1")
    first = check(repo_kb, cache)
    warm = check(repo_kb, cache)
    assert cold.returncode == first.returncode == warm.returncode == 1
    assert cold.stdout == first.stdout == warm.stdout
    assert list(cache.rglob("check-result.json")), "the second run had a cache to read"
    for text_format in (["--format", "text"], ["--format", "sarif"]):
        assert (
            run_kb("check", *text_format, cwd=repo_kb, env={"KB_CACHE_DIR": str(cache)}).stdout
            == run_kb("check", *text_format, cwd=repo_kb, env={"KB_NO_CACHE": "1"}).stdout
        )
    card.write_text(card.read_text().replace("rotation: nobody", "rotation: sre-primary"))
    fixed = check(repo_kb, cache)
    assert fixed.returncode == 0 and fixed.stdout == check(repo_kb, cache, KB_NO_CACHE="1").stdout


def test_touch_without_change_still_hits_and_a_same_size_edit_misses(repo_kb: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert check(repo_kb, cache).returncode == 0
    card = repo_kb / "cards" / "queue-stuck.yaml"
    text = card.read_text()
    card.write_text(text)  # new mtime, same content
    assert check(repo_kb, cache).returncode == 0
    card.write_text(text.replace("rotation: sre-primary", "rotation: sre-primarx"))  # same size, new content
    assert check(repo_kb, cache).returncode == 1


def test_each_input_kind_invalidates(repo_kb: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert check(repo_kb, cache).returncode == 0
    edits = [
        ("oncall.yaml", "      - deploy:rollback:*\n", ""),
        ("references/dispatch-queue.md", "## The parking lot", "## The parking area"),
        ("router.md", "[queue-stuck](cards/queue-stuck.yaml)", "queue-stuck"),
        ("rules/agents.rules.yml", "alert: AgentRunCrashed", "alert: AgentRunCrashd"),
        ("mkdocs.yml", "      router_budget: 40", "      router_budget: 4"),
    ]
    for path, old, new in edits:
        target = repo_kb / path
        before = target.read_text()
        target.write_text(before.replace(old, new))
        assert check(repo_kb, cache).returncode == 1, f"an edit of {path} must be seen"
        target.write_text(before)
        assert check(repo_kb, cache).returncode == 0


def test_corrupt_or_foreign_cache_is_rebuilt(repo_kb: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = check(repo_kb, cache, KB_NO_CACHE="1").stdout
    check(repo_kb, cache)
    for damaged in ("{not json", "[]", '{"kb_version": "0.0.0"}', '{"kb_version": "0.1.0", "options": 1}'):
        for entry in cache.rglob("check-result.json"):
            entry.write_text(damaged)
        assert check(repo_kb, cache).stdout == expected


def test_options_are_part_of_the_key(repo_kb: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    card = repo_kb / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    assert check(repo_kb, cache).returncode == 1
    assert check(repo_kb, cache, "--ignore", "KB130").returncode == 0
    assert check(repo_kb, cache, "cards/prompt-regression.yaml").returncode == 0
    assert check(repo_kb, cache).returncode == 1
