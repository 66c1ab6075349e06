"""A cold load with a helper process answers exactly as a load in one process.

The helper only starts for large folders; here MIN_FILES is 1 so every rule case (bad YAML,
schema errors, secrets, symlinks, bad names) goes through it, and each run proves the
helper really read files.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import BASE_KB, SNAPSHOT_KB, copy_kb
from test_rule_cases import _cases, apply_files, promtool_reads

from kb.cache import incremental
from kb.check.engine import run_check
from kb.load import parallel as parallel_load
from kb.load.loader import load_kb
from kb.load.published import published_secrets
from kb.load.records import decode_value
from kb.rules import secret_allowlist
from kb.rules.context import RuleContext

KEY = "test-key"


@pytest.fixture(autouse=True)
def _helper_for_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_JOBS", raising=False)
    monkeypatch.setattr(parallel_load, "MIN_FILES", 1)


def _helper_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each helper handed back, recorded as kb collects them."""
    counts: list[int] = []
    collect = parallel_load.Prefetch._collect

    def counting(self) -> None:
        started = self.pid is not None
        collect(self)
        if started:
            counts.append(len(self.results or {}))

    monkeypatch.setattr(parallel_load.Prefetch, "_collect", counting)
    return counts


def _run(root: Path, jobs: str | None, monkeypatch: pytest.MonkeyPatch):
    if jobs is None:
        monkeypatch.delenv("KB_JOBS", raising=False)
    else:
        monkeypatch.setenv("KB_JOBS", jobs)
    session = incremental.start(root, KEY + (jobs or ""))
    kb = load_kb(root, session)
    result = run_check(RuleContext(kb))
    lines = [(d.path, d.span, d.code, d.level, d.message) for d in result.diagnostics]
    records = {
        rel: (
            r.stat,
            r.digest,
            decode_value(r.data) if r.data else None,
            r.valid,
            r.suppressions,
            r.has_todo,
            r.load_findings,
        )
        for rel, r in session.records.items()
    }
    return lines, records, published_secrets(kb, secret_allowlist().keys)


@pytest.mark.parametrize(("code", "case"), list(_cases()))
def test_helper_load_equals_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_without_promtool: str, code: str, case: dict
) -> None:
    if not promtool_reads(code, case):  # its verdict is the base KB's: 2 runs of it would prove nothing new
        monkeypatch.setenv("PATH", path_without_promtool)
    root = copy_kb(BASE_KB, tmp_path / "kb")
    apply_files(root, case)
    counts = _helper_reads(monkeypatch)
    parallel = _run(root, None, monkeypatch)
    assert counts and sum(counts) >= 1, "the helper read nothing: the test would prove nothing"
    serial = _run(root, "1", monkeypatch)
    assert parallel == serial, f"{code} {case['name']}"


def test_helper_on_the_real_kb_and_a_later_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    (root / "cards" / "leaked.yaml").write_text(
        (root / "cards" / "queue-stuck.yaml")
        .read_text()
        .replace("id: queue-stuck", "id: leaked")
        .replace("queuectl consumers dispatch", "queuectl consumers dispatch --token ghp_" + "A1b2" * 9)
    )
    counts = _helper_reads(monkeypatch)
    parallel = _run(root, None, monkeypatch)
    assert sum(counts) >= 8
    assert any(code == "KB701" for _, _, code, _, _ in parallel[0]) and parallel[2]
    assert parallel == _run(root, "1", monkeypatch)


def test_a_helper_that_dies_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    serial = _run(root, "1", monkeypatch)

    def dies(self, rel):
        os._exit(9)

    monkeypatch.setattr(parallel_load.Prefetch, "_parse_plain", dies)
    counts = _helper_reads(monkeypatch)
    assert _run(root, None, monkeypatch) == serial
    assert counts and all(c == 0 for c in counts), "the dead helper's files were read by kb itself"


def test_no_helper_while_other_threads_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    counts = _helper_reads(monkeypatch)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        _run(root, None, monkeypatch)
    finally:
        stop.set()
        thread.join()
    assert counts == []
