"""kb.model.bulk walks, of each model, only the fields whose type may hold a model: after
validation every model of a card's and a postmortem's tree (found by walking every value, as
before) has a shared fields set, and it is the set the model was given."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel

from kb.core import yamlio
from kb.model.bulk import Bulk, SharedFieldsSet, _may_hold
from kb.model.card import Card
from kb.model.postmortem import Postmortem

FIXTURES = Path(__file__).parent / "fixtures"


def _every_model(model: BaseModel) -> list[BaseModel]:
    """The walk share_fields_sets made before: every value of every model, list and dict."""
    found, stack = [], [model]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            found.append(item)
            stack.extend(item.__dict__.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def test_every_model_of_every_fixture_document_shares_its_fields_set() -> None:
    checked = 0
    for folder, model in (("cards", Card), ("postmortems", Postmortem)):
        for path in sorted(FIXTURES.rglob(f"{folder}/*.yaml")):
            try:
                data = yamlio.load_mapping(path.read_bytes(), 10**7)
                doc = model.model_validate(data)
            except Exception:  # fixtures of invalid documents
                continue
            reference = super(Bulk, model).model_validate(data)  # pydantic's own: sets not shared
            for item, again in zip(_every_model(doc), _every_model(reference), strict=True):
                assert type(item.__pydantic_fields_set__) is SharedFieldsSet, (path, type(item))
                assert type(again.__pydantic_fields_set__) is set
                assert set(item.__pydantic_fields_set__) == again.__pydantic_fields_set__
                checked += 1
    assert checked > 50


def test_types_that_may_hold_a_model() -> None:
    class Inner(BaseModel):
        x: int = 0

    assert not any(_may_hold(t) for t in (str, int, bool, Literal["a"], str | None, list[str], dict[str, int]))
    assert all(_may_hold(t) for t in (Inner, list[Inner], Inner | None, dict[str, Inner], Any, object))
    assert _may_hold(Annotated[list[Inner], "x"]) and not _may_hold(Annotated[str, "x"])
    assert _may_hold(tuple[int, ...]) is False and _may_hold(tuple[Inner, ...])
