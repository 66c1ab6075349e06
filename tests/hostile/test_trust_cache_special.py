"""Class 9, the cache folder itself made hostile: an entry replaced by a FIFO (a read would
block for ever), a link to /dev/zero (endless), a folder, or the whole cache folder replaced
by a file. kb answers exactly as without a cache, within seconds, and never writes through
the special file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, kb_forked, no_traceback


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _folder(path: Path) -> None:
    path.mkdir()


KINDS = {"fifo": _fifo, "dev-zero": _zero, "folder": _folder}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_special_file_in_place_of_a_cache_entry(tmp_path: Path, kind: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    card = root / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))
    cache = tmp_path / "cache"
    env = {"KB_CACHE_DIR": str(cache)}
    truth = kb("check", "--format", "json", "--select", "KB1,KB2", cwd=root, env={**env, "KB_NO_CACHE": "1"})
    kb("check", "--format", "json", "--select", "KB1,KB2", cwd=root, env=env)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        entry.unlink()
        KINDS[kind](entry)
    for _ in range(2):  # the run that meets the special files, and the one after it
        result = kb_forked("check", "--format", "json", "--select", "KB1,KB2", cwd=root, env=env, timeout=10)
        assert result is not None, "kb hung on the cache"
        no_traceback(result)
        assert (result.returncode, result.stdout) == (truth.returncode, truth.stdout)
    if kind == "dev-zero":
        # left, or replaced by a regular file of kb's own (renamed over the link), never written through
        assert all(entry.is_symlink() or (entry.is_file() and entry.stat().st_size > 0) for entry in entries)


def test_the_cache_folder_is_a_file(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    cache = tmp_path / "cache"
    cache.write_text("not a folder\n")
    truth = kb("check", "--format", "json", cwd=root, env={"KB_NO_CACHE": "1"})
    result = kb_forked("check", "--format", "json", cwd=root, env={"KB_CACHE_DIR": str(cache)}, timeout=10)
    assert result is not None
    no_traceback(result)
    assert (result.returncode, result.stdout) == (truth.returncode, truth.stdout)
    assert cache.read_text() == "not a folder\n"
