"""`kb emit` output merges with real `git merge` (issue #15).

kb emit writes one file per postmortem and kind under rules/kb/, so two branches that each
file a postmortem (`kb new postmortem`, then `kb emit`), or each edit a different
postmortem's reinforcements, change different files: git merges them with no conflict, and
after the merge `kb emit` has nothing to change, `kb check` finds no error and promtool's
replays pass. Where a conflict is real (both branches edit one postmortem's alert), `kb emit`
regenerates its file from the conflicted state. The single-file layout of older kb versions
is migrated by `kb emit`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB, require_tool

from kb.commands import check, emit, new

FIXTURES = Path(__file__).parent / "fixtures"
REINFORCEMENTS = """reinforcements:
  - id: R1
    kind: alert
    alert:
      name: {name}
      expr: max by (queue) (queue_oldest_job_age_seconds{{queue="{queue}"}}) > 900
      for: 5m
      priority: P2
      card: queue-stuck
      summary: Jobs of queue {queue} wait for more than 15 minutes
      replay:
        series:
          - {{series: 'queue_oldest_job_age_seconds{{queue="{queue}"}}', values: '0+60x40'}}
        fires_at: 22m
  - id: R2
    kind: eval
    eval: {{input: 'queue {queue} is stuck', expected: resumes consumers}}
"""


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)


def commit_all(root: Path, message: str) -> None:
    assert git(root, "add", "-A").returncode == 0
    done = git(root, "commit", "-qm", message)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def repo(base_kb: Path) -> Path:
    require_tool("git")
    assert git(base_kb, "init", "-q", "-b", "main").returncode == 0
    commit_all(base_kb, "base")
    return base_kb


def file_postmortem(root: Path, call, branch: str, title: str, name: str, queue: str) -> Path:
    """What a user does on a branch: kb new postmortem, fill in the reinforcements, kb emit, commit."""
    assert git(root, "checkout", "-q", "-b", branch, "main").returncode == 0
    made = call(
        new.postmortem,
        title=title,
        priority="P2",
        card=["queue-stuck"],
        started_at="2026-11-03T01:52:00+00:00",
        root=root,
    )
    assert made.returncode == 0, made.stderr
    rel = re.search(r"created (\S+)", made.stdout).group(1)
    path = root / rel
    text = path.read_text()
    assert "reinforcements: []" in text
    path.write_text(re.sub(r"reinforcements: \[\].*\n", REINFORCEMENTS.format(name=name, queue=queue), text))
    assert call(emit.run, root=root).returncode == 0
    commit_all(root, branch)
    return path


def emitted(root: Path) -> list[str]:
    return sorted(p.relative_to(root / "rules").as_posix() for p in (root / "rules" / "kb").rglob("*") if p.is_file())


def assert_merged_state_is_sound(root: Path, call) -> None:
    assert not any("<<<<<<<" in p.read_text() for p in (root / "rules").rglob("*") if p.is_file())
    again = call(emit.run, check_only=True, root=root)
    assert again.returncode == 0, again.stderr  # kb emit after the merge: nothing to change
    checked = call(check.run, root=root)
    assert checked.returncode == 0 and "Found 0 errors" in checked.stdout, checked.stdout
    tests = sorted(p.relative_to(root / "rules").as_posix() for p in (root / "rules/kb/tests").glob("*.yml"))
    replay = subprocess.run(
        [require_tool("promtool"), "test", "rules", *tests], cwd=root / "rules", capture_output=True, text=True
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_two_branches_that_each_file_a_postmortem_merge_cleanly(repo: Path, call) -> None:
    a = file_postmortem(repo, call, "a", "Queue A stalled", "QueueAStalled", "qa")
    b = file_postmortem(repo, call, "b", "Queue B stalled", "QueueBStalled", "qb")
    assert a.name[:11] != b.name[:11]  # kb new saw branch a's id through git: two ids
    assert git(repo, "checkout", "-q", "a").returncode == 0
    merged = git(repo, "merge", "--no-edit", "b")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "CONFLICT" not in merged.stdout
    ids = (a.name[:11], b.name[:11])
    assert emitted(repo) == sorted(
        f"kb/{kind}/{pm}.{ext}" for pm in ids for kind, ext in (("alerts", "yml"), ("tests", "yml"), ("evals", "jsonl"))
    )
    assert_merged_state_is_sound(repo, call)

    # then each branch edits a different postmortem's reinforcements: still no conflict
    git(repo, "branch", "-q", "-f", "main", "a")
    for branch, path, old, fresh in (
        ("edit-a", a, "for: 5m", "for: 4m"),
        ("edit-b", b, "expected: resumes consumers", "expected: restarts the consumers"),
    ):
        assert git(repo, "checkout", "-q", "-b", branch, "main").returncode == 0
        path.write_text(path.read_text().replace(old, fresh))
        assert call(emit.run, root=repo).returncode == 0
        commit_all(repo, branch)
    merged = git(repo, "merge", "--no-edit", "edit-a")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "for: 4m" in (repo / f"rules/kb/alerts/{ids[0]}.yml").read_text()
    assert "restarts the consumers" in (repo / f"rules/kb/evals/{ids[1]}.jsonl").read_text()
    assert_merged_state_is_sound(repo, call)


def test_a_real_conflict_inside_kbs_folder_is_regenerated(repo: Path, call) -> None:
    pm = file_postmortem(repo, call, "a", "Queue A stalled", "QueueAStalled", "qa")
    git(repo, "branch", "-q", "-f", "main", "a")
    for branch, fresh in (("four", "for: 4m"), ("three", "for: 3m")):  # both edit the same alert
        assert git(repo, "checkout", "-q", "-b", branch, "main").returncode == 0
        pm.write_text(pm.read_text().replace("for: 5m", fresh))
        assert call(emit.run, root=repo).returncode == 0
        commit_all(repo, branch)
    merged = git(repo, "merge", "--no-edit", "four")
    assert merged.returncode != 0
    rules = repo / f"rules/kb/alerts/{pm.name[:11]}.yml"
    assert "<<<<<<< " in rules.read_text() and "CONFLICT (content)" in merged.stdout
    # the person resolves the postmortem; kb emit resolves its own file, markers and all
    assert git(repo, "checkout", "--theirs", "--", pm.relative_to(repo).as_posix()).returncode == 0
    assert call(emit.run, root=repo).returncode == 0
    assert "for: 4m" in rules.read_text() and "<<<<<<<" not in rules.read_text()
    commit_all(repo, "merged")
    assert_merged_state_is_sound(repo, call)


def test_the_single_file_layout_of_an_older_kb_is_migrated(snapshot_kb: Path, call) -> None:
    rules = snapshot_kb / "rules"
    shutil.rmtree(rules / "kb")
    for old in (FIXTURES / "legacy-emit").iterdir():  # what kb emit wrote before #15, byte for byte
        shutil.copy(old, rules / old.name)
    (rules / "kb.rules.2.yml").write_text("# Generated by kb emit. Do not edit.\ngroups: []\n")  # a part
    checked = call(check.run, root=snapshot_kb)
    assert (
        checked.returncode == 1 and "rules/kb.rules.yml was written by kb emit but kb emit no longer" in checked.stdout
    )
    done = call(emit.run, root=snapshot_kb)
    assert done.returncode == 0
    assert "removed rules/kb.rules.yml" in done.stdout and "removed rules/kb.rules.2.yml" in done.stdout
    assert sorted(p.name for p in rules.iterdir()) == ["agents.rules.yml", "kb"]
    assert {n: (rules / n).read_bytes() for n in emitted(snapshot_kb)} == {
        n: (SNAPSHOT_KB / "rules" / n).read_bytes() for n in emitted(SNAPSHOT_KB)
    }
    assert call(check.run, root=snapshot_kb).returncode == 0
