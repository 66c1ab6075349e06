"""Atomic writes: the new content or the old, never a temp left, never an overwrite when exclusive."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.core.atomic import SUFFIX, sweep_stale_temps, write_atomic


def test_replace_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "card.yaml"
    target.write_text("old\n")
    target.chmod(0o600)
    assert write_atomic(target, "new\n") is True
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o600
    assert write_atomic(target, "new\n") is False  # idempotent
    assert [p.name for p in tmp_path.iterdir()] == ["card.yaml"]


def test_exclusive_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "PM-2026-001.yaml"
    write_atomic(target, "first\n", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(target, "second\n", exclusive=True)
    assert target.read_text() == "first\n" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_temps_of_dead_writers_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    import os

    dead = tmp_path / f".card.yaml.999999999.abcd{SUFFIX}"
    alive = tmp_path / f".card.yaml.{os.getpid()}.abcd{SUFFIX}"
    dead.write_text("half")
    alive.write_text("in progress")
    assert sweep_stale_temps(tmp_path) == [dead]
    assert alive.exists() and not dead.exists()


def test_temps_go_to_the_git_folder_and_are_swept_from_there(tmp_path: Path) -> None:
    """A kill between link and rename leaves the temp under .git/kb-tmp, never in the tree."""
    import git

    from kb.core.atomic import temp_folder

    git.Repo.init(tmp_path)
    cards = tmp_path / "cards"
    cards.mkdir()
    assert temp_folder(cards) == tmp_path / ".git" / "kb-tmp"
    stale = tmp_path / ".git" / "kb-tmp" / f".queue-stuck.yaml.999999999.abcd{SUFFIX}"
    stale.write_text("half")
    write_atomic(cards / "queue-stuck.yaml", "id: queue-stuck\n")
    assert not stale.exists() and list((tmp_path / ".git" / "kb-tmp").iterdir()) == []
    assert [p.name for p in cards.iterdir()] == ["queue-stuck.yaml"]


def test_a_worktree_git_file_is_followed_and_no_repository_means_the_folder(tmp_path: Path) -> None:
    from kb.core.atomic import temp_folder

    git_dir = tmp_path / "elsewhere" / "worktrees" / "kb"
    git_dir.mkdir(parents=True)
    tree = tmp_path / "tree"
    (tree / "postmortems").mkdir(parents=True)
    (tree / ".git").write_text(f"gitdir: {git_dir}\n")
    assert temp_folder(tree / "postmortems") == git_dir / "kb-tmp"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert temp_folder(plain) == plain
