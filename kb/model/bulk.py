"""Models loaded by the ten thousand (cards, postmortems) share their sets of set fields.

pydantic keeps on every model instance the set of field names the input gave
(`model_fields_set`): a set of 200 to 700 bytes per step, trigger, timeline entry..., a third
of a card's memory, and the same few sets over and over. After validation every model of a
card's or a postmortem's tree gets the one shared copy of its set. A shared set refuses to
change: setting an attribute on such a model (which would add to the set of every model that
shares it) fails loudly; model_copy (which copies the set first) works as before.
"""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import BaseModel

from kb.model.common import Strict


class SharedFieldsSet(set):
    """A model's fields set, shared with every model that was given the same fields."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this model's fields set is shared with other models: change a copy (model_copy)")

    add = update = discard = remove = pop = clear = _refuse
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __copy__(self) -> set[str]:
        return set(self)  # model_copy's copy, which it may update

    def __deepcopy__(self, memo: dict) -> set[str]:
        return set(self)

    def __reduce__(self) -> tuple:
        return (set, (list(self),))


_SHARED: dict[frozenset[str], SharedFieldsSet] = {}
_MAX_SHARED = 4096  # distinct sets are few (one per combination of optional fields); a bound all the same


def share_fields_sets(model: BaseModel) -> BaseModel:
    """Every model in `model`'s tree with the shared copy of its fields set."""
    stack: list[Any] = [model]
    setattr_ = object.__setattr__
    while stack:
        item = stack.pop()
        if isinstance(item, BaseModel):
            fields = item.__pydantic_fields_set__
            if type(fields) is set:
                key = frozenset(fields)
                shared = _SHARED.get(key)
                if shared is None and len(_SHARED) < _MAX_SHARED:
                    shared = _SHARED[key] = SharedFieldsSet(key)
                if shared is not None:
                    setattr_(item, "__pydantic_fields_set__", shared)
            stack.extend(value for value in item.__dict__.values() if not isinstance(value, (str, int, float)))
        elif type(item) in (list, tuple):
            stack.extend(value for value in item if not isinstance(value, (str, int, float)))
        elif type(item) is dict:
            stack.extend(value for value in item.values() if not isinstance(value, (str, int, float)))
    return model


class Bulk(Strict):
    """A document model: validated thousands of times per check, its instances share fields sets."""

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        return share_fields_sets(super().model_validate(obj, *args, **kwargs))
