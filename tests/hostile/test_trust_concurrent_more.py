"""Class 5, more writers at once: two `kb emit` racing leave one complete, current set (no
part of one and part of the other, no stale part left, no temp); `kb new card --branch`
racing a plain `kb new card` keeps both router lines in the working tree (the branch run
appends its line under the same router lock after its commit). Rounds count lost updates,
which must be 0; KB_RACE_ROUNDS raises them."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from conftest import BASE_KB, copy_kb

ROUNDS = int(os.environ.get("KB_RACE_ROUNDS", "100"))
ENV = {
    "GIT_AUTHOR_NAME": "kb-test",
    "GIT_AUTHOR_EMAIL": "kb@test",
    "GIT_COMMITTER_NAME": "kb-test",
    "GIT_COMMITTER_EMAIL": "kb@test",
}


def _race(*calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []
    errors: list[BaseException] = []

    def runner(call):
        try:
            barrier.wait()
            codes.append(call())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return codes


def test_two_emits_at_once_leave_one_complete_current_set(tmp_path: Path, capsys):
    from kb.commands import emit

    root = copy_kb(BASE_KB, tmp_path / "kb")
    rules = root / "rules"
    rounds = max(10, ROUNDS // 10)
    bad = 0
    for number in range(rounds):
        if number % 2 == 0:  # every other round from nothing, the others over the current set
            for name in ("kb.rules.yml", "gates.yml", "evals.jsonl"):
                (rules / name).unlink(missing_ok=True)
        codes = _race(lambda: emit.run(root=root), lambda: emit.run(root=root))
        capsys.readouterr()
        assert codes == [0, 0], codes
        check = emit.run(check_only=True, root=root)
        capsys.readouterr()
        leftovers = [p.name for p in rules.iterdir() if p.name.endswith((".kbtmp", ".journal"))]
        bad += check != 0 or bool(leftovers)
    assert bad == 0, f"{bad} of {rounds} racing emits left a wrong or partial set"


def test_new_card_with_and_without_branch_keep_both_router_lines(tmp_path: Path, capsys):
    from kb.commands import new

    root = copy_kb(BASE_KB, tmp_path / "kb")
    git = ["git", "-c", "init.defaultBranch=main"]
    env = {**os.environ, **ENV}
    subprocess.run([*git, "init", "-q"], cwd=root, check=True, env=env)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True, env=env)
    saved = dict(os.environ)
    os.environ.update(ENV)
    rounds = max(5, ROUNDS // 20)  # a branch run is a dozen git processes
    lost = 0
    try:
        for number in range(rounds):
            plain, branched = f"plain-{number}", f"branched-{number}"
            _race(
                lambda p=plain: new.card(p, p, "sre-primary", "P2", "team", [f"PlainAlert{p[6:]}"], None, False, root),
                lambda b=branched: new.card(
                    b, b, "sre-primary", "P2", "team", [f"BranchAlert{b[9:]}"], None, True, root
                ),
            )
            capsys.readouterr()
            text = (root / "router.md").read_text()
            lost += (f"[{plain}](cards/{plain}.yaml)" not in text) + (
                f"[{branched}](cards/{branched}.yaml)" not in text
            )
            assert (root / f"cards/{plain}.yaml").is_file() and (root / f"cards/{branched}.yaml").is_file()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert lost == 0, f"{lost} router lines lost in {rounds} rounds"
