"""kb emit's dumper with the representer cut short (issue #20) writes the bytes PyYAML's own
safe representer and libyaml's emitter write, on varied data: every kind kb emit dumps,
strings YAML must quote, shared objects (aliases), and kinds that take PyYAML's own way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.emit.build import _dump, _dump_reference

TRICKY = ["", "null", "~", "true", "no", "1", "0x1f", "1e3", "- a", "a: b", "#x", "x #y", "é", "'q'", '"q"', " pad "]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.sampled_from(TRICKY),
    st.text(max_size=30),
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None)
@given(DATA)
def test_the_fast_dumper_writes_the_bytes_of_pyyaml(data) -> None:
    assert _dump(data) == _dump_reference(data)


def test_a_shared_object_is_still_an_alias() -> None:
    shared = {"agent": "research"}
    data = {"a": shared, "b": [shared, shared], "c": {"d": shared}}
    assert "&id001" in _dump(data)
    assert _dump(data) == _dump_reference(data)
