"""'Did you mean ...?' for many words against one list: difflib's answer, without its cost.

`difflib.get_close_matches(word, candidates, n=1, cutoff)` builds a SequenceMatcher for
every candidate of every word: against the 13,000 alerts of a 10,000-card KB, 25 to 75 ms
a word, so a KB whose cards name hundreds of missing alerts or permissions (a rule file
renamed, a catalogue entry dropped) spent minutes on its hints. `CloseMatches` gives the
same answer: it keeps each word's answer (a missing name usually repeats across files); it
counts the letters every candidate has in common with the word at once, with bit sets over
the candidates, and looks only at those that pass the two bounds difflib checks first itself
(`real_quick_ratio`: the lengths; `quick_ratio`: the letters in common); and it computes the
ratio in falling order of that bound, stopping where no later candidate can win. A candidate
dropped is one difflib would drop or rank lower, so the best match (highest ratio, then the
greatest string) is the same; tests compare the two on random and KB-like lists.
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
        # only strings can be a hint (a rule file's `alert: 123` is reported by its own rule)
        self.candidates = [candidate for candidate in candidates if isinstance(candidate, str)]
        self.answers: dict[str, str | None] = {}
        self._index: tuple[dict[tuple[str, int], int], dict[int, int]] | None = None

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
        `word` can reach the cutoff. The letters in common are counted for every candidate at
        once (see _common_at_least); only those that can reach the cutoff are looked at."""
        cutoff = self.cutoff
        size = len(word)
        letters = list(Counter(word).items())
        tokens, lengths = self._indexed()
        planes = _count_planes(tokens.get((letter, k), 0) for letter, times in letters for k in range(1, times + 1))
        everyone = (1 << len(self.candidates)) - 1
        found = []
        for length, members in lengths.items():
            total = size + length
            # the fewest letters in common that reach the cutoff; none when even min(size, length)
            # (real_quick_ratio) does not
            need = next((m for m in range(min(size, length) + 1) if _ratio(m, total) >= cutoff), None)
            if need is None:
                continue
            chosen = _at_least(planes, need, everyone) & members
            for index in _members(chosen):
                candidate = self.candidates[index]
                bound = _ratio(sum(min(candidate.count(letter), times) for letter, times in letters), total)
                if bound >= cutoff:  # quick_ratio, exactly
                    found.append((bound, candidate))
        return found

    def _indexed(self) -> tuple[dict[tuple[str, int], int], dict[int, int]]:
        """Bit sets over the candidates (bit i: candidate i): per (letter, k), those with at
        least k of that letter; per length, those of that length. Built at the first word."""
        if self._index is None:
            holding: dict[tuple[str, int], list[int]] = {}
            by_length: dict[int, list[int]] = {}
            for index, candidate in enumerate(self.candidates):
                by_length.setdefault(len(candidate), []).append(index)
                for letter, times in Counter(candidate).items():
                    for k in range(1, times + 1):
                        holding.setdefault((letter, k), []).append(index)
            size = len(self.candidates)
            self._index = (
                {token: _bit_set(members, size) for token, members in holding.items()},
                {length: _bit_set(members, size) for length, members in by_length.items()},
            )
        return self._index


def _bit_set(indices: list[int], size: int) -> int:
    bits = bytearray(size // 8 + 1)
    for index in indices:
        bits[index >> 3] |= 1 << (index & 7)
    return int.from_bytes(bits, "little")


def _count_planes(sets: Iterable[int]) -> list[int]:
    """Per candidate, how many of `sets` hold it, as binary digits: bit i of planes[j] is
    digit j of candidate i's count (a ripple-carry adder over all candidates at once)."""
    planes: list[int] = []
    for carry in sets:
        digit = 0
        while carry:
            if digit == len(planes):
                planes.append(carry)
                break
            planes[digit], carry = planes[digit] ^ carry, planes[digit] & carry
            digit += 1
    return planes


def _at_least(planes: list[int], need: int, everyone: int) -> int:
    """The candidates whose count (in `planes`) is at least `need`."""
    if need <= 0:
        return everyone
    if need >= 1 << len(planes):
        return 0
    greater, equal = 0, everyone
    for digit in reversed(range(len(planes))):
        plane = planes[digit]
        if need >> digit & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane
    return greater | equal


def _members(bits: int) -> list[int]:
    """The indices of the set bits of `bits`, in increasing order."""
    text = bin(bits)[:1:-1]  # least significant digit first
    found = []
    at = text.find("1")
    while at >= 0:
        found.append(at)
        at = text.find("1", at + 1)
    return found
