"""'Did you mean ...?' for many words against one list: difflib's answer, without its cost.

`difflib.get_close_matches(word, candidates, n=1, cutoff)` builds a SequenceMatcher for
every candidate of every word: against the 13,000 alerts of a 10,000-card KB, 25 to 75 ms
a word, so a KB whose cards name hundreds of missing alerts or permissions (a rule file
renamed, a catalogue entry dropped) spent minutes on its hints. `CloseMatches` gives the
same answer: it keeps each word's answer (a missing name usually repeats across files) and
hands difflib only the candidates that can reach the cutoff, by the two bounds difflib checks
first itself (`real_quick_ratio`: the lengths; `quick_ratio`: the letters in common), computed
here with str.count at C speed. A candidate those bounds drop is one difflib would drop too,
so the best match (highest ratio, then the greatest string) is the same.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable


def _ratio(matches: int, length: int) -> float:
    """difflib's own ratio formula (its _calculate_ratio), so a bound compares exactly as difflib does."""
    return 2.0 * matches / length if length else 1.0


class CloseMatches:
    """The closest of `candidates` to a word, as `difflib.get_close_matches(word, candidates,
    n=1, cutoff=cutoff)` answers it (None where difflib answers []); answers are kept."""

    def __init__(self, candidates: Iterable[str], cutoff: float = 0.6):
        self.cutoff = cutoff
        self.by_length: dict[int, list[str]] = {}
        for candidate in candidates:
            self.by_length.setdefault(len(candidate), []).append(candidate)
        self.answers: dict[str, str | None] = {}

    def best(self, word: str) -> str | None:
        if word in self.answers:
            return self.answers[word]
        self.answers[word] = answer = self._best(word)
        return answer

    def _best(self, word: str) -> str | None:
        """The candidates in falling order of their letter bound (quick_ratio, never below the
        ratio): once that bound is under the best ratio found, no later candidate can win (a
        tie on the ratio goes to the greater string, so an equal bound is still looked at)."""
        best: tuple[float, str] | None = None
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(word)  # as get_close_matches: the candidate is seq1, the word seq2
        for bound, candidate in sorted(self.hopeful(word), key=lambda item: item[0], reverse=True):
            if best is not None and bound < best[0]:
                break
            matcher.set_seq1(candidate)
            ratio = matcher.ratio()
            if ratio >= self.cutoff and (best is None or (ratio, candidate) > best):
                best = (ratio, candidate)
        return best[1] if best is not None else None

    def hopeful(self, word: str) -> list[tuple[float, str]]:
        """(quick_ratio, candidate) for the candidates whose length and letters in common with
        `word` can reach the cutoff."""
        cutoff = self.cutoff
        size = len(word)
        letters = list(Counter(word).items())
        found = []
        for length, group in self.by_length.items():
            total = size + length
            if _ratio(min(size, length), total) < cutoff:
                continue  # real_quick_ratio: no candidate of this length can reach the cutoff
            for candidate in group:
                bound = _ratio(sum(min(candidate.count(letter), times) for letter, times in letters), total)
                if bound >= cutoff:  # quick_ratio, exactly
                    found.append((bound, candidate))
        return found
