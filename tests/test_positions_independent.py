"""The line:col of a finding is the contract: kb's position of every node of varied YAML
shapes (flow mappings, folded and quoted multi-line scalars, anchors and aliases, comments,
CRLF, a BOM, tabs inside values, non-ASCII text) is where ruamel.yaml, a different YAML
parser, puts the same node. kb reads the file as the check does before placing findings
(yamlio.decode, then locate); ruamel reads the text without its BOM."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from kb.core import yamlio

SHAPES = {
    "block and flow": (
        "id: c1\nsteps:\n  - id: s1\n    requires: [a:read:prod, 'b:write:prod']\n    done_when: >\n"
        '      folded\n      text\n  - {id: s2, requires: [x, y], done_when: "quoted"}\n'
    ),
    "comments": (
        "# head\nid: c1  # trailing\nsteps:   # steps\n  # between\n  - id: s1   # x\n    requires:\n"
        "      - a  # one\n      - b\n"
    ),
    "anchors and aliases": "base: &b {x: 1, y: [p, q]}\nother: *b\nlist:\n  - &i item\n  - *i\n",
    "multi-line scalars": (
        "a: |\n  line one\n  line two\nb: plain\n  continued\nc: \"dq \\\n  escaped\"\nd: 'sq\n  fold'\ne: >-\n\n  x\n"
    ),
    "crlf": 'id: c1\r\nsteps:\r\n  - id: s1\r\n    requires: [a, b]\r\n    note: "two\r\n      lines"\r\n',
    "bom": "\ufeffid: c1\nsteps:\n  - {id: s1, requires: [a]}\n",
    "tabs in values": 'id: "c\t1"\nsteps:\n  - id: s1\n    requires: [a,\tb]\n    run: "x\ty"\n',
    "non-ascii": 'id: ünï\ntitle: "日本語 text"\nsteps:\n  - {do: ✓, requires: [é, "😀"]}\n',
}


def _paths(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield path + (key,)
            yield from _paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield path + (index,)
            yield from _paths(child, path + (index,))


def _ruamel_start(root, path, at):
    parent = root
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, CommentedMap):
        line, column = parent.lc.key(path[-1]) if at == "key" else parent.lc.value(path[-1])
    else:
        line, column = parent.lc.item(path[-1])
    return line + 1, column + 1


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_kb_places_every_node_where_ruamel_does(name):
    raw = SHAPES[name].encode("utf-8")
    text = yamlio.decode(raw)  # as the check reads a file to place its findings
    data = yamlio.load_mapping(raw)
    other = YAML().load(raw.decode("utf-8-sig"))
    compared = 0
    for path in _paths(data):
        for at in ("value", "key"):
            if at == "key" and isinstance(path[-1], int):
                continue
            located = yamlio.locate(text, path, at)
            assert located.exact
            assert (located.span.line, located.span.column) == _ruamel_start(other, path, at), (path, at)
            compared += 1
    assert compared >= 8
