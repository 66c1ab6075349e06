"""Class 9: the cache can never make kb wrong or stuck. Random byte flips, truncations and
swaps in every cache file: each later run gives exactly the answer of a run without a cache,
with no internal error, and the run after it is healthy again."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

FLIPS = int(os.environ.get("KB_CACHE_FLIPS", "50"))


def _broken_kb(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    card = root / "cards/queue-stuck.yaml"
    card.write_text(card.read_text().replace("rotation: sre-primary", "rotation: nobody"))  # one real error
    (root / "cards/second.yaml").write_text(card.read_text().replace("id: queue-stuck", "id: second"))
    return root


def test_random_damage_to_the_cache_never_changes_the_answer(tmp_path: Path):
    root = _broken_kb(tmp_path)
    cache = tmp_path / "cache"
    env = {"KB_CACHE_DIR": str(cache)}
    truth = kb("check", "--format", "json", "--select", "KB1", cwd=root, env={**env, "KB_NO_CACHE": "1"})
    assert truth.returncode == 1
    rng = random.Random(9)
    wrong = 0
    for flip in range(FLIPS):
        card = root / "cards/second.yaml"  # alternate edits so both the result cache and the per-file state are used
        card.write_text(card.read_text() + ("# x\n" if flip % 3 == 0 else ""))
        kb("check", "--format", "json", "--select", "KB1", cwd=root, env=env)
        files = [p for p in cache.rglob("*") if p.is_file()]
        assert files
        victim = rng.choice(files)
        data = bytearray(victim.read_bytes())
        how = rng.choice(["flip", "flip", "flip", "truncate", "zero", "append"])
        if how == "flip" and data:
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(data))
                data[at] ^= 1 << rng.randrange(8)
        elif how == "truncate":
            data = data[: rng.randrange(len(data) + 1)]
        elif how == "zero":
            data = bytearray(len(data))
        else:
            data += bytes(rng.randrange(256) for _ in range(8))
        victim.write_bytes(bytes(data))
        result = kb("check", "--format", "json", "--select", "KB1", cwd=root, env=env)
        no_traceback(result)
        expected = kb("check", "--format", "json", "--select", "KB1", cwd=root, env={**env, "KB_NO_CACHE": "1"})
        wrong += (result.returncode, result.stdout) != (expected.returncode, expected.stdout)
    assert wrong == 0, f"{wrong} of {FLIPS} damaged caches changed the answer"


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"{}", b"[]", b"\xff" * 1000, b'{"kb_version": "x"}'])
def test_any_content_in_any_cache_file_is_a_miss(tmp_path: Path, content: bytes):
    root = _broken_kb(tmp_path)
    cache = tmp_path / "cache"
    env = {"KB_CACHE_DIR": str(cache)}
    truth = kb("check", "--format", "json", "--select", "KB1", cwd=root, env=env)
    for victim in [p for p in cache.rglob("*") if p.is_file()]:
        victim.write_bytes(content)
    result = kb("check", "--format", "json", "--select", "KB1", cwd=root, env=env)
    no_traceback(result)
    assert (result.returncode, result.stdout) == (truth.returncode, truth.stdout)
