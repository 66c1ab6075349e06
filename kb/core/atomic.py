"""Writes that never leave half a file, nor a temp file when the writer is killed.

The content goes into an unnamed file in the target's folder (Linux O_TMPFILE), is fsynced,
then linked in: a process killed before the link leaves nothing behind. Linux cannot link a
file over an existing name, so a replace links it under a temp name and renames that over
the target, and a kill between those two system calls leaves the temp. The temp therefore
goes where the user never sees it when it can: the repository's git folder (`kb-tmp/`), as
git does with its own lock and object temps, when that is on the same file system (a rename
cannot cross one). Otherwise it sits beside the target. Its name carries the writer's pid,
and the next write removes temps whose writer is dead. Without O_TMPFILE or /proc a named
temp file is used, in the same place and with the same clean-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kb.core.paths import confine
from kb.core.safefile import NotRegularFile, kind_of, read_bytes, read_head

SUFFIX = ".kbtmp"
JOURNAL = ".journal"  # a set of renames a writer committed to: `.kb-set.<pid>.<token>.journal`


def write_atomic(path: Path, data: bytes | str, *, exclusive: bool = False, compare: bool = True) -> bool:
    """Write `data` to `path` atomically; returns False when the content was already there.

    `compare=False` skips reading the old content first (a cache file that is rewritten anyway).
    With `exclusive`, an existing file is never replaced (FileExistsError): the final step
    is a hard link, which fails instead of overwriting, so two writers cannot clobber each
    other's new file. A failure names `path` (or the folder it could not make), never kb's
    temp file: the user knows the one, not the other.
    """
    try:
        return _write_atomic(path, data, exclusive=exclusive, compare=compare)
    except OSError as exc:
        raise _naming(exc, path) from None


def _naming(exc: OSError, path: Path) -> OSError:
    """`exc` naming `path` where it named one of kb's temps, a /proc handle or nothing."""
    shown = str(exc.filename) if exc.filename is not None else ""
    if shown and not shown.endswith((SUFFIX, JOURNAL)) and not shown.startswith("/proc/"):
        return exc
    if isinstance(exc, FileExistsError):
        return exc
    named = OSError(exc.errno, exc.strerror, str(path))
    return named


def _write_atomic(path: Path, data: bytes | str, *, exclusive: bool, compare: bool) -> bool:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _refuse_special(path)
    if compare and not exclusive and path.is_file() and _same(path, payload):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in {path.parent, temp_folder(path.parent)}:
        sweep_stale_temps(folder)
    mode = path.stat().st_mode & 0o7777 if (not exclusive and path.is_file()) else 0o644
    fd = _unnamed(path.parent, payload, mode)
    if fd is not None:
        try:
            if _link_unnamed(fd, path, exclusive):
                return True
        finally:
            os.close(fd)
    tmp = _temp_name(path)
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(handle, payload)
        os.fchmod(handle, mode)
    finally:
        os.close(handle)
    if exclusive:
        try:
            os.link(tmp, path)
        finally:
            os.unlink(tmp)
    else:
        _replace(tmp, path)
    return True


def write_inside(root: Path, rel: str, data: bytes | str, **options: bool) -> bool:
    """write_atomic at `rel` under `root`, after kb.core.paths.confine: a path that leaves the
    KB (`..`, absolute, or through a link at any level) raises OutsideKB and writes nothing."""
    return write_atomic(confine(root, rel), data, **options)


def _refuse_special(path: Path) -> None:
    """Never replace a device, FIFO, socket or folder with a file (a report written to
    /dev/full must fail with ENOSPC, not turn the device into a file)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # a loop or no access: the write itself fails and says so
    kind = kind_of(mode)
    if kind is not None:
        raise NotRegularFile(path, kind)


def _same(path: Path, payload: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(payload):
            return False
        with open(path, "rb") as handle:  # a regular file (checked above): cannot block
            return handle.read(len(payload) + 1) == payload
    except OSError:
        return False


def write_set(root: Path, files: Mapping[str, bytes | str | None], journal_folder: Path | None = None) -> list[str]:
    """Replace several files under `root` as one set (None: remove that file): after a kill
    or a failure at any instant, a reader sees the old set or the new set, never a mix.
    Returns the paths changed.

    Every new content is written and fsynced to a temp first (a failure then leaves the old
    set and no temp). A journal listing the renames and removals is then linked in: that is
    the commit. The renames and removals follow, and the journal goes. If the writer dies
    after the commit, the next kb process that writes or loads in the folder finishes the set
    (finish_interrupted). `journal_folder` is where that reader looks (default: the temp
    folder of the first file changed)."""
    targets = {rel: confine(root, rel) for rel in files}
    payloads = {rel: (v.encode("utf-8") if isinstance(v, str) else v) for rel, v in files.items()}
    for target in targets.values():
        _refuse_special(target)
    changed = [
        rel
        for rel in files
        if (
            os.path.lexists(targets[rel])
            if payloads[rel] is None
            else not (targets[rel].is_file() and _same(targets[rel], payloads[rel]))  # type: ignore[arg-type]
        )
    ]
    if not changed:
        return []
    written = [rel for rel in changed if payloads[rel] is not None]
    folders = {targets[rel].parent for rel in written}
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for sweep in {folder, temp_folder(folder)}:
            sweep_stale_temps(sweep)
    pairs: list[tuple[Path | None, Path]] = []
    target = targets[changed[0]]
    try:
        for rel in written:
            target = targets[rel]
            mode = target.stat().st_mode & 0o7777 if target.is_file() else 0o644
            tmp = _temp_name(target)
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            pairs.append((tmp, target))
            try:
                _write_all(handle, payloads[rel])  # type: ignore[arg-type]
                os.fchmod(handle, mode)
            finally:
                os.close(handle)
        pairs += [(None, targets[rel]) for rel in changed if payloads[rel] is None]
        if journal_folder is None:
            journal_folder = temp_folder(targets[changed[0]].parent)
            if any(tmp is not None and tmp.parent != journal_folder for tmp, _ in pairs):
                journal_folder = next(tmp.parent for tmp, _ in pairs if tmp is not None)
        journal_folder.mkdir(parents=True, exist_ok=True)
        journal = journal_folder / f".kb-set.{os.getpid()}.{secrets.token_hex(4)}{JOURNAL}"
        record = _sealed(root, [[str(tmp) if tmp else None, str(target)] for tmp, target in pairs])
        write_atomic(journal, record, exclusive=True)  # the commit point
    except BaseException as exc:
        for written_tmp, _ in pairs:
            try:
                if written_tmp is not None:
                    os.unlink(written_tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise _naming(exc, target) from None
        raise
    for step_tmp, step_target in pairs:
        _complete(step_tmp, step_target)
    os.unlink(journal)
    return changed


def _complete(tmp: Path | str | None, target: Path | str) -> None:
    """One step of a committed set: the temp renamed over its target, or the target removed."""
    if tmp is None:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
    else:
        os.replace(tmp, target)


def finish_interrupted(folder: Path) -> None:
    """Complete the sets whose writer died after committing (see write_set)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".kb-set.") and n.endswith(JOURNAL)]
    except OSError:
        return
    for name in names:
        parts = name[: -len(JOURNAL)].split(".")
        if len(parts) != 4 or not parts[2].isdigit() or process_alive(int(parts[2])):
            continue
        journal = folder / name
        try:
            pairs = _opened(read_bytes(journal, 16 << 20))
            if pairs is None or not all(_journalled(folder, pair) for pair in pairs):
                continue  # not a set kb wrote here (planted, or from another tree): never acted on
            for tmp, target in pairs:
                if tmp is None:
                    _complete(None, target)  # a removal the set committed to
                elif os.path.lexists(tmp) and stat.S_ISREG(os.lstat(tmp).st_mode):
                    os.replace(tmp, target)
            os.unlink(journal)
        except (OSError, ValueError, TypeError):
            continue  # left for the next writer; its temps are kept while the journal names them


def _journal_key() -> bytes:
    """This user's key for sealing journals (0600, outside every KB): a journal anyone can
    commit or ship in an archive carries no valid seal, so it is never acted on."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = os.path.join(base, "kb", "journal.key")
    try:
        with open(path, "rb") as handle:
            key = handle.read(64)
        if len(key) == 32:
            return key
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        handle_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another kb made it first: use theirs
        with open(path, "rb") as handle:
            return handle.read(64)
    with os.fdopen(handle_fd, "wb") as handle:
        handle.write(key)
    return key


def _sealed(root: Path, pairs: list[Any]) -> str:
    body = json.dumps({"root": os.path.realpath(root), "pairs": pairs}, sort_keys=True)
    try:
        seal = hmac.new(_journal_key(), body.encode(), hashlib.sha256).hexdigest()
    except OSError:  # no home to keep a key in: the set is still written now, only not finished after a kill
        seal = ""
    return json.dumps({"body": body, "seal": seal})


def _opened(raw: bytes) -> list[Any] | None:
    """The steps of a journal this user's kb sealed, each target inside the KB it was written
    for; None for anything else."""
    record = json.loads(raw)
    if not isinstance(record, dict) or not isinstance(record.get("body"), str):
        return None
    body = record["body"]
    try:
        key = _journal_key()
    except OSError:
        return None
    if not hmac.compare_digest(str(record.get("seal")), hmac.new(key, body.encode(), hashlib.sha256).hexdigest()):
        return None
    data = json.loads(body)
    root, pairs = data.get("root"), data.get("pairs")
    if not isinstance(root, str) or not isinstance(pairs, list):
        return None
    for pair in pairs:
        target = pair[1] if isinstance(pair, list) and len(pair) == 2 else None
        where = os.path.realpath(os.path.dirname(target)) if isinstance(target, str) else ""
        if not (where == root or where.startswith(root + os.sep)):
            return None
    return pairs


def _journal_scope(folder: Path) -> str:
    """The tree a journal in `folder` may change: the work tree of the repository whose
    `kb-tmp` folder it is in, else `folder` and what is below it (write_set puts a journal
    beside its temps: in the git folder's kb-tmp, or in the folder of the files it writes)."""
    real = os.path.realpath(folder)
    if os.path.basename(real) == "kb-tmp":
        git_dir = os.path.dirname(real)
        if os.path.basename(git_dir) == ".git":
            return os.path.dirname(git_dir)
        try:  # a linked worktree's git folder names the worktree's .git file in `gitdir`
            pointer = read_head(Path(git_dir) / "gitdir", 4096).decode("utf-8").strip()
            return os.path.dirname(os.path.realpath(pointer))
        except (OSError, UnicodeDecodeError):
            return real
    return real


def _journalled(folder: Path, pair: object) -> bool:
    """A step kb itself could have journalled in `folder`: its temp is a kb temp in that folder,
    and its target is inside the tree that folder serves. A journal is a file anyone can leave
    in a work tree (a commit, an archive): its paths are never trusted further than that."""
    if not isinstance(pair, list) or len(pair) != 2:
        return False
    tmp, target = pair
    if not isinstance(target, str) or (tmp is not None and not isinstance(tmp, str)):
        return False
    scope = _journal_scope(folder)
    where = os.path.realpath(os.path.dirname(target))
    if not os.path.isabs(target) or not (where == scope or where.startswith(scope + os.sep)):
        return False
    if tmp is None:
        return True
    name = os.path.basename(tmp)
    return (
        os.path.realpath(os.path.dirname(tmp)) == os.path.realpath(folder)
        and name.startswith(".")
        and name.endswith(SUFFIX)
    )


def _link_unnamed(fd: int, path: Path, exclusive: bool) -> bool:
    """Link the unnamed file into place; False when /proc is missing (use a named temp)."""
    source = f"/proc/self/fd/{fd}"
    if exclusive:
        try:
            os.link(source, path, follow_symlinks=True)  # FileExistsError rather than replace
        except FileExistsError:
            raise
        except OSError:
            return False
        return True
    tmp = _temp_name(path)
    try:
        os.link(source, tmp, follow_symlinks=True)
    except OSError:
        return False
    _replace(tmp, path)
    return True


def _unnamed(directory: Path, payload: bytes, mode: int) -> int | None:
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        fd = os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError:
        return None  # a file system without O_TMPFILE
    try:
        _write_all(fd, payload)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _temp_name(path: Path) -> Path:
    return temp_folder(path.parent) / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{SUFFIX}"


_TEMP_FOLDERS: dict[Path, Path] = {}


def temp_folder(folder: Path) -> Path:
    """Where temps for files in `folder` go: `<git dir>/kb-tmp` on the same file system, else `folder`."""
    found = _TEMP_FOLDERS.get(folder)
    if found is None or not found.is_dir():  # a repository made or removed since the last write
        found = _TEMP_FOLDERS[folder] = _git_temp_folder(folder) or folder
    return found


def _git_temp_folder(folder: Path) -> Path | None:
    try:
        device = folder.stat().st_dev
    except OSError:
        return None
    for directory in (folder, *folder.parents):
        dot_git = directory / ".git"
        git_dir = dot_git if dot_git.is_dir() else _linked_git_dir(dot_git)
        if git_dir is None:
            continue
        temps = git_dir / "kb-tmp"
        try:
            temps.mkdir(exist_ok=True)
            if temps.stat().st_dev == device and os.access(temps, os.W_OK):
                return temps
        except OSError:
            pass
        return None  # the nearest repository is the one the file belongs to
    return None


def _linked_git_dir(dot_git: Path) -> Path | None:
    """A worktree's or submodule's `.git` file names its git folder: `gitdir: <path>`."""
    try:
        text = read_head(dot_git, 4096).decode("utf-8", errors="replace") if dot_git.is_file() else ""
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    git_dir = (dot_git.parent / text[len("gitdir:") :].strip()).resolve()
    return git_dir if git_dir.is_dir() else None


def sweep_stale_temps(directory: Path) -> list[Path]:
    """Remove temps left by kb writers that no longer run (killed between link and rename),
    after finishing any set such a writer had committed to (finish_interrupted)."""
    finish_interrupted(directory)
    removed: list[Path] = []
    try:
        names = [n for n in os.listdir(directory) if n.startswith(".") and n.endswith(SUFFIX)]
    except OSError:
        return removed
    for name in names:
        parts = name[: -len(SUFFIX)].rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit() or process_alive(int(parts[1])):
            continue
        try:
            os.unlink(directory / name)
            removed.append(directory / name)
        except OSError:
            pass
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs (a writer that may still finish what it started)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
