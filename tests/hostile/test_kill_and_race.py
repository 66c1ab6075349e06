"""SIGKILL at random points: every file is the old or the new version, and no temp is left.

A kill in the window between linking a replacement under a temp name and renaming it over
the target (two system calls) parks that temp in `.git/kb-tmp`, never in the tree; the next
kb write removes it, which the test checks too.

Each iteration forks a child that runs the real CLI command in-process (the modules are
already imported, so the kill lands anywhere in the command's own work rather than in
interpreter start-up), kills it with SIGKILL after a random delay within the command's
measured duration (stratified: iteration i of n lands in the i-th n-th of it, so a few
iterations cover the whole run), and checks every file of the KB against the versions it
may hold. KB_SLOW_TESTS=1 (or KB_KILL_ITERATIONS) kills more often.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB, copy_kb, rounds

from kb.commands import check

# per command, spread evenly over its run: 20 (80 kills in all), 60 with KB_SLOW_TESTS=1
ITERATIONS = rounds("KB_KILL_ITERATIONS", 20, 60)
PM_FILE = "postmortems/PM-2026-011-rotation-could-not-roll-back.yaml"


def _run_in_child(root: Path, args: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: the real typer app, then a hard exit (no pytest teardown in the child)
        code = 1
        try:
            os.chdir(root)
            sys.stdout = open(os.devnull, "w")
            sys.stderr = open(os.devnull, "w")
            from kb.cli import app

            app(args, standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    return pid


def _parked(root: Path) -> list[str]:
    parked = root / ".git" / "kb-tmp"
    return sorted(p.name for p in parked.iterdir()) if parked.is_dir() else []


def _snapshot(root: Path) -> dict[str, bytes]:
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]  # git's own files are git's business
        for name in filenames:
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _duration(root: Path, args: list[str], reset) -> float:
    reset()
    started = time.monotonic()
    pid = _run_in_child(root, args)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"kb {' '.join(args)} failed without a kill"
    return time.monotonic() - started


def _kill_loop(root: Path, args: list[str], reset, allowed) -> dict:
    """`allowed(path, content)` says whether a file may hold this content after a kill."""
    full = _duration(root, args, reset)
    stats = {"iterations": 0, "killed": 0, "partial": 0, "temps": 0, "parked": 0}
    parked: set[str] = set()
    rng = random.Random(20261122)
    for iteration in range(ITERATIONS):
        reset()
        pid = _run_in_child(root, args)
        # stratified: one kill in each slice of the run (and just past it), at a random instant of the slice
        time.sleep(full * 1.1 * (iteration + rng.random()) / ITERATIONS)
        try:
            os.kill(pid, signal.SIGKILL)
            stats["killed"] += 1
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        stats["iterations"] += 1
        after = _snapshot(root)
        temps = [p for p in after if p.endswith(".kbtmp")]
        stats["temps"] += len(temps)
        bad = [p for p, content in after.items() if not p.endswith(".kbtmp") and not allowed(p, content)]
        stats["partial"] += len(bad)
        parked.update(_parked(root))
        stats["parked"] = len(parked)  # temps a kill left in .git/kb-tmp, swept by the next write
        assert not temps, f"temp files left after a kill: {temps}"
        assert not bad, f"partial or unexpected files after a kill: {bad}"
    return stats


@pytest.fixture
def kb_repo(tmp_path: Path) -> Path:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "kb"], cwd=root, check=True)
    return root


def _restore(root: Path, original: dict[str, bytes]):
    def reset() -> None:
        for rel in list(_snapshot(root)):
            if rel not in original and not rel.startswith(".git/"):
                (root / rel).unlink()
        for rel, content in original.items():
            if not rel.startswith(".git/") and (root / rel).read_bytes() != content:
                (root / rel).write_bytes(content)

    return reset


def _versions(root: Path, args: list[str], reset) -> dict[str, set[bytes]]:
    """Every file's old and new version: the snapshot before and after an unkilled run."""
    reset()
    before = _snapshot(root)
    pid = _run_in_child(root, args)
    os.waitpid(pid, 0)
    after = _snapshot(root)
    versions: dict[str, set[bytes]] = {}
    for snap in (before, after):
        for rel, content in snap.items():
            versions.setdefault(rel, set()).add(content)
    return versions


COMMANDS = {
    "new-postmortem": [
        "new",
        "postmortem",
        "--title",
        "Dispatcher looped on a stale lease",
        "--priority",
        "P2",
        "--started-at",
        "2026-11-20T02:17:00+00:00",
    ],
    "emit": ["emit"],
    "followups-done": ["followups", "done", "PM-2026-011", "R2"],
    "card-verified": ["card", "verified", "queue-stuck"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_sigkill_leaves_old_or_new_never_partial(kb_repo: Path, command: str) -> None:
    args = COMMANDS[command]
    original = _snapshot(kb_repo)
    reset = _restore(kb_repo, original)
    if command == "emit":  # make emit rewrite: its files start out of date
        rules = kb_repo / "rules" / "kb" / "alerts" / "PM-2026-004.yml"
        original["rules/kb/alerts/PM-2026-004.yml"] = rules.read_bytes().replace(b"\n", b"\n# stale\n", 3)
    versions = _versions(kb_repo, args, reset)
    changed = [rel for rel, v in versions.items() if len(v) > 1 or rel not in original]
    assert changed, f"kb {' '.join(args)} changed nothing: the test would prove nothing"

    def allowed(rel: str, content: bytes) -> bool:
        return rel.startswith(".git/") or content in versions.get(rel, set())

    stats = _kill_loop(kb_repo, args, reset, allowed)
    assert stats["iterations"] == ITERATIONS and stats["killed"] > ITERATIONS // 3, stats
    _versions(kb_repo, args, reset)  # one more write sweeps whatever a kill parked
    assert _parked(kb_repo) == [], "a temp parked by a killed writer outlived the next write"
    print(f"\n{command}: {stats}")


def _racing(root: Path, args: list[str], count: int) -> list[tuple[int, str, str]]:
    """`kb ARGS` (kb.cli.main: the fast path, the typer app, the last-resort error handler) in
    `count` forked processes released at the same instant: (exit code, stdout, stderr) of each."""
    from kb.cli import main  # imported before the fork: the children race in kb's work, not in imports

    go_read, go_write = os.pipe()
    children = []
    for number in range(count):
        out, err = root.parent / f"race-{number}.out", root.parent / f"race-{number}.err"
        pid = os.fork()
        if pid == 0:  # the child: wait for the start, then the real CLI; a hard exit (no pytest teardown)
            code = 3
            try:
                os.close(go_write)
                os.chdir(root)
                sys.stdout, sys.stderr = open(out, "w"), open(err, "w")
                sys.argv = ["kb", *args]
                os.read(go_read, 1)
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 3
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append((pid, out, err))
    os.close(go_read)
    os.write(go_write, b"g" * count)  # both start now
    os.close(go_write)
    results = []
    for pid, out, err in children:
        _, status = os.waitpid(pid, 0)
        results.append((os.waitstatus_to_exitcode(status), out.read_text(), err.read_text()))
    return results


def test_two_new_postmortems_at_once_never_overwrite(kb_repo: Path, call) -> None:
    for round_number in range(4):
        before = set(_snapshot(kb_repo))
        args = [
            "new",
            "postmortem",
            "--title",
            f"Race {round_number}",
            "--priority",
            "P3",
            "--started-at",
            "2026-11-21T03:00:00+00:00",
        ]
        results = _racing(kb_repo, args, 2)
        codes = [code for code, _, _ in results]
        outputs = [(out, err) for _, out, err in results]
        for out, err in outputs:
            assert "Traceback" not in out + err
        created = sorted(set(_snapshot(kb_repo)) - before)
        created = [c for c in created if c.startswith("postmortems/")]
        assert len(created) == codes.count(0), (codes, outputs, created)
        assert codes.count(0) >= 1 and all(c in (0, 1, 2) for c in codes), (codes, outputs)
        ids = [c.split("/")[1][:11] for c in created]
        assert len(set(ids)) == len(ids), f"two postmortems got one id: {created}"
        for rel in created:
            assert f"Race {round_number}".encode() in (kb_repo / rel).read_bytes()
    checked = call(check.run, select=["KB100,KB110,KB121"], root=kb_repo)
    assert checked.returncode == 0, checked.stdout
