"""Random mutations of valid files never make `kb check` raise: every problem is a diagnostic."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from conftest import BASE_KB, REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

SOURCES = sorted([*(REPO / "cards").glob("*.yaml"), *(REPO / "postmortems").glob("*.yaml"), REPO / "oncall.yaml"])
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _target(source: Path) -> str:
    if source.name == "oncall.yaml":
        return "oncall.yaml"
    return f"{source.parent.name}/{source.name}"


def _check(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        shutil.copytree(BASE_KB, root)
        for rel, data in files.items():
            (root / rel).write_bytes(data)
        result = run_check(RuleContext(load_kb(root)))
        for diag in result.diagnostics:
            assert diag.span.line >= 1 and diag.span.column >= 1
            assert diag.message


mutation = st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate", "tab", "bytes", "dedent"])


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    ops=st.lists(st.tuples(mutation, st.integers(0, 10_000), st.binary(max_size=6)), min_size=1, max_size=4),
)
def test_text_mutations_never_raise(source: Path, ops) -> None:
    lines = source.read_bytes().split(b"\n")
    for op, where, noise in ops:
        index = where % max(len(lines), 1)
        if op == "delete" and lines:
            del lines[index]
        elif op == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif op == "swap" and len(lines) > 1:
            other = (index + 1) % len(lines)
            lines[index], lines[other] = lines[other], lines[index]
        elif op == "insert" and lines:
            cut = where % (len(lines[index]) + 1)
            lines[index] = lines[index][:cut] + b":[{&*!|>-#'\""[where % 13 : where % 13 + 1] + lines[index][cut:]
        elif op == "truncate":
            lines = lines[: index + 1]
        elif op == "tab" and lines:
            lines[index] = b"\t" + lines[index]
        elif op == "bytes" and lines:
            lines[index] = lines[index] + noise
        elif op == "dedent" and lines:
            lines[index] = lines[index].lstrip(b" ")
    _check({_target(source): b"\n".join(lines)})


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**12),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["P1", "yes", "no", "2026-11-03", "2026-11-03T02:14:00", "queue:*", "..", "/etc"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, prefix + (index,))


@FUZZ
@given(source=st.sampled_from(SOURCES), pick=st.integers(0, 10_000), value=values, drop=st.booleans())
def test_data_mutations_never_raise(source: Path, pick: int, value, drop: bool) -> None:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    paths = [p for p in _paths(data) if p]
    path = paths[pick % len(paths)]
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _check({_target(source): yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()})
