"""Fuzzing the loader and `kb check`, bounded in time, with every crash kept as a case.

test_corpus replays tests/hostile/corpus/ (seeds and every crash the fuzzer ever found) as a
card, a postmortem and oncall.yaml. test_fuzz mutates real files of this KB (byte flips,
YAML punctuation, cut-offs, splices, duplication) for KB_FUZZ_SECONDS (default 20) with a
seed that changes each run (KB_FUZZ_SEED replays one); an input that raises is written to
the corpus before the test fails, so it becomes a regression case once committed.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import traceback
from pathlib import Path

import pytest
from conftest import BASE_KB, REPO, copy_kb

from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.rules.context import RuleContext

CORPUS = Path(__file__).parent / "corpus"
TARGETS = ["cards/queue-stuck.yaml", "postmortems/PM-2026-001-queue.yaml", "oncall.yaml"]
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


def check_bytes(root: Path, target: str, content: bytes) -> None:
    (root / target).write_bytes(content)
    result = run_check(RuleContext(load_kb(root)))
    for diagnostic in result.diagnostics:
        assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir()), ids=str)
def test_corpus(tmp_path: Path, case: str) -> None:
    content = (CORPUS / case).read_bytes()
    for target in TARGETS:
        root = copy_kb(BASE_KB, tmp_path / target.replace("/", "-"))
        started = time.monotonic()
        check_bytes(root, target, content)
        assert time.monotonic() - started < 10


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


def test_fuzz(tmp_path: Path) -> None:
    seconds = float(os.environ.get("KB_FUZZ_SECONDS", "20"))
    seed = int(os.environ.get("KB_FUZZ_SEED", str(time.time_ns() % 2**32)))
    rng = random.Random(seed)
    donors = [
        p.read_bytes() for p in sorted((REPO / "cards").glob("*.yaml")) + sorted((REPO / "postmortems").glob("*.yaml"))
    ]
    root = copy_kb(BASE_KB, tmp_path / "kb")
    originals = {t: (root / t).read_bytes() for t in TARGETS}
    deadline = time.monotonic() + seconds
    cases = 0
    while time.monotonic() < deadline:
        target = rng.choice(TARGETS)
        content = mutate(rng, originals[target] if rng.random() < 0.6 else rng.choice(donors), donors)
        try:
            check_bytes(root, target, content)
        except Exception:
            name = f"crash-{hashlib.sha1(content).hexdigest()[:12]}.yaml"
            (CORPUS / name).write_bytes(content)
            pytest.fail(
                f"seed {seed}: {target} crashed kb (kept as tests/hostile/corpus/{name}):\n" + traceback.format_exc()
            )
        finally:
            (root / target).write_bytes(originals[target])
        cases += 1
    print(f"\nfuzz: {cases} cases in {seconds:.0f} s (seed {seed})")
    assert cases > 10
