"""Class 3: special files are never opened. A FIFO, a socket, a device or a directory named
`*.yaml` (or linked under such a name) is reported at its path, and every command finishes
within seconds; every read is bounded, so a huge or endless file costs no memory."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb_forked, no_traceback

SECONDS = 8


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(path.parent)  # a relative name: a socket path is limited to 108 bytes
    try:
        sock.bind(path.name)  # left bound: the file stays a socket
    finally:
        os.chdir(here)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _dev_urandom(path: Path) -> None:
    path.symlink_to("/dev/urandom")


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo_link(path: Path) -> None:
    fifo = path.parent / ".hidden-fifo"
    os.mkfifo(fifo)
    path.symlink_to(fifo.name)


def _loop(path: Path) -> None:
    path.symlink_to(path.name)  # a link to itself: ELOOP


def _dangling(path: Path) -> None:
    path.symlink_to("does-not-exist.yaml")


KINDS = {
    "fifo": _fifo,
    "socket": _socket,
    "dev-zero": _dev_zero,
    "dev-urandom": _dev_urandom,
    "directory": _directory,
    "link-to-fifo": _fifo_link,
    "symlink-loop": _loop,
    "dangling-link": _dangling,
}
PLACES = [
    "cards/special.yaml",
    "postmortems/PM-2026-009-special.yaml",
    "rules/special.yml",
    "references/special.md",
    "oncall.yaml",
    "router.md",
]
COMMANDS = [
    ["check", "--format", "json", "--select", "KB1"],
    ["route", "QueueStalled"],
    ["show", "queue-stuck"],
    ["followups"],
    ["emit", "--check"],
    ["card", "verified", "queue-stuck"],
]


def _run_bounded(root: Path, args: list[str]):
    """The command in a forked child with a deadline: a hang fails the test, not the suite."""
    started = time.monotonic()
    result = kb_forked(*args, cwd=root, env={"KB_NO_CACHE": "1"}, timeout=SECONDS)
    if result is None:
        pytest.fail(f"kb {' '.join(args)} hung on a special file ({time.monotonic() - started:.0f} s)")
    return result


CASES = [(kind, "cards/special.yaml") for kind in sorted(KINDS)] + [
    (kind, place) for place in PLACES[1:] for kind in ("fifo", "dev-zero", "directory", "symlink-loop")
]


@pytest.mark.parametrize("kind,place", CASES)
def test_special_file_is_reported_not_read(tmp_path: Path, kind: str, place: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    target = root / place
    if target.exists():
        target.unlink()
    KINDS[kind](target)
    result = _run_bounded(root, ["check", "--format", "json", "--select", "KB1"])  # no promtool: fast
    no_traceback(result)
    assert result.returncode != 0, result.output
    assert place in result.output, result.output


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_every_command_survives_a_special_card(tmp_path: Path, kind: str, args: list[str]):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    KINDS[kind](root / "cards/special.yaml")
    result = _run_bounded(root, args)
    no_traceback(result)


def test_a_huge_file_is_reported_without_reading_it_whole(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    big = root / "cards/big.yaml"
    with big.open("wb") as handle:
        handle.truncate(3 << 30)  # a 3 GB sparse file: reading it whole would take seconds and 3 GB
    started = time.monotonic()
    result = _run_bounded(root, ["check", "--format", "json", "--select", "KB1"])  # no promtool: fast
    no_traceback(result)
    assert result.returncode != 0 and "cards/big.yaml" in result.output
    assert time.monotonic() - started < SECONDS


def test_a_huge_router_page_is_reported(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    with (root / "references/huge.md").open("wb") as handle:
        handle.truncate(3 << 30)
    result = _run_bounded(root, ["check", "--format", "json", "--select", "KB1"])  # no promtool: fast
    no_traceback(result)
    assert "references/huge.md" in result.output
