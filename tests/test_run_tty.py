"""`kb run CARD` on a real pseudo-terminal (pexpect): the guided walk, an approval given from
a second terminal while the walk waits, a SIGKILL mid-walk then `--resume`, and no control
sequence from a YAML value reaching the terminal (#19)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

pexpect = pytest.importorskip("pexpect")

FIXTURE = REPO / "tests" / "fixtures" / "runs_kb"
CARD = "prompt-regression"
MENU = r"\[q\]uit > "


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    return root


def environment(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "TERM": "xterm-256color", "KB_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NO_COLOR", None)
    return env


def spawn(kb: Path, *args: str, env: dict[str, str]):
    child = pexpect.spawn(
        sys.executable,
        ["-m", "kb", "run", CARD, *args],
        cwd=str(kb),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
    )
    child.logfile_read = open(kb.parent / "terminal.log", "a", encoding="utf-8")  # the transcript, for a failing test
    return child


def answer(child, choice: str, *prompts_and_replies: str) -> None:
    child.expect(MENU)
    child.sendline(choice)
    for prompt, reply in zip(prompts_and_replies[::2], prompts_and_replies[1::2]):
        child.expect(prompt)
        child.sendline(reply)


def events(kb: Path) -> list[dict]:
    (path,) = (kb / "runs").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_full_guided_run(kb: Path, tmp_path: Path) -> None:
    env = environment(tmp_path)
    walk = spawn(kb, "--as", "alice", env=env)
    walk.expect("step 1/4  confirm-deploy")
    walk.expect("deployctl history prompt-service --since 2h")  # the command, ready to copy
    walk.expect("done when: A deploy within the hour")
    answer(walk, "d", "evidence", "deploy 41 at 01:50")
    answer(walk, "u", "status update posted", "Investigating; rollback under way")
    walk.expect("step 2/4  rollback")
    answer(walk, "d", "evidence", "v40 at 100%")
    walk.expect("IRREVERSIBLE")
    answer(walk, "d")
    walk.expect("needs approval \\(incident-commander\\)")
    answer(walk, "a", "approved by", "bob")  # sre approves nothing
    walk.expect("may not give the incident-commander approval")
    answer(walk, "a")
    walk.expect("who may approve: carol, dave")
    walk.expect("approved by")
    walk.sendline("alice")  # the runner, recording her own approval
    walk.expect("cannot record their own approval")
    answer(walk, "a", "approved by", "carol")
    walk.expect("approved by carol")
    answer(walk, "i", "item", "tenant-a", "verdict", "purged", "item", "tenant-b", "verdict", "", "item", "")
    answer(walk, "d", "evidence", "generation +1 on both tenants")
    walk.expect("Walk its rollback")
    walk.sendline("n")
    walk.expect("end the run")
    walk.sendline("")
    walk.expect("ended runs/.*: mitigated")
    walk.expect(pexpect.EOF)
    walk.close()
    assert walk.exitstatus == 0
    kinds = [(e["event"], e.get("step"), e["actor"]) for e in events(kb)]
    assert kinds == [
        ("start", None, "alice"),
        ("done", "confirm-deploy", "alice"),
        ("note", "rollback", "alice"),
        ("done", "rollback", "alice"),
        ("approved", "purge-cache", "alice"),
        ("item", "purge-cache", "alice"),
        ("item", "purge-cache", "alice"),
        ("done", "purge-cache", "alice"),
        ("end", None, "alice"),
    ]
    assert [e.get("verdict") for e in events(kb) if e["event"] == "item"] == ["purged", "ok"]
    check = subprocess.run([sys.executable, "-m", "kb", "check"], cwd=kb, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_sigkill_mid_walk_then_resume(kb: Path, tmp_path: Path) -> None:
    env = environment(tmp_path)
    walk = spawn(kb, "--as", "bob", "--drill", env=env)
    answer(walk, "d", "evidence", "deploy 41")
    walk.expect("done: confirm-deploy")  # printed only after the event was fsynced
    answer(walk, "s", "why", "staging has no traffic")
    time.sleep(random.uniform(0, 0.3))  # then SIGKILL at a random instant: before, during or after the append
    walk.kill(signal.SIGKILL)
    try:
        walk.expect(pexpect.EOF, timeout=5)
    except pexpect.TIMEOUT:
        pass
    shown = walk.before if isinstance(walk.before, str) else ""
    walk.close()
    assert walk.signalstatus == signal.SIGKILL
    before = events(kb)
    skipped = [("skipped", "rollback")] if len(before) == 3 else []
    assert [(e["event"], e.get("step")) for e in before] == [("start", None), ("done", "confirm-deploy"), *skipped]
    if "skipped: rollback" in shown:
        assert skipped  # whatever the terminal confirmed is in the log
    if not skipped:  # killed before the append: the event is simply not there, and is entered again
        resumed = spawn(kb, "--as", "bob", "--resume", env=env)
        resumed.expect("step 2/4  rollback")
        answer(resumed, "s", "why", "staging has no traffic")
        resumed.expect("step 3/4")
        resumed.kill(signal.SIGKILL)
        resumed.close()
        before = events(kb)
    again = spawn(kb, "--as", "bob", env=env)  # no --resume: the open run is named, nothing started
    again.expect("has an open run")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 1 and len(list((kb / "runs").glob("*.jsonl"))) == 1
    resumed = spawn(kb, "--as", "alice", "--resume", env=env)  # a handover: alice takes over
    resumed.expect("DRILL")
    resumed.expect("resumed: 2 of 4 steps already done or skipped")
    resumed.expect("step 3/4  purge-cache")
    answer(resumed, "s", "why", "no tenant affected in staging")
    resumed.expect("ROLLBACK step 4/4  restore")  # a drill walks the rollback too
    answer(resumed, "d", "evidence", "v41 back at 100%")
    resumed.expect("end the run")
    resumed.sendline("mitigated")
    resumed.expect("drill against the targets")
    resumed.expect("last_drilled")
    resumed.expect(pexpect.EOF)
    resumed.close()
    after = events(kb)
    assert after[: len(before)] == before  # nothing lost, nothing rewritten
    assert [e["actor"] for e in after[len(before) :]] == ["alice", "alice", "alice"]


def test_yaml_values_never_reach_the_terminal_as_control_sequences(kb: Path, tmp_path: Path) -> None:
    card = kb / "cards" / f"{CARD}.yaml"
    text = card.read_text().replace(
        "do: Find the prompt deploy that lines up with the quality drop",
        'do: "Find the deploy \\e[2J\\e]0;pwned\\a now \\u202eevil"',  # ESC, BEL, a bidi override
    )
    card.write_text(text)
    env = environment(tmp_path)
    walk = spawn(kb, "--as", "alice", env=env)
    walk.expect("step 1/4")
    walk.expect(MENU)
    shown = walk.before
    walk.sendline("q")
    walk.expect(pexpect.EOF)
    walk.close()
    assert "\x1b[2J" not in shown and "\x1b]0;" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown
    assert re.search(r"\x1b\[[0-9;]*m", shown)  # rich still styles kb's own text on a terminal
