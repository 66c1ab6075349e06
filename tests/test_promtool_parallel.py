"""KB605's first promtool runs: split over two processes, on a private tmpfs folder, with the
faster Go settings; the answers are those of the single run (issue #20)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_rules_speed_inplace import _answers, _kb, _long_way, needs_promtool

from kb.check import engine
from kb.config.settings import load_config
from kb.emit import promtool, replays
from kb.load.loader import load_kb
from kb.rules.alerting.emit_replay_fails import ReplayFails
from kb.rules.context import RuleContext

REPO = Path(__file__).resolve().parents[1]


def test_parts_keep_every_item_in_order_and_split_only_big_batches() -> None:
    for size in (0, 1, 5, 63, 64, 65, 99, 3333):
        for count in (1, 2, 3):
            cut = replays.parts(list(range(size)), count)
            assert [i for part in cut for i in part] == list(range(size))
            assert all(cut), "no empty run"
            expected = 1 if size < replays.SPLIT_AT else min(count, size // (replays.SPLIT_AT // 2))
            assert len(cut) == (expected if size else 0)
            assert max(map(len, cut), default=0) - min(map(len, cut), default=0) <= 1


def test_two_processes_only_with_two_cores_and_never_with_kb_jobs_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_JOBS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert promtool.processes() == 2
    monkeypatch.setenv("KB_JOBS", "1")
    assert promtool.processes() == 1
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1})
    assert promtool.processes() == 1


def test_the_environment_keeps_what_the_user_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GOGC", "GOMEMLIMIT", "GOMAXPROCS"):
        monkeypatch.delenv(name, raising=False)
    plain = promtool.environment()
    assert "GOMEMLIMIT" not in plain and plain.get("TMPDIR") == os.environ.get("TMPDIR")
    env = promtool.environment(tmp_path, tests=True)
    assert (env["GOGC"], env["GOMEMLIMIT"], env["GOMAXPROCS"], env["TMPDIR"]) == ("off", "48MiB", "1", str(tmp_path))
    monkeypatch.setenv("GOGC", "100")
    env = promtool.environment(None, tests=True)
    assert env["GOGC"] == "100" and "GOMEMLIMIT" not in env and env.get("TMPDIR") == os.environ.get("TMPDIR")


def test_scratch_is_private_and_removed(tmp_path: Path) -> None:
    with promtool.Scratch(str(tmp_path)) as scratch:
        assert scratch.path is not None and scratch.path.parent == tmp_path
        assert scratch.path.name.startswith(promtool.SCRATCH_PREFIX)
        assert (os.stat(scratch.path).st_mode & 0o777) == 0o700
        (scratch.path / "db").mkdir()
        (scratch.path / "db" / "wal").write_text("x")
    assert list(tmp_path.iterdir()) == []


def test_no_scratch_where_kb_cannot_write(tmp_path: Path) -> None:
    assert promtool.Scratch(str(tmp_path / "missing")).path is None
    (tmp_path / "file").write_text("")
    assert promtool.Scratch(str(tmp_path / "file")).path is None


def test_a_sweep_removes_only_folders_nobody_holds(tmp_path: Path) -> None:
    dead = tmp_path / (promtool.SCRATCH_PREFIX + "dead")
    held = tmp_path / (promtool.SCRATCH_PREFIX + "held")
    young = tmp_path / ("." + promtool.SCRATCH_PREFIX + "young")
    old = tmp_path / ("." + promtool.SCRATCH_PREFIX + "old")
    other = tmp_path / "kb-other"
    kb602 = Path(tempfile.mkdtemp(prefix="kb-promtool-", dir=tmp_path))  # KB602's copies, TMPDIR=/dev/shm
    for folder in (dead, held, young, old, other, kb602):
        (folder / "inside").mkdir(parents=True)
    past = time.time() - promtool.SCRATCH_STALE_S - 10
    os.utime(old, (past, past))
    fd = os.open(held, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with promtool.Scratch(str(tmp_path)) as scratch:
            assert scratch.path is not None
            left = {p.name for p in tmp_path.iterdir()} - {scratch.path.name}
        assert left == {held.name, young.name, other.name, kb602.name}
    finally:
        os.close(fd)


def test_a_killed_kb_leaves_its_folder_to_the_next_kb(tmp_path: Path) -> None:
    """SIGKILL: nothing in kb runs, the folder stays; the next kb removes it (its lock died with it)."""
    code = (
        "import sys, time\n"
        "from kb.emit.promtool import Scratch\n"
        f"s = Scratch({str(tmp_path)!r})\n"
        "print(s.path, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        left = Path(child.stdout.readline().strip())
        assert left.is_dir()
        with promtool.Scratch(str(tmp_path)) as scratch:  # the owner lives: its folder stays
            assert left.is_dir() and scratch.path != left
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert left.is_dir()
        with promtool.Scratch(str(tmp_path)):
            assert not left.exists()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def _counting_first_runs(monkeypatch: pytest.MonkeyPatch, timeout: float | None = None) -> list[tuple]:
    """(test files, scratch folder, timeout) of every first run; `timeout` replaces theirs."""
    started: list[tuple] = []
    real = promtool.FirstTests.__init__

    def counting(self, names, cwd, whole_timeout, scratch, holds=None):
        whole_timeout = whole_timeout if timeout is None else timeout
        started.append((len(names), str(scratch.path) if scratch.path else None, whole_timeout))
        real(self, names, cwd, whole_timeout, scratch, holds)

    monkeypatch.setattr(promtool.FirstTests, "__init__", counting)
    return started


@needs_promtool
def test_two_processes_report_exactly_what_one_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One failing and one passing postmortem, each in its own process: the findings of the
    single run; and so when the two first runs time out, or no tmpfs folder can be made."""
    root = _kb(tmp_path)
    expected = _long_way(root, monkeypatch)
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(promtool, "SCRATCH_BASE", str(shm))
    monkeypatch.setattr(replays, "SPLIT_AT", 2)
    monkeypatch.setattr(promtool, "processes", lambda: 2)
    started = _counting_first_runs(monkeypatch)
    assert _answers(root) == expected
    whole = replays.batch_timeout(2)  # each part may take what the whole batch may
    assert [(count, timeout) for count, _, timeout in started] == [(1, whole), (1, whole)]
    assert all(path is not None and path.startswith(str(shm)) for _, path, _ in started)
    assert list(shm.iterdir()) == [], "the scratch folder is gone"

    monkeypatch.setattr(promtool, "SCRATCH_BASE", str(tmp_path / "no-tmpfs"))  # the fallback: no scratch
    started = _counting_first_runs(monkeypatch, timeout=0.0)
    assert _answers(root) == expected
    assert started == [(1, None, 0.0), (1, None, 0.0)]


def test_the_replays_are_collected_after_the_document_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _kb(tmp_path, emit=False)
    order: list[str] = []
    real_documents = engine._document_rule_findings

    def documents(*args, **kwargs):
        order.append("documents")
        return real_documents(*args, **kwargs)

    def check(self, ctx, options):
        order.append("KB605")
        yield from ()

    monkeypatch.setattr(engine, "_document_rule_findings", documents)
    monkeypatch.setattr(ReplayFails, "start", lambda self, ctx, options: order.append("start"))
    monkeypatch.setattr(ReplayFails, "check", check)
    kb = load_kb(root, None, load_config(root))
    engine.run_check(RuleContext(kb), select=["KB605", "KB201"])
    assert order == ["start", "documents", "KB605"]
