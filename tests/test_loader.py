"""The YAML loader: YAML 1.2 meanings, refusals with positions, lazy positions."""

from __future__ import annotations

import time

import pytest

from kb.core import yamlio
from kb.core.diagnostics import Span
from kb.core.yamlio import YamlProblem


def load(text: str):
    return yamlio.load(text.encode())


def test_yaml_1_2_core_schema_meanings() -> None:
    data = load(
        "a: yes\nb: no\nc: on\nd: off\ne: 1:30\nf: 2026-10-02\ng: 0o17\nh: 0x1F\ni: true\nj: ~\n"
        "k: 1e3\nl: .inf\nm: 012\nn: '3'\no: !!str 7\n"
    )
    assert data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "off",
        "e": "1:30",
        "f": "2026-10-02",
        "g": 15,
        "h": 31,
        "i": True,
        "j": None,
        "k": 1000.0,
        "l": float("inf"),
        "m": 12,
        "n": "3",
        "o": "7",
    }


def test_unquoted_colon_in_flow_list_is_accepted() -> None:
    assert load("requires: [deploy:rollback, traces:read:agent-workspace]\n") == {
        "requires": ["deploy:rollback", "traces:read:agent-workspace"]
    }


def test_block_and_flow_lists_are_the_same() -> None:
    assert load("a: [x, y]\n") == load("a:\n  - x\n  - y\n")


@pytest.mark.parametrize(
    ("text", "span", "fragment"),
    [
        ("a: 1\nb:\n\t- x\n", (3, 1), "tab character"),
        ("a: 1\nb: 2\na: 3\n", (3, 1), "duplicate key 'a' (first set on line 1)"),
        ("a: !!python/object:os.system {}\n", (1, 4), "not allowed"),
        ("a: !!binary aGVsbG8=\n", (1, 4), "not allowed"),
        ("a: !custom x\n", (1, 4), "not allowed"),
        ("a: !!int x\n", (1, 4), "not a valid !!int"),
        ("a: [1, 2\n", (2, 1), "YAML syntax error"),
        ("a: 1\n---\nb: 2\n", (2, 1), "more than one YAML document"),
        ("? [a, b]\n: 1\n", (1, 3), "mapping key must be a plain value"),
        ("a: 1\x00\n", (1, 5), "NUL byte"),
    ],
)
def test_refusals_have_positions(text: str, span: tuple[int, int], fragment: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load(text)
    assert (caught.value.span.line, caught.value.span.column) == span
    assert fragment in caught.value.message


def test_non_utf8_points_at_the_byte() -> None:
    with pytest.raises(YamlProblem) as caught:
        yamlio.load(b"a: ok\nb: caf\xe9\n")
    assert caught.value.span == Span(2, 7, 2, 8)


def test_bom_and_crlf_are_accepted() -> None:
    assert yamlio.load(b"\xef\xbb\xbfa: 1\r\nb: two\r\n") == {"a": 1, "b": "two"}


def test_size_limit() -> None:
    with pytest.raises(YamlProblem, match="over the 2,048-byte limit"):
        yamlio.load(b"a: " + b"x" * 3000, max_bytes=2048)


def test_alias_bomb_is_refused_fast() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(YamlProblem, match="alias bomb"):
        load("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1.0


def test_small_aliases_are_fine() -> None:
    assert load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_deep_flow_nesting_is_refused_before_parsing() -> None:
    with pytest.raises(YamlProblem, match="nested more than 64"):
        load("a: " + "[" * 100_000 + "]" * 100_000 + "\n")


def test_deep_block_nesting_is_refused() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(80)) + "  " * 80 + "v\n"
    with pytest.raises(YamlProblem, match="nested more than 64"):
        load(text)


def test_empty_and_non_mapping_files() -> None:
    with pytest.raises(YamlProblem, match="file is empty"):
        yamlio.load_mapping(b"# only a comment\n")
    with pytest.raises(YamlProblem, match="found a list"):
        yamlio.load_mapping(b"- a\n")
    with pytest.raises(YamlProblem, match="single value"):
        yamlio.load_mapping(b"just text\n")


def test_locate_finds_value_key_and_missing_parent() -> None:
    text = "a:\n  b:\n    - x: 1\n      y: two\n"
    assert yamlio.locate(text, ("a", "b", 0, "y")).span == Span(4, 10, 4, 13)
    assert yamlio.locate(text, ("a", "b", 0, "y"), at="key").span.column == 7
    missing = yamlio.locate(text, ("a", "b", 0, "z"))
    assert not missing.exact and missing.span.line == 3
    assert yamlio.locate(text, ("a", "SomeModelName", "b", 0, "x")).span.line == 3
