"""Atomic writes: the new content or the old, never a temp left, never an overwrite when exclusive."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.atomic import SUFFIX, sweep_stale_temps, write_atomic


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
