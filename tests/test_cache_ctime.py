"""An edit that keeps the size and puts the mtime back (cp -p, rsync -t, tar) is still seen by
every cache: its ctime moved (outside review: kb check said 0 errors from its cache while an
uncached run found two, and kb access kept its old answer)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

from kb.commands import access, check


def _edit_in_place_keeping_mtime(path: Path, old: str, new: str) -> None:
    assert len(old) == len(new)
    before = path.stat()
    text = path.read_text()
    assert old in text
    with path.open("r+") as handle:
        handle.write(text.replace(old, new, 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


def test_check_and_access_see_an_edit_with_its_mtime_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call
) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    for path in root.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    assert call(check.run, root=root).returncode == 0
    first = call(access.run, "queue-stuck", root=root).stdout
    _edit_in_place_keeping_mtime(root / "oncall.yaml", "grants: [queue:*]", "grants: [qeeue:*]")
    cached = call(check.run, root=root)
    monkeypatch.setenv("KB_NO_CACHE", "1")
    truth = call(check.run, root=root)
    monkeypatch.delenv("KB_NO_CACHE")
    assert truth.returncode == 1 and (cached.returncode, cached.stdout) == (truth.returncode, truth.stdout)
    assert call(access.run, "queue-stuck", root=root).stdout != first
