"""A FIFO where a schedule, a membership export, a run log or a trace should be is reported,
never opened: a read would block `kb check` for ever (found by an outside review)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import BASE_KB, copy_kb, run_kb


def _kb_with_sources(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    oncall = yaml.safe_load((root / "oncall.yaml").read_text())
    group = next(iter(oncall["groups"]))
    oncall["groups"][group]["members_from"] = "memberships/team.json"
    rotation = next(iter(oncall["rotations"]))
    oncall["rotations"][rotation]["schedule"] = "schedules/primary.ics"
    (root / "oncall.yaml").write_text(yaml.safe_dump(oncall, sort_keys=False))
    for folder in ("memberships", "schedules", "runs"):
        (root / folder).mkdir(exist_ok=True)
    return root


@pytest.mark.parametrize(
    ("fifo", "code"),
    [("memberships/team.json", "KB318"), ("schedules/primary.ics", "KB311"), ("runs/2026-11-29-x-1.jsonl", "KB801")],
)
def test_a_fifo_in_a_source_folder_is_reported_not_read(tmp_path: Path, fifo: str, code: str) -> None:
    root = _kb_with_sources(tmp_path)
    os.mkfifo(root / fifo)
    result = run_kb("check", "--select", code, cwd=root, env={"KB_NO_CACHE": "1"}, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1 and f"{fifo}:" in result.stdout and code in result.stdout, result.stdout


def test_a_fifo_given_as_a_trace_is_refused(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    os.mkfifo(tmp_path / "trace.json")
    args = ("new", "postmortem", "--title", "T", "--priority", "P2", "--from-trace", str(tmp_path / "trace.json"))
    result = run_kb(*args, cwd=root, timeout=60)
    assert result.returncode == 1 and "not a regular file" in result.stderr
    assert not list((root / "postmortems").glob("*.yaml")) or "PM-" not in result.stdout
