"""The one fuzzer of the loader and `kb check`: every problem is a diagnostic, never an exception.

Deterministic on every run:
- the corpus (tests/hostile/corpus/: seeds and every crash ever found) replayed as a card, a
  postmortem and oncall.yaml;
- hypothesis mutations of real files (line edits, data edits), derandomized: the same
  examples every run, no example database (without promtool, which the other two feed);
- the byte mutator (flips, YAML punctuation, cut-offs, splices, duplication) for
  CASES inputs from a fixed seed.

Open-ended, opt-in: KB_FUZZ_SECONDS=60 runs the byte mutator for that long from a fresh seed
(KB_FUZZ_SEED replays one); an input that raises is written to the corpus before the test
fails, so it becomes a regression case once committed.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import traceback
from pathlib import Path

import pytest
import yaml
from conftest import BASE_KB, SNAPSHOT_KB, copy_kb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

CORPUS = Path(__file__).parent / "corpus"
TARGETS = ["cards/queue-stuck.yaml", "postmortems/PM-2026-001-queue.yaml", "oncall.yaml"]
SOURCES = sorted(
    [
        *(SNAPSHOT_KB / "cards").glob("*.yaml"),
        *(SNAPSHOT_KB / "postmortems").glob("*.yaml"),
        SNAPSHOT_KB / "oncall.yaml",
    ]
)
SEED = 20261130
CASES = 150
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_bytes(root: Path, target: str, content: bytes, promtool: bool = True) -> None:
    """`kb check` on the KB at `root` with `target` holding `content`: positions are real, messages
    said. The KB is as before afterwards. Without `promtool`, KB602 (which runs it, ~0.1 s a
    time) is left out."""
    path = root / target
    before = path.read_bytes() if path.exists() else None
    path.write_bytes(content)
    try:
        result = run_check(RuleContext(load_kb(root)), ignore=[] if promtool else ["KB602"])
        for diagnostic in result.diagnostics:
            assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1
            assert diagnostic.message
    finally:
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """One copy of the base KB for all of a test's inputs: check_bytes puts each file back."""
    return copy_kb(BASE_KB, tmp_path / "kb")


# ---- the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir()), ids=str)
def test_corpus(tmp_path: Path, case: str) -> None:
    content = (CORPUS / case).read_bytes()
    for target in TARGETS:
        root = copy_kb(BASE_KB, tmp_path / target.replace("/", "-"))
        started = time.monotonic()
        check_bytes(root, target, content)
        assert time.monotonic() - started < 10


# ---- hypothesis: edits of real files --------------------------------------------------------


def _target(source: Path) -> str:
    if source.name == "oncall.yaml":
        return "oncall.yaml"
    return f"{source.parent.name}/{source.name}"


mutation = st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate", "tab", "bytes", "dedent"])


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    ops=st.lists(st.tuples(mutation, st.integers(0, 10_000), st.binary(max_size=6)), min_size=1, max_size=4),
)
def test_text_mutations_never_raise(scratch, source: Path, ops) -> None:
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
    check_bytes(scratch, _target(source), b"\n".join(lines), promtool=False)


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
def test_data_mutations_never_raise(scratch, source: Path, pick: int, value, drop: bool) -> None:
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
    check_bytes(
        scratch, _target(source), yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode(), promtool=False
    )


# ---- the byte mutator ----------------------------------------------------------------------

PUNCTUATION = [
    b":",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b"&a ",
    b"*a",
    b"!!",
    b"? ",
    b"|",
    b">",
    b"#",
    b"'",
    b'"',
    b"\t",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xef\xbb\xbf",
    b"%YAML 1.1\n",
    b"---\n",
    b"<<: ",
    b"\\",
    b"\xff",
    b"  ",
]


def mutate(rng: random.Random, data: bytes, donors: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(data))
        choice = rng.random()
        if choice < 0.3:
            data = data[:at] + rng.choice(PUNCTUATION) + data[at:]
        elif choice < 0.5 and data:
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        elif choice < 0.6:
            data = data[:at]
        elif choice < 0.8:
            donor = rng.choice(donors)
            start = rng.randint(0, len(donor))
            data = data[:at] + donor[start : start + rng.randint(1, 200)] + data[at:]
        else:
            end = min(len(data), at + rng.randint(1, 80))
            data = data[:at] + data[at:end] * rng.randint(2, 5) + data[end:]
    return data


def fuzz_bytes(root: Path, seed: int, keep_going) -> int:
    """Mutated inputs from `seed` while `keep_going(cases)`; the number of inputs checked."""
    rng = random.Random(seed)
    donors = [p.read_bytes() for p in SOURCES if p.name != "oncall.yaml"]
    originals = {t: (root / t).read_bytes() for t in TARGETS}
    cases = 0
    while keep_going(cases):
        target = rng.choice(TARGETS)
        content = mutate(rng, originals[target] if rng.random() < 0.6 else rng.choice(donors), donors)
        try:  # promtool only sees what a postmortem emits: a card or oncall.yaml cannot change its answer
            check_bytes(root, target, content, promtool=target.startswith("postmortems/"))
        except Exception:
            where = "not kept: set KB_FUZZ_SECONDS to keep crashes in the corpus"
            if os.environ.get("KB_FUZZ_SECONDS"):
                name = f"crash-{hashlib.sha1(content).hexdigest()[:12]}.yaml"
                (CORPUS / name).write_bytes(content)
                where = f"kept as tests/hostile/corpus/{name}"
            pytest.fail(f"seed {seed}, input {cases}: {target} crashed kb ({where}):\n" + traceback.format_exc())
        cases += 1
    return cases


def test_byte_mutations_from_a_fixed_seed(tmp_path: Path) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    assert fuzz_bytes(root, SEED, lambda cases: cases < CASES) == CASES


@pytest.mark.skipif(not os.environ.get("KB_FUZZ_SECONDS"), reason="open-ended fuzzing is opt-in: KB_FUZZ_SECONDS=60")
def test_fuzz_for_a_while(tmp_path: Path) -> None:
    seconds = float(os.environ["KB_FUZZ_SECONDS"])
    seed = int(os.environ.get("KB_FUZZ_SEED", str(time.time_ns() % 2**32)))
    root = copy_kb(BASE_KB, tmp_path / "kb")
    deadline = time.monotonic() + seconds
    cases = fuzz_bytes(root, seed, lambda _: time.monotonic() < deadline)
    print(f"\nfuzz: {cases} cases in {seconds:.0f} s (seed {seed})")
    assert cases > 10
