"""Models loaded by the ten thousand (cards, postmortems) share their sets of set fields.

pydantic keeps on every model instance the set of field names the input gave
(`model_fields_set`): a set of 200 to 700 bytes per step, trigger, timeline entry..., a third
of a card's memory, and the same few sets over and over. After validation every model of a
card's or a postmortem's tree gets the one shared copy of its set. A shared set refuses to
change: setting an attribute on such a model (which would add to the set of every model that
shares it) fails loudly; model_copy (which copies the set first) works as before.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Annotated, Any, Literal, NoReturn, get_args, get_origin

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
    """Every model in `model`'s tree with the shared copy of its fields set. Of a model, only
    the values of the fields whose type may hold a model are walked (_walked_fields)."""
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
            values = item.__dict__
            walked = _WALKED.get(type(item))
            if walked is None:
                walked = _WALKED[type(item)] = _walked_fields(type(item))
            if walked is _EVERY_FIELD or len(values) != walked[1]:
                stack.extend(value for value in values.values() if not isinstance(value, (str, int, float)))
            else:
                for name in walked[0]:
                    value = values.get(name)
                    if value is not None and not isinstance(value, (str, int, float)):
                        stack.append(value)
        elif type(item) in (list, tuple):
            stack.extend(value for value in item if not isinstance(value, (str, int, float)))
        elif type(item) is dict:
            stack.extend(value for value in item.values() if not isinstance(value, (str, int, float)))
    return model


_EVERY_FIELD: Any = object()  # walk every value of a model whose fields kb cannot read
_WALKED: dict[type, Any] = {}
_LEAVES = (str, int, float, bool, bytes, type(None), date, datetime, time, timedelta, Enum)


def _walked_fields(cls: type[BaseModel]) -> Any:
    """(names of the fields whose declared type may hold a model, the number of fields) of a
    model class; _EVERY_FIELD when kb cannot tell (a model with extra fields or an annotation
    it does not read). A value of a field typed str, a Literal, a date... never holds a model."""
    if cls.model_config.get("extra") == "allow":
        return _EVERY_FIELD
    names = tuple(name for name, info in cls.model_fields.items() if _may_hold(info.annotation))
    return names, len(cls.model_fields)


def _may_hold(annotation: Any) -> bool:
    """Whether a value of this type may be or hold a model (True when kb cannot tell)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return False
    if origin is not None:  # list[X], dict[K, V], X | None, Annotated[X, ...]
        args = get_args(annotation)
        if origin is Annotated:
            return _may_hold(args[0])
        return not args or any(_may_hold(arg) for arg in args if arg is not Ellipsis)
    if isinstance(annotation, type):
        return not issubclass(annotation, _LEAVES)
    return True


class Bulk(Strict):
    """A document model: validated thousands of times per check, its instances share fields sets."""

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        return share_fields_sets(super().model_validate(obj, *args, **kwargs))
