"""The warm card index (kb.route.index) behind `kb route` words and `kb access CARD`: the same
answers as the computation from the files, after every kind of change, and never stale."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB, copy_kb
from test_access import make_kb

from kb.commands import access, check, fast_path
from kb.config.mkdocs import read_paths
from kb.load.loader import load_kb
from kb.route import index as card_index
from kb.route.search import route, route_from_files

QUERIES = [
    "answers wrong after a deploy",
    "spend running away",
    "customers report refunds they did not ask for",
    "agentspendratehigh",
    "budget cap ticket",
    "queue",
    "provider 503",
    "xylophone",
    "AgentRunCrash",
    "[FIRING:1] AgentSpendRateHigh severity=page",
    "AgentSpendRateHigh and NoSuchAlertAnywhere",
]

OLD = 1_700_000_000  # a stat far from now: the change is found by its stat, not as a file modified just now


def _touch_old(path: Path, step: int) -> None:
    os.utime(path, ns=((OLD + step) * 10**9, (OLD + step) * 10**9))


def _same(root: Path, limit: int | None = None) -> None:
    config = read_paths(root)
    for query in QUERIES:
        warm, cold = route(config, query, limit), route_from_files(config, query)
        cold_matches = cold.matches[:limit] if limit else cold.matches
        assert [m.__dict__ for m in warm.matches] == [m.__dict__ for m in cold_matches], query
        assert (warm.kind, warm.closest, warm.nearest_alerts, warm.rule_file, warm.alert) == (
            cold.kind,
            cold.closest,
            cold.nearest_alerts,
            cold.rule_file,
            cold.alert,
        ), query


def test_the_index_answers_as_the_files_do_through_every_kind_of_change(snapshot_kb: Path) -> None:
    root = snapshot_kb
    cards = root / "cards"
    for step, path in enumerate(sorted(cards.glob("*.yaml"))):
        _touch_old(path, step)
    _same(root)
    _same(root, limit=5)  # the best five, the same five in the same order
    # a card's words change (same size is no cover: the stat differs)
    card = cards / "rollback-drill.yaml"
    card.write_text(card.read_text().replace("title: Monthly prompt rollback drill", "title: Monthly marimba drill"))
    _touch_old(card, 1000)
    assert route(read_paths(root), "marimba").matches[0].card_id == "rollback-drill"
    _same(root)
    # a card renamed in place to another card's id, a new card, a card removed, a broken card
    other = cards / "queue-stuck.yaml"
    other.write_text(other.read_text().replace("id: queue-stuck", "id: token-spend-runaway", 1))
    _touch_old(other, 1001)
    (cards / "zz-new.yaml").write_text((cards / "budget-cap-review.yaml").read_text().replace("budget", "xylophone"))
    (cards / "prompt-regression.yaml").unlink()
    (cards / "broken.yaml").write_text("id: [unclosed\n")
    _same(root)
    assert route(read_paths(root), "xylophone").kind == "search"
    # a router line removed: the router part is derived again
    router = root / "router.md"
    router.write_text("\n".join(line for line in router.read_text().splitlines() if "budget" not in line) + "\n")
    _touch_old(router, 1002)
    _same(root)


def test_a_file_modified_just_now_is_read_again_even_with_its_old_stat(snapshot_kb: Path) -> None:
    """Same size, same mtime (a coarse clock), new words: a file modified within the racy
    margin has no stat in the index, so the next use reads it whatever its stat says."""
    card = snapshot_kb / "cards" / "rollback-drill.yaml"
    os.utime(card)  # modified just now
    route(read_paths(snapshot_kb), "drill")  # the index records the fresh file without its stat
    before = card.stat()
    card.write_text(card.read_text().replace("Monthly prompt rollback drill", "Monthly prompt marimba drill!"[:29]))
    os.utime(card, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert card.stat().st_size == before.st_size
    assert route(read_paths(snapshot_kb), "marimba").matches[0].card_id == "rollback-drill"


def test_a_damaged_or_foreign_index_is_rebuilt(snapshot_kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = read_paths(snapshot_kb)
    first = route(config, "budget cap ticket")
    path = card_index.cache.cache_dir(snapshot_kb) / card_index.DB_NAME
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET v = 'someone else' WHERE k = 'config'")
    db.commit()
    db.close()
    assert route(config, "budget cap ticket").matches == first.matches
    path.write_bytes(b"SQLite format 3\0" + b"\xff" * 5000)
    assert route(config, "budget cap ticket").matches == first.matches
    # a cache folder that cannot be written: built in memory for the run
    monkeypatch.setenv("KB_CACHE_DIR", "/proc/kb-cache-cannot-be-here")
    assert route(config, "budget cap ticket").matches == first.matches


def test_kb_check_builds_the_index_so_route_reads_no_card(snapshot_kb: Path, monkeypatch, call) -> None:
    for step, path in enumerate(sorted((snapshot_kb / "cards").glob("*.yaml"))):
        _touch_old(path, step)
    call(check.run, root=snapshot_kb)

    def no_read(path: str) -> None:
        raise AssertionError(f"read {path} again: the check's index should have held it")

    monkeypatch.setattr(card_index, "read_entry", no_read)
    assert route(read_paths(snapshot_kb), "budget cap ticket").matches[0].card_id == "budget-cap-review"


def _full_answer(root: Path, card: str) -> dict:
    return access.explain_card(load_kb(root), card)


def _settle(root: Path, step: list[int] = [0]) -> None:  # noqa: B006 - a counter across calls
    """Every file's mtime moved into the past (each time to another second): no file counts as
    modified just now, so answers are kept, and every edit still changes a stat."""
    step[0] += 10
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        _touch_old(path, step[0])


def test_kb_access_card_changes_with_the_card_oncall_and_memberships(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_kb(tmp_path / "kb")
    verb = access.run
    computed = []
    monkeypatch.setattr(access, "run", lambda *a: computed.append(a) or verb(*a))

    def answer() -> dict:
        """Through the fast path, twice: the second is the kept answer, and both are what
        loading the whole KB says."""
        _settle(root)
        before = len(computed)
        outputs = []
        for _ in range(2):
            capsys.readouterr()
            assert fast_path.dispatch(["access", "prompt-regression", "-f", "json", "--root", str(root)]) == 0
            outputs.append(capsys.readouterr().out)
        assert len(computed) == before + 1, "the second answer is the kept one"
        assert outputs[0] == outputs[1]
        data = json.loads(outputs[0])
        assert data == _full_answer(root, "prompt-regression")
        return data

    assert answer()["verdict"] == "blocked"
    oncall = root / "oncall.yaml"
    oncall.write_text(
        oncall.read_text().replace(
            "sre: {grants: [traces:read:*]}", "sre: {grants: [traces:read:*, deploy:rollback:prompt-service]}"
        )
    )
    assert answer()["verdict"] == "executable"
    # a group's members from an export (GitHub's team members API, tests/fixtures/memberships)
    (root / "memberships").mkdir()
    export = root / "memberships" / "team.json"
    export.write_text((SNAPSHOT_KB.parent / "memberships" / "github-team-members.json").read_text())
    oncall.write_text(
        oncall.read_text()
        .replace("sre: {grants: [traces:read:*, deploy:rollback:prompt-service]}", "sre: {grants: [traces:read:*]}")
        .replace(
            "ai-platform: {grants: [traces:read:*, deploy:rollback:prompt-service]}",
            "ai-platform: {grants: [traces:read:*, deploy:rollback:prompt-service], "
            "members_from: memberships/team.json}",
        )
        .replace("bob: {groups: [sre],", "bob: {groups: [sre], aliases: [octocat],")
        .replace("alice: {groups: [sre, ai-platform],", "alice: {groups: [sre, ai-platform], aliases: [hubot],")
    )
    assert answer()["verdict"] == "executable"  # bob is octocat, in the team: he holds the rollback now
    export.write_text("[]")
    assert answer()["verdict"] == "blocked"
    # the card itself: a step needing what nobody holds
    card = root / "cards" / "prompt-regression.yaml"
    card.write_text(card.read_text().replace("requires: [traces:read:agent-workspace]", "requires: [vault:unseal]"))
    data = answer()
    assert data["steps"][0]["permissions"][0]["permission"] == "vault:unseal"


def test_kb_access_finds_a_card_by_its_id_not_its_file_name(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    card = root / "cards" / "prompt-regression.yaml"
    assert call(access.run, "prompt-regression", root=root).returncode == 0
    card.rename(root / "cards" / "renamed.yaml")
    assert call(access.run, "prompt-regression", root=root).returncode == 0  # the id, in another file
    moved = root / "cards" / "renamed.yaml"
    moved.write_text(moved.read_text().replace("id: prompt-regression", "id: other-id"))
    assert "no card 'prompt-regression'" in call(access.run, "prompt-regression", root=root).stderr
    data = json.loads(call(access.run, "other-id", output_format="json", root=root).stdout)
    assert data == _full_answer(root, "other-id")
    # two files with one id: no answer (two answers), through the index as loading the whole KB
    (root / "cards" / "zz-copy.yaml").write_text(
        moved.read_text().replace("requires: [traces:read:agent-workspace]", "requires: [vault:unseal]")
    )
    ran = call(access.run, "other-id", output_format="json", root=root)
    assert ran.returncode == 1 and "cards/renamed.yaml, cards/zz-copy.yaml" in ran.stderr
    # a file the index cannot read (broken YAML) is never taken for a missing card silently
    (root / "cards" / "zz-copy.yaml").write_text("id: other-id\nsteps: [\n")
    data = json.loads(call(access.run, "other-id", output_format="json", root=root).stdout)
    assert data == _full_answer(root, "other-id")


def test_the_index_leaves_out_a_card_linked_from_outside_the_kb(tmp_path: Path) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    outside = tmp_path / "outside.yaml"
    outside.write_text((root / "cards" / "budget-cap-review.yaml").read_text().replace("budget", "xylophone"))
    (root / "cards" / "linked.yaml").symlink_to(outside)
    assert route(read_paths(root), "xylophone").kind == "none"  # never read, as the loader never reads it


def test_nearest_alert_names_are_those_of_the_full_table() -> None:
    """The banded, bounded search for the nearest alert names gives the same names, in the same
    order, as measuring every name fully (random names over a small alphabet: many ties)."""
    import random

    from kb.route.search import levenshtein, levenshtein_within, nearest_alert_names

    def measured_fully(query: str, alerts: dict[str, str]) -> list[tuple[str, str]]:
        scored = sorted((levenshtein(query.lower(), name.lower()), name) for name in alerts)
        return [(name, alerts[name]) for distance, name in scored[:3] if distance <= max(3, len(query) // 2)]

    rng = random.Random(20)
    word = lambda most: "".join(rng.choice("abAB1_") for _ in range(rng.randint(0, most)))
    for _ in range(400):
        query = word(9)
        alerts = {word(10): f"card-{i}" for i in range(rng.randint(0, 30))}
        assert nearest_alert_names(query, alerts) == measured_fully(query, alerts), (query, alerts)
        other = next(iter(alerts), "")
        for bound in range(5):
            full = levenshtein(query, other)
            assert levenshtein_within(query, other, bound) == (full if full <= bound else bound + 1)


def test_a_kept_access_answer_that_was_altered_is_not_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_kb(tmp_path / "kb")
    _settle(root)
    argv = ["access", "prompt-regression", "--root", str(root)]
    assert fast_path.dispatch(argv) == 0
    first = capsys.readouterr().out
    db = sqlite3.connect(card_index.cache.cache_dir(root) / card_index.DB_NAME)
    assert db.execute("UPDATE answers SET output = 'prompt-regression: EXECUTABLE (forged)\n'").rowcount == 1
    db.commit()
    db.close()
    assert fast_path.dispatch(argv) == 0
    assert capsys.readouterr().out == first
