"""Memory at 10,000 cards: models share their fields sets (kb.model.bulk), and the check state
is a zlib stream written record by record (kb.cache.incremental). Neither changes an answer."""

from __future__ import annotations

import marshal
import zlib
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

from kb.cache import incremental, store
from kb.load.loader import load_kb
from kb.model import Card, Postmortem
from kb.model.bulk import SharedFieldsSet

CARD = {
    "id": "queue-stuck",
    "title": "Queue stuck",
    "summary": "Jobs pending.",
    "owner": "team",
    "rotation": "sre-primary",
    "priority": "P2",
    "triggers": {"alerts": ["QueueStalled"]},
    "steps": [
        {"id": "a", "do": "Resume", "run": "queuectl resume", "requires": ["queue:pause:d"], "done_when": "Falls"},
        {"id": "b", "do": "Look", "done_when": "Known"},
    ],
}


def test_models_share_fields_sets_and_answer_as_unshared_ones() -> None:
    first, second = Card.model_validate(CARD), Card.model_validate(CARD)
    plain = Card.__pydantic_validator__.validate_python(CARD)  # pydantic's own, unshared
    assert type(first.__pydantic_fields_set__) is SharedFieldsSet
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.steps[0].__pydantic_fields_set__ is second.steps[0].__pydantic_fields_set__
    assert first.steps[0].__pydantic_fields_set__ is not first.steps[1].__pydantic_fields_set__  # other fields given
    assert first == plain and first.model_fields_set == plain.model_fields_set
    assert first.model_dump(exclude_unset=True) == plain.model_dump(exclude_unset=True) == CARD
    assert first.model_dump_json(exclude_unset=True) == plain.model_dump_json(exclude_unset=True)
    copied = first.model_copy(update={"title": "Other"})
    assert copied.title == "Other" and first.title == "Queue stuck" and type(copied.__pydantic_fields_set__) is set
    assert first.model_copy(deep=True) == plain


def test_a_shared_fields_set_refuses_to_change() -> None:
    first, second = Card.model_validate(CARD), Card.model_validate({**CARD, "last_drilled": None})
    with pytest.raises(TypeError):
        first.title = "Changed"  # would mark the field set on every card that shares the set
    with pytest.raises(TypeError):
        first.__pydantic_fields_set__.add("last_drilled")
    assert "last_drilled" not in Card.model_validate(CARD).model_fields_set
    assert "last_drilled" in second.model_fields_set


def test_postmortems_share_too() -> None:
    data = {
        "id": "PM-2026-001",
        "title": "Queue stalled",
        "status": "draft",
        "priority": "P2",
        "started_at": "2026-11-03T01:52:00+00:00",
        "timeline": [{"at": "2026-11-03T02:14:00+00:00", "actor": "system", "event": f"E{i}"} for i in range(3)],
        "model_inference": {"involved": False, "why_not": "No agent."},
    }
    model = Postmortem.model_validate(data)
    sets = {id(entry.__pydantic_fields_set__) for entry in model.timeline}
    assert len(sets) == 1 and model == Postmortem.__pydantic_validator__.validate_python(data)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))


def _check(root: Path) -> incremental.Session:
    session = incremental.start(root, "key")
    kb = load_kb(root, session)
    incremental.finish(root, kb.settings, session, [], None, [d.path for d in kb.postmortems])
    return session


def test_state_round_trips_and_damage_is_a_cold_run(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    first = _check(root)
    state = incremental.read_state(root)
    assert state is not None and state.records.keys() == first.records.keys()
    for path, record in first.records.items():
        assert state.records[path] == record
    raw = store.read_bytes(root, incremental.STATE_FILE)
    assert raw is not None
    for damaged in (
        raw[: len(raw) // 2],  # truncated stream
        zlib.compress(marshal.dumps({"format": incremental.FORMAT})),  # a head without its fields
        raw + zlib.compress(b"more"),  # trailing data after the stream
        zlib.compress(zlib.decompress(raw) + b"\x00"),  # a byte after the last record
        b"x" * 100,
    ):
        store.write_bytes(root, incremental.STATE_FILE, damaged)  # sealed: only the content is wrong
        assert incremental.read_state(root) is None
    assert _check(root).previous is None
