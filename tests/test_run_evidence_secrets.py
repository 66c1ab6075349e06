"""A credential pasted as `kb run --evidence` is a KB701 finding in the run log, and `--resume`
does not print it again (outside review, finding 19)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Ran

from kb.commands import check as check_command
from kb.commands import run as run_verb

TOKEN = "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"  # detect-secrets' GitHub token shape, not a live token


def test_a_token_in_evidence_is_reported_and_not_shown(
    base_kb: Path, call: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")

    def act(**action: object) -> Ran:
        return call(run_verb.run, "queue-stuck", "alice", False, False, None, run_verb.Action(**action), base_kb)

    assert act(start=True).returncode == 0
    evidence = f"curl -H 'Authorization: token {TOKEN}' https://api.github.com/x"
    assert act(step="resume", done=True, evidence=evidence).returncode == 0
    checked = call(check_command.run, select=["KB701"], root=base_kb)
    assert checked.returncode == 1 and "KB701" in checked.stdout and ".jsonl:2:" in checked.stdout
    resumed = call(run_verb.run, "queue-stuck", "alice", False, True, None, None, base_kb)
    assert "resume: done" in resumed.stdout and "Authorization: token" in resumed.stdout
    assert TOKEN not in resumed.stdout + resumed.stderr
