"""kb.core.similar.CloseMatches answers as difflib.get_close_matches(n=1) does, on words and
lists it was not written for: ties, empty strings, repeats, every cutoff kb uses."""

from __future__ import annotations

import difflib
import random

from kb.core.diagnostics import Diagnostic, Level, Span
from kb.core.similar import CloseMatches


def _difflib(word: str, candidates: list[str], cutoff: float) -> str | None:
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return found[0] if found else None


def test_same_answer_as_difflib_on_random_words_with_many_ties():
    rng = random.Random(20)
    for _ in range(500):
        candidates = ["".join(rng.choice("ab") for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 12))]
        cutoff = rng.choice([0.0, 0.3, 0.5, 0.6, 0.8, 1.0])
        matcher = CloseMatches(candidates, cutoff)
        for _ in range(3):  # the second ask of a word comes from the kept answers
            word = "".join(rng.choice("abc") for _ in range(rng.randint(0, 6)))
            assert matcher.best(word) == _difflib(word, candidates, cutoff), (word, candidates, cutoff)
            assert matcher.best(word) == _difflib(word, candidates, cutoff)


def test_same_answer_as_difflib_on_names_like_kbs():
    rng = random.Random(7)
    alerts = [f"Svc{s:03d}{kind}{n}" for s in range(12) for kind in ("Alert", "QueueStuck", "Latency") for n in (1, 17)]
    permissions = [
        f"sys{s:02d}:{a}:{e}" for s in range(10) for a in ("read", "write", "restart") for e in ("prod", "dev")
    ]
    for names, cutoff in ((alerts, 0.8), (permissions, 0.8), (alerts + permissions, 0.5)):
        matcher = CloseMatches(names, cutoff)
        for _ in range(25):
            word = list(rng.choice(names))
            for _ in range(rng.randint(0, 4)):
                word[rng.randrange(len(word))] = rng.choice("xQ0:9e")
            text = "".join(word)
            assert matcher.best(text) == _difflib(text, names, cutoff), text
    assert CloseMatches(["deploy:rollback:prompt-service"], 0.8).best("deploy:rolback:prompt-service") == (
        "deploy:rollback:prompt-service"
    )
    assert CloseMatches([], 0.8).best("anything") is None


def test_diagnostic_to_plain_is_what_asdict_stored():
    from dataclasses import asdict

    for loc in ((), ("steps", 3, "requires", 0), ("a",)):
        d = Diagnostic(
            "cards/x.yaml", Span(3, 5, 3, 9), "KB303", "access/unknown-permission", Level.ERROR, "m", "u", loc
        )
        old = asdict(d)
        old["span"] = [d.span.line, d.span.column, d.span.end_line, d.span.end_column]
        old["level"] = d.level.value
        old["loc"] = list(d.loc)
        assert d.to_plain() == old and list(d.to_plain()) == list(old)  # the same keys in the same order
        assert Diagnostic.from_plain(d.to_plain()) == d
