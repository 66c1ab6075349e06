"""kb's YAML builder takes untagged plain keys and leaf values inline (no call per leaf, no
checks a plain scalar cannot fail): the same values, the same refusals at the same nodes, and
the same rewritten strings as the builder it replaced, kept here as the reference."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kb.core import yamlio
from kb.core.yamlio import MAX_DEPTH, PLAIN, YamlProblem, node_span, resolve_plain

ROOT = Path(__file__).parent.parent


class _Reference(yamlio._Builder):
    """The builder as it was: one build() call per node, every key through scalar()."""

    def build(self, node: Node, depth: int = 0) -> Any:
        if type(node) is ScalarNode and node.tag == PLAIN:
            self.count += 1
            if self.count > yamlio.MAX_NODES:
                raise YamlProblem("too many", node_span(node))
            value = resolve_plain(node.value)
            if self.rewritten is not None and node.start_mark.line != node.end_mark.line and type(value) is str:
                self.rewritten.append((value, node))
            return value
        self.count += 1
        if self.count > yamlio.MAX_NODES:
            raise YamlProblem("too many", node_span(node))
        if depth > MAX_DEPTH:
            raise YamlProblem(f"collections nested more than {MAX_DEPTH} deep", node_span(node))
        if self.env_tag and node.tag == "!ENV":
            return self.env(node, depth)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, MappingNode):
            if node.tag != yamlio._MAP and not self.lenient_tags:
                raise self.bad_tag(node)
            result: dict[Any, Any] = {}
            first_seen: dict[Any, Node] = {}
            merged: list[dict[Any, Any]] = []
            for key_node, value_node in node.value:
                if (
                    self.merge_keys
                    and type(key_node) is ScalarNode
                    and key_node.tag == PLAIN
                    and key_node.value == "<<"
                ):
                    merged += self.merge_sources(value_node, depth)
                    continue
                if not isinstance(key_node, ScalarNode):
                    raise YamlProblem("a mapping key must be a plain value, not a list or mapping", node_span(key_node))
                key = self.scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise YamlProblem("unsupported mapping key", node_span(key_node))
                if key in first_seen:
                    first = first_seen[key].start_mark.line + 1
                    raise YamlProblem(f"duplicate key '{key}' (first set on line {first})", node_span(key_node))
                first_seen[key] = key_node
                result[key] = self.build(value_node, depth + 1)
            for source in merged:
                for key, value in source.items():
                    result.setdefault(key, value)
            return result
        if isinstance(node, SequenceNode):
            if node.tag != yamlio._SEQ and not self.lenient_tags:
                raise self.bad_tag(node)
            return [self.build(item, depth + 1) for item in node.value]
        raise YamlProblem("unsupported YAML node", node_span(node))


def _outcome(builder_class: type, text: str, **flags: bool) -> tuple:
    rewritten: list = []
    try:
        node = yamlio.compose(text)
        value = None if node is None else builder_class(rewritten=rewritten, **flags).build(node)
    except YamlProblem as problem:
        message = "too many" if problem.message.startswith("more than") else problem.message
        return ("refused", message, problem.span)
    return (
        "built",
        repr(value),
        [(v, yamlio.rewritten_span(item)) for v, item in zip([r[0] for r in rewritten], rewritten)],
    )


FLAGS = [{}, {"merge_keys": True, "lenient_tags": True}, {"lenient_tags": True}]

PIECES = [
    "a: 1",
    "a: yes",
    "'a': x",
    '"a\\x41": y',
    "!!str 7: z",
    "!!int 7: z",
    "? [k]\n: v",
    "1: one",
    "1.0: one",
    "true: t",
    "~: n",
    "a: |\n  block\n  text",
    "a: >-\n  folded\n  text",
    "a: plain\n  folded over",
    "folded\n  key: v",
    "<<: {m: 1}",
    "<<: [{m: 1}, {n: 2}]",
    "<<: 3",
    "a: &x {p: 1}",
    "b: *x",
    "a: !!binary aGk=",
    "a: !custom x",
    "a: [1, two, 'three', [4, {five: 5}]]",
    "a: {b: {c: {d: [e]}}}",
    "a: !!map {b: 1}",
    "a: !!seq [1]",
    "a: !!float 1",
    "a: !!bool maybe",
    "a: 0x1F",
    "a: 2026-10-02",
]


def _documents(count: int) -> list[str]:
    rnd = random.Random(2026)
    docs = []
    for _ in range(count):
        lines = [rnd.choice(PIECES) for _ in range(rnd.randint(1, 6))]
        docs.append("\n".join(lines) + "\n")
    return docs


@pytest.mark.parametrize("flags", FLAGS, ids=["kb", "rules", "lenient"])
def test_builder_matches_the_reference_on_generated_documents(flags: dict) -> None:
    docs = _documents(600)
    assert {_outcome(_Reference, d, **flags)[0] for d in docs} == {"built", "refused"}
    for doc in docs:
        assert _outcome(yamlio._Builder, doc, **flags) == _outcome(_Reference, doc, **flags), doc


def test_builder_matches_the_reference_on_real_files() -> None:
    paths = sorted(
        p
        for pattern in ("*.yaml", "*.yml")
        for p in [*(ROOT / "tests" / "fixtures").rglob(pattern), *(ROOT / "examples").rglob(pattern)]
        if p.is_file() and p.stat().st_size < 2_000_000
    )
    assert len(paths) > 50
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for flags in FLAGS[:2]:
            assert _outcome(yamlio._Builder, text, **flags) == _outcome(_Reference, text, **flags), path


def test_alias_bomb_refused_at_the_same_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_NODES", 2000)  # the same refusal, sooner
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(5)
    )
    assert _outcome(yamlio._Builder, bomb) == _outcome(_Reference, bomb)
    assert _outcome(yamlio._Builder, bomb)[0] == "refused"
