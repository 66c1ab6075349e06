"""KB506 makes a text's runs of words only when enough of its words in a row are in the
section's vocabulary: the same answer as intersecting every shingle, on generated texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.rules.router.card_copies_reference import WORD, _shares_run, shingles

# a few words, so that texts and sections share runs; one only the text uses
WORDS = st.lists(st.sampled_from(["a", "b", "c", "d", "e2", "f-g", "Zz", "only-text"]), max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(section=WORDS, text=WORDS, size=st.integers(1, 6))
def test_the_vocabulary_filter_keeps_every_shared_run(section: str, text: str, size: int) -> None:
    copied = shingles(section.replace("only-text", "a"), size)
    vocabulary = frozenset(word for run in copied for word in run)
    words = WORD.findall(text.lower())
    expected = bool(shingles(text, size) & copied)
    assert _shares_run(words, copied, size, vocabulary) == expected
    assert _shares_run(words, copied, size) == expected
