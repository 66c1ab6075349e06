"""Class 8: `kb new --branch` killed with SIGKILL at random instants of its run.

Each kill lands somewhere in a real run (a forked, warm `kb`, so a kill costs milliseconds,
not a Python start-up; the git processes it started finish on their own, as they would
after a real kill). Right after the kill, HEAD is never on a branch without the commit, and
HEAD and the branches are either as before or as after, except while kb's journal says a
switch is owed; the next kb command then finishes or forgets it, and the whole repository
(HEAD, index, branches, working tree, untracked files) is exactly as before the run or
exactly as a complete run leaves it. `KB_KILL_ROUNDS=60` runs the longer version."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import _warm, kb

ENV = {
    "GIT_AUTHOR_NAME": "kb-test",
    "GIT_AUTHOR_EMAIL": "kb@test",
    "GIT_COMMITTER_NAME": "kb-test",
    "GIT_COMMITTER_EMAIL": "kb@test",
    "KB_NO_CACHE": "1",
}
ROUNDS = int(os.environ.get("KB_KILL_ROUNDS", "6"))  # with the kills after each git step below; 60 on demand


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, env=_env()).stdout


def _env() -> dict[str, str]:
    return {**os.environ, **ENV}


def _repo(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _snapshot(root: Path) -> dict[str, str]:
    head = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    return {
        "head": head.strip(),
        "sha": _git(root, "rev-parse", "HEAD").strip(),
        "refs": _git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        "status": _git(root, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
    }


def _args(card_id: str) -> list[str]:
    return [
        "new",
        "card",
        "--title",
        card_id,
        "--id",
        card_id,
        "--rotation",
        "sre-primary",
        "--priority",
        "P2",
        "--owner",
        "team",
        "--alert",
        card_id.title().replace("-", "") + "Alert",
        "--branch",
    ]


def _run_killed(
    root: Path, card_id: str, delay: float | None, env: dict[str, str] | None = None, cli: bool = True
) -> int:
    """`kb new card --branch` in a forked child of its own process group; SIGKILL to the kb
    process after `delay` seconds (None: let it finish), then wait for its git children.
    `cli=False` runs the verb the CLI runs (kb.commands.new.card), so that the kills land in
    its work rather than in typer building its command line."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setpgid(0, 0)
            if cli:
                code = kb(*_args(card_id), cwd=root, env={**ENV, **(env or {})}).returncode
            else:
                from kb.commands import new

                os.environ.update(ENV)
                alert = card_id.title().replace("-", "") + "Alert"
                code = new.card(card_id, card_id, "sre-primary", "P2", "team", [alert], None, True, root)
        finally:
            os._exit(code)
    if delay is not None:
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the git processes kb had started finish on their own
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.002)
    return os.waitstatus_to_exitcode(status)


def _assert_before_or_done(root: Path, before: dict[str, str], card_id: str) -> str:
    now = _snapshot(root)
    if now == before:
        return "before"
    branch = f"refs/heads/card/{card_id}"
    assert now["head"] == branch, (before, now)
    assert _git(root, "rev-parse", f"{branch}~1").strip() == before["sha"], now
    assert _git(root, "diff", "--name-only", before["sha"], branch).split() == [
        f"cards/{card_id}.yaml",
        "router.md",
    ]
    assert now["refs"] == "".join(sorted(before["refs"].splitlines(True) + [f"{branch} {now['sha']}\n"])), now
    assert now["status"] == before["status"], now  # index and working tree are the commit: nothing else
    assert f"[{card_id}](cards/{card_id}.yaml)" in (root / "router.md").read_text()
    return "done"


def _assert_never_unborn(root: Path) -> None:
    head = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", head.strip()], cwd=root).returncode == 0, head


def test_sigkill_at_random_instants_leaves_before_or_done(tmp_path: Path):
    _warm()
    root = _repo(tmp_path)
    started = time.monotonic()
    assert _run_killed(root, "timed-run", None, cli=False) == 0
    duration = time.monotonic() - started
    _git(root, "checkout", "-q", "main")
    rng = random.Random(int(os.environ.get("KB_KILL_SEED", "14")))
    outcomes = []
    before = _snapshot(root)
    delays = [duration * (round_no + rng.random()) / ROUNDS for round_no in range(ROUNDS)]  # over the whole run
    round_no = 0
    while round_no < len(delays):
        card_id = f"killed-{round_no}"
        delay = delays[round_no]
        _run_killed(root, card_id, delay, cli=False)
        _assert_never_unborn(root)
        # the next kb command that finds this KB settles what the kill left owed
        after = kb("route", "NoSuchAlert", cwd=root, env=ENV)
        assert "Traceback" not in after.output, after.output
        outcomes.append(_assert_before_or_done(root, before, card_id))
        before = _snapshot(root)
        round_no += 1
        if round_no == len(delays) and len(delays) < ROUNDS + 6 and len(set(outcomes)) < 2:
            # a busy machine made the killed runs slower (or faster) than the timed one: one
            # more kill, later (or earlier), until both outcomes were seen
            extra = 2 ** (len(delays) - ROUNDS + 1)
            delays.append(duration * extra if "done" not in outcomes else duration * rng.random() / extra)
    assert outcomes.count("before") >= 1 and outcomes.count("done") >= 1, outcomes  # kills did land mid-run


@pytest.mark.parametrize("kill_after", ["update-ref", "symbolic-ref", "update-index"])
def test_kill_right_after_each_git_step(tmp_path: Path, kill_after: str):
    """A kill at the exact instant between two git steps: a `git` wrapper first in PATH
    kills kb (its parent) as soon as the named step has finished."""
    root = _repo(tmp_path)
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\n"{real_git}" "$@"\ncode=$?\n'
        f'for a in "$@"; do [ "$a" = "{kill_after}" ] && kill -9 $PPID; done\nexit $code\n'
    )
    wrapper.chmod(0o755)
    before = _snapshot(root)
    _warm()
    _run_killed(root, "stepped", None, {"PATH": f"{wrapper.parent}:{os.environ['PATH']}"})
    _assert_never_unborn(root)
    after = kb("route", "NoSuchAlert", cwd=root, env=ENV)
    assert "Traceback" not in after.output, after.output
    _assert_before_or_done(root, before, "stepped")
