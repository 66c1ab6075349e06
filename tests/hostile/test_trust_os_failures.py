"""Class 6: operating-system failures are diagnostics naming the file, never internal errors:
ELOOP, ENOSPC, EISDIR (a timezone naming a zoneinfo folder), ENOTDIR, over-long names. `kb
emit` writes its four files as one set and `kb init` leaves no half-made folder, whatever
instant the process is killed at."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback


@pytest.mark.parametrize("zone", ["America", "Europe", "Etc", ".", "posix", "right"])
def test_a_timezone_naming_a_folder_is_a_diagnostic(tmp_path: Path, zone: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    oncall = root / "oncall.yaml"
    oncall.write_text(oncall.read_text().replace("timezone: America/New_York", f"timezone: {zone}"))
    for args in (
        ["check", "--select", "KB1"],
        ["access"],
        ["followups"],
        ["new", "card", "--title", "t", "--rotation", "sre-primary", "--priority", "P2", "--owner", "o"],
    ):
        result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
        no_traceback(result)
    result = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    assert result.returncode == 1 and "oncall.yaml:" in result.stdout and "timezone" in result.stdout, result.output


def _full_device(folder: Path) -> Path:
    """A private /dev/full (ENOSPC on every write): a failing kb must never replace the real one."""
    import stat

    path = folder / "full"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError:
        pytest.skip("cannot make a device node here")
    return path


def test_report_to_a_full_disk_names_the_file(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    full = _full_device(tmp_path)
    result = kb("check", "-o", str(full), cwd=root)
    no_traceback(result)
    assert result.returncode == 2 and str(full) in result.stderr and "space" in result.stderr, result.output
    assert full.is_char_device()


@pytest.mark.parametrize("target", ["mkdocs.yml/report.txt", "cards", "cards/queue-stuck.yaml/x"])
def test_report_to_an_impossible_path_names_it(tmp_path: Path, target: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb("check", "-o", target, cwd=root)
    no_traceback(result)
    assert result.returncode == 2 and target.split("/")[0] in result.stderr, result.output


def test_a_cache_folder_that_cannot_exist_costs_nothing(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    full = _full_device(tmp_path)
    for cache in (str(full / "kb"), "/proc/self/kb", str(root / "mkdocs.yml")):
        result = kb("check", cwd=root, env={"KB_CACHE_DIR": cache})
        no_traceback(result)
        assert result.returncode == 0, result.output


@pytest.mark.parametrize("link", ["cards", "postmortems", "templates", "rules", "references"])
def test_a_folder_that_loops_is_a_diagnostic(tmp_path: Path, link: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    import shutil

    if (root / link).exists():
        shutil.rmtree(root / link)
    (root / link).symlink_to(link)
    for args in (
        ["check", "--select", "KB1"],
        ["emit", "--check"],
        ["new", "card", "--title", "t", "--rotation", "sre-primary", "--priority", "P2", "--owner", "o"],
        ["route", "x"],
    ):
        result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
        no_traceback(result)
    result = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    assert result.returncode != 0 and link in result.output


def test_an_over_long_title_gives_a_short_file_name(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    result = kb("new", "postmortem", "--title", "é" * 400, "--priority", "P2", cwd=root)
    no_traceback(result)
    assert result.returncode == 0, result.output
    result = kb(
        "new", "card", "--title", "x" * 400, "--rotation", "sre-primary", "--priority", "P2", "--owner", "o", cwd=root
    )
    no_traceback(result)


SET = [
    "kb/alerts/PM-2026-004.yml",
    "kb/tests/PM-2026-004.yml",
    "kb/gates/PM-2026-004.yml",
    "kb/evals/PM-2026-004.jsonl",
]
LEGACY = Path(__file__).parent.parent / "fixtures" / "legacy-emit"  # what kb emit wrote before #15
PM4 = "postmortems/PM-2026-004-wrong-recovery-script.yaml"


def _emit_kb(tmp_path: Path) -> Path:
    from conftest import REPO

    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / PM4).write_text((REPO / PM4).read_text())
    assert kb("emit", cwd=root).returncode == 0
    return root


def _edit_every_output(root: Path) -> None:
    pm = root / PM4
    text = pm.read_text()
    for old, new in (
        ("PublishConsumersPaused", "PublishConsumersStopped"),
        ("Queue depth rising", "Queue depth climbing"),
        ("recovery-script-needs-scenario-evidence", "recovery-script-needs-evidence"),
    ):
        assert old in text
        text = text.replace(old, new)
    pm.write_text(text)


def _rules(root: Path) -> dict[str, bytes]:
    """Every file under rules/ (kb's folder and the older layout's names), not the hidden temps."""
    folder = root / "rules"
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def _set_rules(root: Path, files: dict[str, bytes]) -> None:
    folder = root / "rules"
    shutil.rmtree(folder)
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)


@pytest.mark.parametrize("start", ["edited", "older-layout"])
def test_a_killed_emit_leaves_the_old_set_or_the_new_set(tmp_path: Path, start: str):
    root = _emit_kb(tmp_path)
    if start == "edited":  # every file of the set changes
        old = _rules(root)
        _edit_every_output(root)
    else:  # kb emit migrates the single-file layout: four removals and four new files, one set
        old = {n: c for n, c in _rules(root).items() if not n.startswith("kb/")}
        old |= {p.name: p.read_bytes() for p in LEGACY.iterdir()}
    _set_rules(root, old)
    started = time.monotonic()
    assert kb("emit", cwd=root).returncode == 0
    duration = max(time.monotonic() - started, 0.05)
    new = _rules(root)
    assert all(old.get(n) != new.get(n) for n in SET)
    mixed = 0
    rounds = int(os.environ.get("KB_KILL_ROUNDS", "20"))
    rng = random.Random(14)
    for _ in range(rounds):
        _set_rules(root, old)
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(root)
                sys.stdout = sys.stderr = open(os.devnull, "w")
                from kb.cli import app

                app(["emit"], standalone_mode=False)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(duration * 0.3, duration * 1.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kb(
            "check", "--select", "KB1", cwd=root
        )  # the next kb run sees one set: it finishes what a killed emit committed to
        now = _rules(root)
        mixed += now != old and now != new
    assert mixed == 0, f"{mixed} of {rounds} kills left a mixed set"


def test_a_failed_emit_leaves_the_old_set(tmp_path: Path):
    root = _emit_kb(tmp_path)
    (root / "rules" / "kb.rules.yml").write_bytes((LEGACY / "kb.rules.yml").read_bytes())  # a removal in the set
    before = _rules(root)
    _edit_every_output(root)
    evals = root / "rules" / SET[-1]
    evals.unlink()
    evals.mkdir()  # the last file of the set cannot be written
    (evals / "keep").write_text("x")
    result = kb("emit", cwd=root)
    no_traceback(result)
    assert result.returncode != 0 and "PM-2026-004.jsonl" in result.output, result.output
    after = _rules(root)
    assert after == {k: v for k, v in before.items() if k != SET[-1]} | {f"{SET[-1]}/keep": b"x"}


def test_a_killed_init_leaves_no_half_made_folder(tmp_path: Path):
    rng = random.Random(1414)
    started = time.monotonic()
    assert kb("init", str(tmp_path / "timing"), cwd=tmp_path).returncode == 0
    duration = max(time.monotonic() - started, 0.05)
    half = 0
    rounds = int(os.environ.get("KB_KILL_ROUNDS", "20"))
    for index in range(rounds):
        target = tmp_path / f"kb-{index}"
        pid = os.fork()
        if pid == 0:
            try:
                sys.stdout = sys.stderr = open(os.devnull, "w")
                from kb.cli import app

                app(["init", str(target)], standalone_mode=False)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, duration * 1.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if target.exists():
            ok = (target / "mkdocs.yml").is_file() and kb("check", "--select", "KB1", cwd=target).returncode == 0
            half += not ok
    assert half == 0, f"{half} of {rounds} kills left a half-made knowledge base"


def test_init_into_an_impossible_place_names_it(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    for target in (str(tmp_path / "file" / "kb"), "/proc/kb-init", str(tmp_path / "file")):
        result = kb("init", target, cwd=tmp_path)
        no_traceback(result)
        assert result.returncode == 2 and target in result.stderr, result.output
