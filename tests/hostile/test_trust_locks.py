"""Class 12: locks cannot be planted. kb makes no file with a predictable name in a shared,
world-writable folder: its locks live inside the repository's .git folder (or the KB), are
opened without following symbolic links, and a planted link there is refused, not followed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

NEW_CARD = ["new", "card", "--title", "Lock test", "--rotation", "sre-primary", "--priority", "P2", "--owner", "o"]
WRITERS = [
    NEW_CARD,
    ["new", "postmortem", "--title", "Lock test", "--priority", "P2"],
    ["card", "verified", "queue-stuck"],
    ["followups", "done", "PM-2026-001", "R1"],
    ["emit"],
]


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("git", [False, True], ids=["plain-folder", "git-repository"])
@pytest.mark.parametrize("args", WRITERS, ids=[" ".join(w[:2]) for w in WRITERS])
def test_writers_make_nothing_in_the_shared_temp_folder(tmp_path: Path, args: list[str], git: bool, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    root = copy_kb(BASE_KB, tmp_path / "kb")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    result = kb(*args, cwd=root, env={"TMPDIR": str(shared), "TMP": str(shared), "TEMP": str(shared)})
    no_traceback(result)
    assert _listing(shared) == set(), _listing(shared)


def test_a_lock_held_by_someone_else_in_the_shared_temp_folder_blocks_nothing(tmp_path: Path):
    """Another user of the machine creates and holds the lock name kb once used in /tmp."""
    import fcntl
    import hashlib
    import tempfile

    from trust_cli import kb_forked

    root = copy_kb(BASE_KB, tmp_path / "kb")
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    held = []
    for folder in {Path(tempfile.gettempdir()), Path("/tmp")}:
        fd = os.open(folder / f"kb-new-{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.append((fd, folder / f"kb-new-{digest}.lock"))
    try:
        for args in (NEW_CARD, ["new", "postmortem", "--title", "x", "--priority", "P2"]):
            result = kb_forked(*args, cwd=root, timeout=8)
            assert result is not None, f"kb {' '.join(args)} waited on a lock a stranger planted"
            assert result.returncode == 0, result.output
    finally:
        for fd, path in held:
            os.close(fd)
            path.unlink()


@pytest.mark.parametrize("git", [False, True], ids=["plain-folder", "git-repository"])
def test_a_planted_link_at_any_lock_path_is_never_followed(tmp_path: Path, git: bool):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    # learn where kb keeps its locks, then replace every lock file there with a link to the victim
    assert kb(*NEW_CARD, cwd=root).returncode == 0
    locks = [
        p
        for p in (
            *(root / ".git").rglob("*"),
            *root.rglob(".kb*"),
            *root.glob(".kb-locks/*"),  # a KB outside any repository keeps its locks in itself
            *Path(os.environ.get("TMPDIR", "/tmp")).glob("kb-*.lock"),
        )
        if p.is_file() and "lock" in p.name
    ]
    assert locks, "kb left no lock file to plant over"
    for lock in locks:
        if lock.is_relative_to(root) or lock.is_relative_to(tmp_path):
            lock.unlink()
            lock.symlink_to(victim)
    result = kb(
        "new", "card", "--title", "Second", "--rotation", "sre-primary", "--priority", "P2", "--owner", "o", cwd=root
    )
    no_traceback(result)
    assert victim.read_text() == "precious\n"
    assert victim.is_file() and not victim.is_symlink()
