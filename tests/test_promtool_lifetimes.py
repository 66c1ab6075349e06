"""promtool's runs never outlive kb, leave nothing behind, and report the same warm and cold.

- KB605's "could not be run" (a failure promtool cannot pin on one test) reads the same after
  a check whose replay cache (kb.cache.replays) skipped the suites passed before as after a
  cold one: the real promtool on a tiny knowledge base.
- A kb killed outright (SIGKILL) takes its promtool with it (the parent-death signal), and
  the next kb removes the private folders it left in TMPDIR.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import BASE_KB, REPO, copy_kb
from test_rule_cases import CASES_DIR

from kb.cache.replays import PassedReplays
from kb.check.engine import run_check
from kb.config.settings import load_config
from kb.emit import promtool
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

needs_promtool = pytest.mark.skipif(promtool.executable() is None, reason="promtool is not installed")


def _passing_postmortem(number: int) -> str:
    data = yaml.safe_load((CASES_DIR / "KB605.yaml").read_text(encoding="utf-8"))
    case = next(c for c in data["cases"] if c["name"] == "the-replay-expects-the-labels-its-expression-keeps")
    text = case["files"]["postmortems/PM-2026-001-queue.yaml"]
    return text.replace("PM-2026-001", f"PM-2026-00{number}").replace("AgentStepsHigh", f"AgentStepsHigh{number}")


def _kb(tmp_path: Path, count: int = 3) -> Path:
    """`count` postmortems, each with one passing replay (not emitted: KB605 copies them)."""
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "postmortems" / "PM-2026-001-queue.yaml").unlink()
    for number in range(1, count + 1):
        (root / "postmortems" / f"PM-2026-00{number}-steps.yaml").write_text(
            _passing_postmortem(number), encoding="utf-8"
        )
    return root


def _kb605(root: Path, memo: PassedReplays | None) -> list[tuple]:
    kb = load_kb(root, None, load_config(root))
    result = run_check(RuleContext(kb, replays=memo), select=["KB605"])
    if memo is not None:
        memo.save()
    return [(d.path, d.span.line, d.span.column, d.code, d.message) for d in result.diagnostics]


@needs_promtool
def test_a_failure_promtool_cannot_attribute_reads_the_same_warm_and_cold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    root = _kb(tmp_path)
    assert _kb605(root, PassedReplays(root)) == []
    assert len(PassedReplays(root).previous) == 3, "the warm check below skips three passed suites"
    # the last postmortem's alert: a description promtool cannot even load (no test name in its error)
    last = root / "postmortems" / "PM-2026-003-steps.yaml"
    text = last.read_text(encoding="utf-8")
    last.write_text(text.replace("      summary:", '      description: "{{ .Bad"\n      summary:'), encoding="utf-8")
    started: list[list[str]] = []
    real = promtool.FirstTests.__init__

    def counting(self, names, cwd, timeout, scratch, holds=None):
        started.append(list(names))
        real(self, names, cwd, timeout, scratch, holds)

    monkeypatch.setattr(promtool.FirstTests, "__init__", counting)
    warm = _kb605(root, PassedReplays(root))
    assert started == [["2.test.yml"]], "the warm check ran only the changed suite first"
    cold = _kb605(root, None)
    assert warm == cold
    [(path, _line, _column, code, message)] = cold
    assert (path, code) == ("mkdocs.yml", "KB605")
    # promtool's own words, naming the alert and the problem; not its progress lines
    assert "could not be run" in message and "unclosed action" in message and "AgentStepsHigh3" in message
    assert "Unit Testing" not in message and "SUCCESS" not in message


def test_the_quote_keeps_promtool_s_words_and_drops_its_progress() -> None:
    output = "Unit Testing:  0.test.yml\n  SUCCESS\nUnit Testing:  1.test.yml\n  FAILED:\n1.rules.yml: bad thing\n"
    run = promtool.parse_test_output(output, 1)
    assert run.problem == "promtool test rules exited 1: 1.rules.yml: bad thing"
    only_progress = promtool.parse_test_output("Unit Testing:  0.test.yml\n  FAILED:\n", 1)
    assert only_progress.problem == "promtool test rules exited 1: Unit Testing:  0.test.yml | FAILED:"


def test_the_parent_death_signal_only_with_one_thread_on_the_main_one() -> None:
    if not sys.platform.startswith("linux"):
        assert promtool.child_options() == {}
        return
    if threading.active_count() == 1:  # (a thread another test left running would forbid it)
        assert "preexec_fn" in promtool.child_options()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert promtool.child_options() == {}, "another thread runs: no function between fork and exec"
    finally:
        release.set()
        other.join()
    answer: list[dict] = []
    worker = threading.Thread(target=lambda: answer.append(promtool.child_options()))
    worker.start()
    worker.join()
    assert answer == [{}], "the signal would come when this thread ends"


def test_a_sweep_never_follows_a_link_nor_removes_another_user_s_folder(tmp_path: Path) -> None:
    target = tmp_path / "target"
    (target / "inside").mkdir(parents=True)
    base = tmp_path / "tmp"
    base.mkdir()
    (base / (promtool.COPIES_PREFIX + "link")).symlink_to(target)
    dead = base / (promtool.COPIES_PREFIX + "dead")
    (dead / "x").mkdir(parents=True)
    others = base / (promtool.COPIES_PREFIX + "other")
    others.mkdir()
    foreign = os.geteuid() == 0
    if foreign:  # only root can give a folder to another user
        os.chown(others, 54321, 54321)
    with promtool.Scratch(str(base), promtool.COPIES_PREFIX, required=True) as scratch:
        assert (os.stat(scratch.folder).st_mode & 0o777) == 0o700
        left = {p.name for p in base.iterdir()} - {scratch.folder.name}
    assert (target / "inside").is_dir()
    expected = {promtool.COPIES_PREFIX + "link"} | ({others.name} if foreign else set())
    assert left == expected if foreign else left >= expected
    assert not dead.exists()


def test_no_private_folder_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        promtool.Scratch(str(tmp_path / "missing"), promtool.COPIES_PREFIX, required=True)


def _state(pid: int) -> str | None:
    """A process's state letter (Z: exited, not reaped), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@needs_promtool
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_kb_takes_its_promtool_along_and_the_next_kb_removes_its_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real kb check, killed with SIGKILL while its `promtool test rules` runs (a promtool
    that says where it is, then waits): that promtool dies with it, and the next kb check
    leaves TMPDIR empty."""
    root = _kb(tmp_path, count=1)
    real = promtool.executable()
    assert real is not None
    bin_dir, scratch_dir, mark = tmp_path / "bin", tmp_path / "tmp", tmp_path / "promtool.pid"
    bin_dir.mkdir()
    scratch_dir.mkdir()
    wrapper = bin_dir / "promtool"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = test ]; then echo $$ > {mark}.new; mv {mark}.new {mark}; exec sleep 30; fi\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(scratch_dir),
        "KB_CACHE_DIR": str(tmp_path / "cache"),
        "KB_NO_CACHE": "1",
    }
    kb = subprocess.Popen(
        [sys.executable, "-m", "kb", "check", "--root", str(root), "--select", "KB605"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = None
    try:
        deadline = time.monotonic() + 30
        while not mark.exists() and kb.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mark.exists(), "kb started promtool test rules"
        child = int(mark.read_text())
        assert [p.name for p in scratch_dir.iterdir() if p.name.startswith(promtool.COPIES_PREFIX)]
        kb.send_signal(signal.SIGKILL)
        kb.wait()
        deadline = time.monotonic() + 5
        while _state(child) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(child) in (None, "Z"), "promtool died with kb"
        assert list(scratch_dir.iterdir()), "the killed kb's folders are still there"
        monkeypatch.setattr(tempfile, "tempdir", str(scratch_dir))  # the next kb, here, same TMPDIR
        assert _kb605(root, None) == []
        assert list(scratch_dir.iterdir()) == []
    finally:
        kb.kill()
        kb.wait()
        if child is not None and _state(child) not in (None, "Z"):
            os.kill(child, signal.SIGKILL)
        shutil.rmtree(scratch_dir, ignore_errors=True)


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("amtool") is None, reason="Linux with amtool")
def test_amtool_is_started_to_die_with_kb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A killed kb left amtool running (third outside review): it starts with the same
    parent-death option as promtool, and still answers."""
    from kb.emit import amtool

    seen: list[dict] = []
    real = subprocess.run

    def watching(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(amtool.subprocess, "run", watching)
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: pager\nreceivers:\n  - name: pager\n")
    assert amtool.route(config, {"alertname": "A"}).receivers == ["pager"]
    assert "preexec_fn" in seen[0]
