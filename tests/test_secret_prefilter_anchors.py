"""The secret prefilter's literal finder searches each literal from its rarest character: it
finds every start of every literal that `str.find` finds, on random texts over the literals'
own characters (so occurrences overlap and nest), and a plugin regex match in a line of a
realistic text is still nominated when the text mixes case and non-ASCII characters."""

from __future__ import annotations

import random

from kb.load.secret_prefilter import _anchor_offset, _Finder
from kb.load.secrets import _configure_detect_secrets, scan


def _find_all(text: str, literal: str) -> list[int]:
    found, at = [], text.find(literal)
    while at >= 0:
        found.append(at)
        at = text.find(literal, at + 1)
    return found


def test_anchored_finder_finds_what_find_finds() -> None:
    rnd = random.Random(20)
    for _ in range(300):
        alphabet = rnd.choice(["abk", "secrtkyp", "AKIaki-_/", "éaKk"])
        literals = sorted({"".join(rnd.choice(alphabet) for _ in range(rnd.randint(2, 5))) for _ in range(6)})
        finder = _Finder(literals)
        text = "".join(rnd.choice(alphabet + " \n") for _ in range(rnd.randint(0, 120)))
        expected = {lit: _find_all(text, lit) for lit in literals if _find_all(text, lit)}
        assert finder.occurrences(text) == expected, (literals, text)
        assert all(0 <= _anchor_offset(lit) <= max(len(lit) - 2, 0) for lit in literals)


def test_cases_in_mixed_text_are_found_as_without_the_prefilter() -> None:
    _configure_detect_secrets()
    rnd = random.Random(5)
    cases = ["AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9, "password: 'hunter2hunter2'", "SECRET='ab12cd34'"]
    filler = ["service: checkout", "the secret store", "trace 4bf92f3577b34da6a3ce929d0e0e4736", "clé: é", "KEY: x"]
    for _ in range(40):
        lines = [rnd.choice(filler + cases) for _ in range(rnd.randint(1, 8))]
        text = "\n".join(lines) + "\n"
        for name in ("case.yaml", "case.md"):
            assert scan(text, name) == scan(text, name, prefilter=False), text
