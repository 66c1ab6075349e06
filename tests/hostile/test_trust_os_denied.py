"""Class 6, for real: EACCES and EROFS. The suite runs as root, which no permission stops, so
each case runs kb in a forked child that first becomes an unprivileged user (uid/gid 65534,
no groups, no capabilities: the kernel refuses it for real) or enters a private mount
namespace where the KB is bind-mounted read-only. Every command that cannot write or read
says `kb: <path>: <what happened>` and exits 2 (a finding naming the file where kb check
reads), never a traceback, and nothing is lost: every file is as it was. Skipped where
the kernel or the container does not allow the setup."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb_forked, no_traceback

NOBODY = 65534
NEW_CARD = ["new", "card", "--title", "t", "--id", "denied", "--rotation", "sre-primary", "--priority", "P2"]
NEW_CARD += ["--owner", "o", "--alert", "DeniedAlert"]


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)  # from root: every capability goes with it
    os.environ["HOME"] = "/nonexistent"
    os.environ["TMPDIR"] = "/tmp"  # the test run's own temp folder belongs to root
    import tempfile

    tempfile.tempdir = None


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 1, 32, 4096, 16384, 1 << 18


def _mount(source: str | None, target: str, flags: int) -> None:
    if _libc.mount(source and source.encode(), target.encode(), None, flags, None) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}")


def _read_only(folder: Path) -> Callable[[], None]:
    def prepare() -> None:
        if _libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        _mount(None, "/", MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
        _mount(str(folder), str(folder), MS_BIND | MS_REC)
        _mount(None, str(folder), MS_BIND | MS_REMOUNT | MS_RDONLY)

    return prepare


def _possible(prepare: Callable[[], None]) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            prepare()
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder any user can reach (pytest's tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="kb-denied-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    subprocess.run(["chmod", "-R", "u+rwX", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _snapshot(folder: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in (".kb-locks", ".kb-test-cache")]
        for name in files:
            path = Path(dirpath, name)
            try:
                found[str(path.relative_to(folder))] = path.read_bytes()
            except OSError:
                found[str(path.relative_to(folder))] = b"unreadable"
    return found


REINFORCEMENT = """status: review
reinforcements:
  - id: R1
    kind: test
    owner: team-dispatch
    due: 2026-12-15
    status: open
    test: {name: test_replay, path: tests/test_q.py, asserts: replay passes}
"""


def _kb(folder: Path) -> Path:
    root = copy_kb(BASE_KB, folder)
    pm = root / "postmortems/PM-2026-001-queue.yaml"
    pm.write_text(pm.read_text().replace("status: draft\n", REINFORCEMENT))
    return root


def _owned_kb(place: Path) -> Path:
    root = _kb(place / "kb")
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(place)], check=True)
    return root


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory) -> None:
    """Run every command once as root on a scratch KB, in this process: the modules each
    imports on demand are then loaded in every forked child, which, as nobody, could not
    read them from the interpreter's folder under /root."""
    scratch = _kb(tmp_path_factory.mktemp("warm") / "kb")
    from trust_cli import kb

    for _, args, _ in WRITERS.values():
        kb(*args, cwd=scratch, env={"KB_NO_CACHE": "1"})
    for args in (["check"], ["route", "QueueStalled"], ["show", "queue-stuck"], ["emit", "--dry-run"], ["schema"]):
        kb(*args, cwd=scratch, env={"KB_NO_CACHE": "1"})


def _denied(result, path: str, code: int = 2) -> None:
    assert result is not None, "kb hung"
    no_traceback(result)
    assert result.returncode == code, result.output
    assert f"kb: {path}" in result.stderr or path in result.stderr, result.stderr
    assert "denied" in result.stderr.lower() or "read-only" in result.stderr.lower(), result.stderr


# ---------------------------------------------------------------- EACCES, as an unprivileged user

WRITERS = {  # what is made unwritable, the command, the path its message must name
    "new-card-cards-folder": ("cards", NEW_CARD, "cards/denied.yaml"),
    "new-postmortem-folder": (
        "postmortems",
        ["new", "postmortem", "--title", "Denied", "--priority", "P2", "--started-at", "2026-11-02T10:00:00+00:00"],
        "postmortems/PM-2026-002",
    ),
    "emit-rules-folder": ("rules", ["emit"], "rules/"),
    "followups-done": ("postmortems", ["followups", "done", "PM-2026-001", "R1"], "postmortems/PM-2026-001"),
    "card-verified": ("cards", ["card", "verified", "queue-stuck"], "cards/queue-stuck.yaml"),
    "check-output-file": ("reports", ["check", "--select", "KB1", "-o", "reports/out.txt"], "reports/out.txt"),
}


@pytest.mark.parametrize("case", sorted(WRITERS))
def test_eacces_on_a_folder_kb_writes_is_path_and_exit_2(place: Path, case: str):
    if not _possible(_as_nobody):
        pytest.skip("cannot become an unprivileged user here")
    root = _owned_kb(place)
    folder, args, named = WRITERS[case]
    (root / folder).mkdir(exist_ok=True)
    (root / folder).chmod(0o555)  # the owner (nobody) may not write: only root could
    before = _snapshot(root)
    result = kb_forked(*args, cwd=root, env={"KB_NO_CACHE": "1"}, prepare=_as_nobody)
    _denied(result, named)
    assert _snapshot(root) == before


def test_eacces_on_an_unreadable_card_names_it(place: Path):
    if not _possible(_as_nobody):
        pytest.skip("cannot become an unprivileged user here")
    root = _owned_kb(place)
    (root / "cards/queue-stuck.yaml").chmod(0o000)
    before = _snapshot(root)
    for args in (["check", "--select", "KB1"], ["route", "QueueStalled", "--show"], ["show", "queue-stuck"]):
        result = kb_forked(*args, cwd=root, env={"KB_NO_CACHE": "1"}, prepare=_as_nobody)
        assert result is not None, "kb hung"
        no_traceback(result)
        assert "cards/queue-stuck.yaml" in result.output, (args, result.output)
        if args[0] != "route":  # route still routes (router.md is readable) and names the card it cannot load
            assert result.returncode != 0 and "denied" in result.output.lower(), (args, result.output)
    assert _snapshot(root) == before


def test_eacces_on_the_lock_folder_is_path_and_exit_2(place: Path):
    if not _possible(_as_nobody):
        pytest.skip("cannot become an unprivileged user here")
    root = _owned_kb(place)
    root.chmod(0o555)  # no .kb-locks can be made in the KB
    before = _snapshot(root)
    result = kb_forked("followups", "done", "PM-2026-001", "R1", cwd=root, env={"KB_NO_CACHE": "1"}, prepare=_as_nobody)
    _denied(result, "kb-locks")
    assert _snapshot(root) == before


def test_eacces_on_an_unreadable_mkdocs_yml_is_path_and_exit_2(place: Path):
    if not _possible(_as_nobody):
        pytest.skip("cannot become an unprivileged user here")
    root = _owned_kb(place)
    (root / "mkdocs.yml").chmod(0o000)
    for args in (["check"], ["route", "QueueStalled"], ["emit", "--dry-run"], ["new", *NEW_CARD[1:]]):
        result = kb_forked(*args, cwd=root, env={"KB_NO_CACHE": "1"}, prepare=_as_nobody)
        _denied(result, "mkdocs.yml")


# ---------------------------------------------------------------- EROFS, a read-only bind mount

READ_ONLY_WRITERS = {
    "new-card": (NEW_CARD, "cards/denied.yaml"),
    "emit": (["emit"], ".kb-locks"),  # kb emit takes its lock before it writes rules/
    "followups-done": (["followups", "done", "PM-2026-001", "R1"], ".kb-locks"),
    "card-verified": (["card", "verified", "queue-stuck"], ".kb-locks"),  # the first write: its lock
    "check-output": (["check", "--select", "KB1", "-o", "out.txt"], "out.txt"),
    "schema": (["schema"], "schemas"),
}


@pytest.mark.parametrize("case", sorted(READ_ONLY_WRITERS))
def test_erofs_is_path_and_exit_2_and_reads_still_work(tmp_path: Path, case: str):
    root = _kb(tmp_path / "kb")
    prepare = _read_only(root)
    if not _possible(prepare):
        pytest.skip("no private mount namespace here (unshare/mount not permitted)")
    args, named = READ_ONLY_WRITERS[case]
    before = _snapshot(root)
    result = kb_forked(*args, cwd=root, env={"KB_CACHE_DIR": str(root / ".cache")}, prepare=prepare)
    _denied(result, named)
    assert _snapshot(root) == before
    # reading a read-only KB works, and a cache that cannot be written only costs speed
    reading = kb_forked(
        "check", "--select", "KB1", cwd=root, env={"KB_CACHE_DIR": str(root / ".cache")}, prepare=prepare
    )
    assert reading is not None and reading.returncode == 0, reading and reading.output
    no_traceback(reading)
