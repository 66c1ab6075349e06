"""Class 5: concurrent writers never lose an update. Two edits of the same file at once both
land (read-modify-write under a per-file lock), and parallel `kb new card` keep every
router line. Each race runs ROUNDS times in this process (threads: the real verbs, no
start-up cost) and counts lost updates, which must be 0. KB_RACE_ROUNDS raises the count
for a soak."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import yaml
from conftest import BASE_KB, complete_drill, copy_kb

ROUNDS = int(os.environ.get("KB_RACE_ROUNDS", "100"))
PM = "postmortems/PM-2026-001-queue.yaml"
REINFORCEMENTS = """status: review
reinforcements:
  - id: R1
    kind: test
    owner: team-dispatch
    due: 2026-12-15
    status: open
    test: {name: test_replay, path: tests/test_q.py, asserts: replay passes}
  - id: R2
    kind: test
    owner: team-dispatch
    due: 2026-12-15
    status: open
    test: {name: test_drain, path: tests/test_q.py, asserts: drain passes}
"""


def _race(*calls) -> None:
    """Run the calls at once, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def runner(call):
        try:
            barrier.wait()
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def _quiet(function, *args):
    def call():
        assert function(*args) == 0  # output goes to pytest's capture (redirecting per thread would race)

    return call


def _status_race(root: Path, rounds: int, verb: bool) -> int:
    """Lost updates when `done R1` and `wont-do R2` edit one postmortem at once: through the
    verb (which loads the KB first), or through the edit the verb makes, with the KB loaded
    once (the read-modify-write under test, at a hundred rounds a second)."""
    from kb.commands import followups
    from kb.edit.stamps import set_status
    from kb.load.loader import load_kb

    pm = root / PM
    original = pm.read_text().replace("status: draft\n", REINFORCEMENTS)
    pm.write_text(original)
    kb = load_kb(root)
    lost = 0
    for _ in range(rounds):
        pm.write_text(original)
        if verb:
            _race(
                _quiet(followups.set_item, "PM-2026-001", "R1", "done", None, root),
                _quiet(followups.set_item, "PM-2026-001", "R2", "wont_do", "covered by R1", root),
            )
        else:
            _race(
                lambda: set_status(kb, "PM-2026-001", "R1", "done"),
                lambda: set_status(kb, "PM-2026-001", "R2", "wont_do", "covered by R1"),
            )
        items = {r["id"]: r for r in yaml.safe_load(pm.read_text())["reinforcements"]}
        lost += (items["R1"]["status"] != "done") + (items["R2"]["status"] != "wont_do")
    return lost


def test_followups_done_and_wont_do_on_one_postmortem_lose_nothing(tmp_path: Path):
    lost = _status_race(copy_kb(BASE_KB, tmp_path / "kb"), ROUNDS, verb=False)
    assert lost == 0, f"{lost} lost updates in {ROUNDS} rounds"


def test_followups_verbs_racing_lose_nothing(tmp_path: Path):
    rounds = max(10, ROUNDS // 10)
    lost = _status_race(copy_kb(BASE_KB, tmp_path / "kb"), rounds, verb=True)
    assert lost == 0, f"{lost} lost updates in {rounds} rounds"


def test_card_verified_and_drilled_at_once_lose_nothing(tmp_path: Path):
    import datetime as dt

    from kb.commands import card
    from kb.edit.stamps import stamp_card
    from kb.load.loader import load_kb

    root = copy_kb(BASE_KB, tmp_path / "kb")
    path = root / "cards/queue-stuck.yaml"
    original = path.read_text()
    drill_day = complete_drill(root, "queue-stuck")  # `kb card drilled` stamps from a drill log (#19)
    kb = load_kb(root)
    day = dt.date(2026, 11, 22)
    lost = 0
    for number in range(ROUNDS):
        path.write_text(original)
        drilled = day.isoformat()
        if number % 10 == 0:  # one round in ten through the verbs themselves
            _race(_quiet(card.run, "verified", "queue-stuck", root), _quiet(card.run, "drilled", "queue-stuck", root))
            drilled = drill_day  # the verb stamps the drill log's day
        else:
            _race(
                lambda: stamp_card(kb, "queue-stuck", "last_verified", day),
                lambda: stamp_card(kb, "queue-stuck", "last_drilled", day),
            )
        data = yaml.safe_load(path.read_text())
        lost += (str(data.get("last_verified")) != "2026-11-22") + (str(data.get("last_drilled")) != drilled)
    assert lost == 0, f"{lost} lost updates in {ROUNDS} rounds"


def test_parallel_new_cards_keep_every_router_line(tmp_path: Path):
    from kb.commands import new

    writers = 8
    root = copy_kb(BASE_KB, tmp_path / "kb")
    router = root / "router.md"
    original = router.read_text()
    lost = total = 0
    for round_number in range(max(1, ROUNDS // writers) + 1):
        router.write_text(original)
        ids = [f"race-{round_number}-{i}" for i in range(writers)]
        _race(
            *(
                _quiet(
                    new.card, f"Race {i}", card_id, "sre-primary", "P2", "team", [f"Race{i}Alert"], None, False, root
                )
                for i, card_id in enumerate(ids)
            )
        )
        text = router.read_text()
        total += writers
        lost += sum(1 for card_id in ids if f"[{card_id}](cards/{card_id}.yaml)" not in text)
        assert text.startswith(original)
        for card_id in ids:
            (root / f"cards/{card_id}.yaml").unlink()
    assert lost == 0, f"{lost} router lines lost of {total}"
