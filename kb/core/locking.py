"""Locks for kb's writers: one per file for read-modify-write, one per KB for `kb new`.

A lock is a file inside the repository's git folder (`.git/kb-locks/`), or inside the KB
(`.kb-locks/`) when it is not in a repository: never in a shared, world-writable folder,
where another user could plant the name first (hold it, so kb waits forever, or link it
to a file of theirs). The folder and the file are opened without following symbolic
links: a link planted there is refused with a message, never followed. The lock itself is
flock, which the kernel releases when the process dies, even on SIGKILL: no stale lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

FOLDER = "kb-locks"


class LockProblem(OSError):
    pass


def lock_folder(root: Path) -> Path:
    """Where the locks of the KB at `root` live: its repository's git folder, else the KB."""
    resolved = Path(os.path.realpath(root))
    for directory in (resolved, *resolved.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink():
            return dot_git / FOLDER
        if dot_git.is_file():
            linked = _gitdir_of(dot_git)
            if linked is not None:
                return linked / FOLDER
    return resolved / f".{FOLDER}"


def _gitdir_of(dot_git: Path) -> Path | None:
    """A worktree's or submodule's `.git` file names its git folder: `gitdir: <path>`."""
    try:
        with open(dot_git, "rb") as handle:
            text = handle.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    found = (dot_git.parent / text[len("gitdir:") :].strip()).resolve()
    return found if found.is_dir() else None


def _open_lock(folder: Path, name: str) -> int:
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise LockProblem(exc.errno, f"cannot make the lock folder: {exc.strerror}", str(folder)) from None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        folder_fd = os.open(folder, flags)
    except OSError as exc:
        why = "is a symbolic link or not a folder: kb never follows one for a lock; remove it"
        raise LockProblem(
            exc.errno, why if exc.errno in (errno.ELOOP, errno.ENOTDIR) else exc.strerror, str(folder)
        ) from None
    try:
        return os.open(
            name,
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
            0o600,
            dir_fd=folder_fd,
        )
    except OSError as exc:
        why = "is a symbolic link: kb never follows one for a lock; remove it"
        raise LockProblem(exc.errno, why if exc.errno == errno.ELOOP else exc.strerror, str(folder / name)) from None
    finally:
        os.close(folder_fd)


@contextlib.contextmanager
def _held(root: Path, name: str) -> Iterator[None]:
    fd = _open_lock(lock_folder(root), name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def kb_lock(root: Path, name: str = "new") -> contextlib.AbstractContextManager[None]:
    """The KB-wide lock `name` (`kb new` holds it while it picks an id and writes the file)."""
    if not name.replace("-", "").isalnum():
        raise ValueError(name)
    return _held(root, f"{name}.lock")


def file_lock(root: Path, rel: str) -> contextlib.AbstractContextManager[None]:
    """The lock of one file of the KB: hold it from reading the file to writing it back."""
    # the file itself, whatever name reached it: two links to one card share one lock
    real_root = os.path.realpath(root)
    key = os.path.relpath(os.path.realpath(os.path.join(real_root, rel)), real_root).replace(os.sep, "/")
    return _held(root, "file-" + hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")
