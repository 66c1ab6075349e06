"""The compact forms a cold check keeps in memory answer exactly as the values they replace:
interned YAML strings, compressed record values, and the load helper's stream decoded file
by file (issue #20: memory)."""

from __future__ import annotations

import marshal
import zlib

import pytest

from kb.core import yamlio
from kb.core.diagnostics import Finding, LoadProblem, Span
from kb.load.parallel import Received
from kb.load.parse import Parsed
from kb.load.records import decode_value, encode_value

VALUES = [
    {},
    {"id": "a", "steps": [{"id": "s", "do": "x", "requires": ["a:b", "a:b"]}], "n": 1, "f": 1.5, "t": True, "z": None},
    {"nested": {"deep": [[1, 2], {"k": "v" * 5000}]}, "unicode": "héllo ☃ \U0001f600", "big": 10**30},
    {"same": ["repeated"] * 100},
]


def test_yaml_strings_are_one_object_per_value_and_values_are_unchanged() -> None:
    text = b"owner: team-payments\nservices: [team-payments, 'team-payments', \"team-payments\"]\ntitle: |\n  x\n"
    first, second = yamlio.load_mapping(text), yamlio.load_mapping(text)
    assert first == second == {"owner": "team-payments", "services": ["team-payments"] * 3, "title": "x\n"}
    assert first["owner"] is second["owner"] and all(s is first["owner"] for s in first["services"])
    # YAML 1.2 meanings are kept: only strings are interned
    assert yamlio.load_mapping(b"a: yes\nb: 0x1F\nc: ~\nd: '7'\n") == {"a": "yes", "b": 31, "c": None, "d": "7"}


@pytest.mark.parametrize("value", VALUES)
def test_a_record_value_round_trips(value: dict) -> None:
    encoded = encode_value(value)
    assert encoded is not None and len(encoded) < len(marshal.dumps(value)) + 16
    assert decode_value(encoded) == value
    assert encode_value(None) is None


def test_a_damaged_or_oversized_record_value_is_refused() -> None:
    encoded = encode_value(VALUES[1])
    assert encoded is not None
    for bad in (encoded[:-3], b"not zlib", zlib.compress(marshal.dumps([1, 2]))):
        with pytest.raises((ValueError, TypeError)):
            decode_value(bad)
    import kb.load.records as records

    bomb = zlib.compress(marshal.dumps({"x": "a" * 100_000}), 1)
    limit, records.MAX_VALUE = records.MAX_VALUE, 1000
    try:
        with pytest.raises(ValueError):
            decode_value(bomb)
    finally:
        records.MAX_VALUE = limit


def _parsed(rel: str, line: int) -> Parsed:
    finding = Finding(rel, "bad", span=Span(line, 1, line, 2), problem=LoadProblem.YAML)
    return Parsed([1, 2, 3, 4], "digest", (False, True), {"id": rel}, [finding], (("v", frozenset({"KB701"})),))


def _stream(items: list[tuple | None], cut: int = 0) -> bytearray:
    """The helper's stream (kb.load.parallel): a count, then length-prefixed marshal items."""
    out = bytearray(sum(item is not None for item in items).to_bytes(4, "little"))
    for item in items:
        data = marshal.dumps(item)
        out += len(data).to_bytes(4, "little") + data
    return out[: len(out) - cut] if cut else out


def test_the_helper_stream_gives_each_file_once_in_any_order() -> None:
    rels = [f"cards/c{i}.yaml" for i in range(5)]
    items: list[tuple | None] = [_parsed(rel, i + 1).to_plain(rel) for i, rel in enumerate(rels)]
    items[2] = None  # a file the helper could not read: kb reads it itself
    received = Received(_stream(items))
    assert len(received) == 4
    assert received.pop(rels[3]) == _parsed(rels[3], 4)  # out of order: the ones before wait
    assert received.pop(rels[0]) == _parsed(rels[0], 1)
    assert received.pop(rels[2]) is None
    assert received.pop(rels[1]) == _parsed(rels[1], 2)
    assert received.pop(rels[1]) is None  # taken once
    assert received.pop(rels[4]) == _parsed(rels[4], 5)
    assert received.data is None and not received.ahead  # everything released


@pytest.mark.parametrize("cut", [1, 5, 30])
def test_a_cut_or_damaged_stream_gives_what_decodes_and_nothing_else(cut: int) -> None:
    rels = ["a.yaml", "b.yaml"]
    received = Received(_stream([_parsed(rel, 1).to_plain(rel) for rel in rels], cut))
    assert received.pop("a.yaml") == _parsed("a.yaml", 1)
    assert received.pop("b.yaml") is None
    damaged = _stream([_parsed("a.yaml", 1).to_plain("a.yaml"), ("b.yaml", "not", "a", "reading")])
    received = Received(damaged)
    assert received.pop("b.yaml") is None and received.pop("a.yaml") == _parsed("a.yaml", 1)
    assert len(Received(bytearray())) == 0 and Received(bytearray()).pop("a.yaml") is None
