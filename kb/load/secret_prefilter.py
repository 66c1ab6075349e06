"""Which lines detect-secrets could report on, proven before its plugins run.

detect-secrets runs every plugin on every line it is given, through an argument-injection
layer that costs tens of microseconds a call: on a realistic KB (trace ids, commit shas and
digests on every other line) that was a third of loading. Yet a plugin reports a line only
when one of its own regexes matches it (the regex detectors and the keyword detector; its
filters only ever remove a finding). So kb reads, from each active plugin's own compiled
regexes, conditions every match must meet:

- a literal every match contains (the longest one the pattern requires, or one of the
  prefixes of a required alternation such as `(ghp|gho|ghu|ghs|ghr)`), and
- a run of token characters every match contains (`AKC[a-zA-Z0-9]{10,}` needs 13 in a row).

A file where no pattern's conditions hold has no candidate line; otherwise only lines that
hold a required literal or run are tried, with the plugin's real regex, and only the lines a
regex matches go to detect-secrets' own plugins and filters. A plugin whose matching kb
cannot read off (a new plugin kind, a pattern with flags it does not model) gets no
condition: every line is tried with it. tests/test_secret_prefilter.py drives detect-secrets'
own test strings and strings generated from each pattern through both paths.
"""

from __future__ import annotations

import os
import re
import string
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# Token characters: what an API key, a token or a digest is made of. Every character that is
# not ASCII counts too (\w and \d match Unicode letters and digits), except the three that
# str.splitlines() breaks lines at: no match inside one line can hold those.
_TOKEN_ASCII = frozenset(map(ord, string.ascii_letters + string.digits + "+/=_.~-"))
_TOKEN_RUN = r"[A-Za-z0-9+/=_.~\-\x80-\x84\x86-\u2027\u202a-\U0010ffff]"
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
# none of these changes what a match must contain (VERBOSE only changes how the pattern is written)
_MODELLED_FLAGS = re.IGNORECASE | re.UNICODE | re.MULTILINE | re.DOTALL | re.VERBOSE


@dataclass(frozen=True)
class Gate:
    """One regex a plugin reports through, with what each of its matches must contain.
    `regex` None: a plugin kb cannot read; it is tried on every line."""

    regex: re.Pattern[str] | None
    # every match holds all the literals of one of these alternatives (lower-cased when `fold`)
    literals: tuple[tuple[str, ...], ...] = ()
    fold: bool = False
    run: int = 0  # every match holds this many token characters in a row
    leading: tuple[str, ...] = ()  # every match starts with one of these (lower-cased when `fold`)

    def matches(self, line: str) -> bool:
        """The regex matches `line`: tried only where a match can start when that is known
        (a keyword regex searched from every position costs 90 microseconds a line)."""
        assert self.regex is not None
        if not self.leading or (self.fold and not line.isascii()):
            return self.regex.search(line) is not None
        haystack = line.lower() if self.fold else line
        match = self.regex.match
        return any(
            match(line, at) for literal in self.leading if literal in haystack for at in _find_all(haystack, literal)
        )


def _in_token_class(op: Any, av: Any) -> bool:
    """The single-character item (op, av) matches token characters only."""
    if op is sre.LITERAL:
        return av >= 128 or av in _TOKEN_ASCII
    if op is not sre.IN:
        return False
    for sub_op, sub_av in av:
        if sub_op is sre.LITERAL:
            ok = sub_av >= 128 or sub_av in _TOKEN_ASCII
        elif sub_op is sre.RANGE:
            low, high = sub_av
            ok = all(c in _TOKEN_ASCII for c in range(low, min(high, 127) + 1))
        elif sub_op is sre.CATEGORY:
            ok = sub_av in (sre.CATEGORY_DIGIT, sre.CATEGORY_WORD)
        else:  # NEGATE and anything else
            ok = False
        if not ok:
            return False
    return True


def _leading_literal(items: Any) -> str:
    out = []
    for op, av in items:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.SUBPATTERN and not av[1] and not av[2]:
            inner = _leading_literal(av[3])
            out.append(inner)
            if len(inner) != _width(av[3]):
                break
        else:
            break
    return "".join(out)


def _leading_set(items: Any) -> set[str] | None:
    """Literals one of which every match starts with; None when kb cannot tell."""
    if not items:
        return None
    op, av = items[0]
    if op is sre.LITERAL:
        return {_leading_literal(items)}
    if op is sre.SUBPATTERN and not av[1] and not av[2]:
        return _leading_set(av[3])
    if op is sre.BRANCH:
        sets = [_leading_set(branch) for branch in av[1]]
        if any(not found for found in sets):
            return None
        return set().union(*sets)  # type: ignore[arg-type]
    return None


def _width(items: Any) -> int:
    """Characters of a sequence made of literals only; -1 otherwise."""
    total = 0
    for op, _av in items:
        if op is sre.LITERAL:
            total += 1
        else:
            return -1
    return total


class _Walk:
    """Collects, along a pattern's top-level sequence, the literals and token runs every match
    contains. Anything it does not model ends the current literal and run (never a guess)."""

    def __init__(self) -> None:
        self.literal_sets: list[set[tuple[str, ...]]] = []  # one alternative of each set is in every match
        self.literal: list[str] = []
        self.run = 0
        self.best_run = 0

    def end_literal(self) -> None:
        if self.literal:
            self.literal_sets.append({("".join(self.literal),)})
            self.literal = []

    def end_run(self) -> None:
        self.run = 0

    def add_run(self, n: int) -> None:
        self.run += n
        self.best_run = max(self.best_run, self.run)

    def sequence(self, items: Any) -> None:
        for op, av in items:
            if op is sre.LITERAL:
                self.literal.append(chr(av))
                self.add_run(1) if _in_token_class(op, av) else self.end_run()
            elif op is sre.SUBPATTERN:
                _group, add_flags, del_flags, sub = av
                if add_flags or del_flags:
                    self.end_literal()
                    self.end_run()
                else:
                    self.sequence(sub)  # a group in the sequence is matched exactly once
            elif op is sre.BRANCH:
                self.end_literal()
                self.end_run()
                alternatives = {_required_literals(branch) for branch in av[1]}
                if all(alternatives):
                    self.literal_sets.append(alternatives)
            elif op in _REPEATS:
                low, _high, sub = av
                self.end_literal()
                if low >= 1 and len(sub) == 1 and _in_token_class(*sub[0]):
                    self.add_run(low)
                else:
                    self.end_run()
            elif op is sre.IN and _in_token_class(op, av):
                self.end_literal()
                self.add_run(1)
            else:  # anchors, lookarounds, other classes, back-references
                self.end_literal()
                self.end_run()
        self.end_literal()


def _ascii_part(literal: str) -> str:
    """The longest ASCII run of a literal: what a lower-cased text can be searched for."""
    return max(re.findall(r"[\x00-\x7f]+", literal), key=len, default="")


def _folded(alternatives: set[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """Literals of a case-insensitive regex, lower-cased and cut to their ASCII part, so that
    `literal in text.lower()` is exact (see Prefilter.nominate); () when one alternative
    keeps no literal of two characters."""
    out = []
    for alt in alternatives:
        kept = sorted({_ascii_part(x.lower()) for x in alt} - {""}, key=lambda x: (-len(x), x))
        kept = [x for x in kept if len(x) >= 2]
        if not kept:
            return ()
        out.append(tuple(kept))
    return tuple(sorted(out))


def _required_literals(items: Any) -> tuple[str, ...]:
    """Literals (of two characters or more) every match of a branch holds, longest first."""
    walk = _Walk()
    walk.sequence(items)
    found = {alt[0] for s in walk.literal_sets if len(s) == 1 for alt in s if len(alt) == 1}
    return tuple(sorted((x for x in found if len(x) >= 2), key=lambda x: (-len(x), x)))


def gate_of(regex: re.Pattern[str]) -> Gate:
    """What every match of `regex` contains, read off its parsed form."""
    if regex.flags & ~_MODELLED_FLAGS or not isinstance(regex.pattern, str):
        return Gate(regex)
    try:
        tree = sre_parse.parse(regex.pattern, regex.flags)
    except Exception:  # noqa: BLE001 - an unreadable pattern gets no condition, never a wrong one
        return Gate(regex)
    walk = _Walk()
    walk.sequence(tree)
    fold = bool(regex.flags & re.IGNORECASE)
    usable = [alts for alts in walk.literal_sets if not any(_LINE_BREAKS.intersection(x) for alt in alts for x in alt)]
    literals: tuple[tuple[str, ...], ...] = ()
    # every alternative of every usable set holds a literal of two characters or more; the set
    # chosen is the one the finder stops at least often for (any of them is exact)
    candidates = [_folded(alts) if fold else tuple(sorted(alts)) for alts in usable]
    candidates = [alts for alts in candidates if alts and min(len(alt[0]) for alt in alts) >= 2]
    if candidates:
        literals = min(candidates, key=lambda alts: (_set_cost(alts), -min(len(alt[0]) for alt in alts), alts))
    leading = _leading_set(tree)
    starts = tuple(sorted(x.lower() if fold else x for x in leading)) if leading and all(leading) else ()
    return Gate(regex, literals, fold, walk.best_run if walk.best_run >= 2 else 0, starts)


def plugin_regexes(plugin: Any, filename: str) -> list[re.Pattern[str]] | None:
    """The regexes through which `plugin` can report a line of `filename`; None when kb
    cannot tell (then every line goes to it)."""
    from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.keyword import (
        QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
        REGEX_BY_FILETYPE,
        KeywordDetector,
    )
    from detect_secrets.util.filetype import determine_file_type

    cls = type(plugin)
    if type(plugin) is KeywordDetector:  # it picks its regexes by file type; its exclusion only removes
        chosen = REGEX_BY_FILETYPE.get(determine_file_type(filename), QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
        return list(chosen)
    if not isinstance(plugin, RegexBasedDetector) or cls.analyze_line is not BasePlugin.analyze_line:
        return None
    # JwtTokenDetector only filters what its regexes find (is_formally_valid)
    if cls.analyze_string is not RegexBasedDetector.analyze_string and cls is not JwtTokenDetector:
        return None
    return list(plugin.denylist)


@dataclass(frozen=True)
class Prefilter:
    gates: tuple[Gate, ...]

    @cached_property
    def _by_literal(self) -> dict[tuple[bool, str], list[tuple[int, tuple[str, ...]]]]:
        """(folded, the literal of an alternative the finder looks up) -> (gate index, the
        alternative's other literals) for the gates a line holding it may pass."""
        index: dict[tuple[bool, str], list[tuple[int, tuple[str, ...]]]] = {}
        for i, gate in enumerate(self.gates):
            for alternative in gate.literals:
                first = _cheapest(alternative)  # looked up; the others are checked on its lines
                rest = tuple(x for x in alternative if x != first)
                index.setdefault((gate.fold, first), []).append((i, rest))
        return index

    @cached_property
    def _finders(self) -> dict[str, _Finder]:
        """Finders of the literals: "exact" every case-sensitive one, "folded" the lower-cased
        ones; for a text whose case folds plainly, "cased" the case-sensitive literals that are
        not their own lower case, and "folded+lower" the lower-cased ones with those that are
        (found in the lower-cased text, where they start where they do in the text)."""
        exact = [lit for fold, lit in self._by_literal if not fold]
        folded = [lit for fold, lit in self._by_literal if fold]
        lower = self._own_lower_case
        return {
            "exact": _Finder(exact),
            "folded": _Finder(folded),
            "cased": _Finder([lit for lit in exact if lit not in lower]),
            "folded+lower": _Finder(folded + sorted(lower)),
        }

    @cached_property
    def _own_lower_case(self) -> frozenset[str]:
        """The case-sensitive literals that are their own lower case (ASCII only: then every
        occurrence in a text is one in its lower case, at the same place)."""
        return frozenset(lit for fold, lit in self._by_literal if not fold and lit.isascii() and lit == lit.lower())

    @cached_property
    def _entries(self) -> dict[tuple[bool, str], list[tuple[int, int, tuple[str, ...]]]]:
        """_by_literal with each gate's token run: (run, gate index, other literals)."""
        return {key: [(self.gates[i].run, i, rest) for i, rest in found] for key, found in self._by_literal.items()}

    @cached_property
    def _run_gates(self) -> dict[bool, list[tuple[int, int]]]:
        """(gate index, run) of the gates a text is judged for by token runs (or every line),
        for a text whose case folds plainly (True) or not (False): the gates without a literal,
        and when the text does not fold plainly, the case-insensitive gates too."""
        return {
            plain: [
                (i, gate.run) for i, gate in enumerate(self.gates) if not (gate.literals and (plain or not gate.fold))
            ]
            for plain in (True, False)
        }

    @cached_property
    def _unreadable(self) -> bool:
        return any(g.regex is None for g in self.gates)

    def nominate(self, text: str, lines: list[str]) -> dict[int, list[Gate]] | None:
        """The lines of `text` (numbered from 1 as its splitlines(), given as `lines`) that
        some plugin could report on, each with the regexes that could match it; None: every
        line, with every plugin (a plugin kb cannot read)."""
        if self._unreadable:
            return None
        # Case-insensitive regexes match an ASCII letter to its other case, and to four other
        # characters (U+0130, U+0131, U+017F, U+212A); without those, lower() keeps every
        # position and `literal in text.lower()` is exact for the ASCII literals of _folded().
        plain = text.isascii() or not _FOLDS_TO_ASCII.search(text)
        ascii_only = text.isascii()
        lowered = text.lower() if plain else text
        # token runs at C speed: every other byte becomes a space (bytes of non-ASCII
        # characters stay, so a run is never shorter than the characters' run)
        # token runs at C speed: every other byte becomes a space (bytes of non-ASCII
        # characters stay, so a run is never shorter than the characters' run); only the words
        # of _LONG bytes or more are listed: a shorter longest word counts as
        # _LONG - 1, which only lets more gates through
        tokens = text.encode("utf-8", "surrogatepass").translate(_ONLY_TOKEN_BYTES)
        long_words = _LONG_WORD.findall(b" " + tokens)  # each with a space before it
        longest = max(map(len, long_words), default=_LONG) - 1
        ends = list(accumulate(map(len, text.splitlines(keepends=True))))
        run_lines: dict[int, set[int]] = {}  # run -> 0-based numbers of the lines holding one

        def lines_with_run(run: int) -> set[int]:
            if run not in run_lines:
                if ascii_only and run >= _LONG:  # byte offsets are character offsets
                    starts = _run_starts(tokens, [word[1:] for word in long_words if len(word) > run])
                else:
                    starts = [m.start() for m in _run_pattern(run).finditer(text)]
                run_lines[run] = {bisect_right(ends, start) for start in starts}
            return run_lines[run]

        lines_of: dict[int, set[int]] = {}  # gate index -> nominated line numbers (0-based)
        # literal gates: each literal looked up once per file, its lines shared by its gates
        finders = self._finders
        if plain:  # one pass over the text, one over its lower case
            exact = finders["cased"].occurrences(text)
            folded = finders["folded+lower"].occurrences(lowered)
            for literal in self._own_lower_case.intersection(folded):
                starts = [at for at in folded[literal] if text.startswith(literal, at)]
                if starts:
                    exact[literal] = starts
            found = [(False, exact), (True, {lit: at for lit, at in folded.items() if (True, lit) in self._by_literal})]
        else:  # the case-insensitive gates are judged below
            found = [(False, finders["exact"].occurrences(text))]
        entries = self._entries
        for fold, occurrences in found:
            haystack = lowered if fold else text
            for literal, starts in occurrences.items():
                wanted = [(i, rest, run) for run, i, rest in entries[(fold, literal)] if run <= longest]
                if not wanted:
                    continue
                numbers = {bisect_right(ends, at) for at in starts}
                for i, rest, run in wanted:
                    held = (
                        numbers
                        if not rest
                        else {
                            n for n in numbers if all(x in haystack[(ends[n - 1] if n else 0) : ends[n]] for x in rest)
                        }
                    )
                    if held and run >= _LONG and ascii_only:  # a match holds its run on its own line
                        held = held & lines_with_run(run)
                    if held:
                        lines_of.setdefault(i, set()).update(held)
        # gates without a usable literal: by their token run, or every line
        for i, run in self._run_gates[plain]:
            if run > longest:
                continue
            lines_of[i] = lines_with_run(run) if run else set(range(len(lines)))
        nominated: dict[int, list[Gate]] = {}
        for i, numbers in lines_of.items():
            for number in numbers:
                nominated.setdefault(number + 1, []).append(self.gates[i])
        return nominated

    @staticmethod
    def confirm(nominated: dict[int, list[Gate]], lines_seen: list[str]) -> list[int]:
        """The nominated lines that a nominating regex matches, as the plugins will see them
        (`lines_seen`, 0-based, right-stripped as detect-secrets does)."""
        return sorted(n for n, gates in nominated.items() if any(g.matches(lines_seen[n - 1].rstrip()) for g in gates))


class _Finder:
    """Every start of every literal in a text, in one regex scan. Each literal is searched from
    its rarest character on (its anchor: `service` from `vice`, `eyJ` from `yJ`), so that the
    scan stops at few positions: a regex over many literals tries a match at every position
    holding the first character of one of them, and stops at a fifth of a text's characters
    when those are `s`, `a`, `c` or `p`. The anchors form one pattern, a trie (at a position
    at most one branch can go on, and the longest anchor there wins), searched again from the
    next position after each hit, so overlapping and nested occurrences are all found; the
    anchors that are prefixes of the one found there start there too, and a literal starts
    where its anchor does, less its offset, if the text holds the whole literal there. The
    same positions as `str.find` per literal, for a fraction of the passes."""

    def __init__(self, literals: list[str]):
        self.literals = sorted(set(literals))
        owners: dict[str, list[tuple[str, int]]] = {}
        for literal in self.literals:
            at = _anchor_offset(literal)
            owners.setdefault(literal[at:], []).append((literal, at))
        anchors = sorted(owners)
        self.pattern = re.compile(_trie(anchors)) if anchors else None
        # anchor found -> (literal, offset) of it and of every anchor that is a prefix of it
        self.owners = {a: [o for p in anchors if a.startswith(p) for o in owners[p]] for a in anchors}

    def occurrences(self, haystack: str) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        if self.pattern is None:
            return found
        search = self.pattern.search
        owners = self.owners
        startswith = haystack.startswith
        match = search(haystack)
        while match is not None:
            at = match.start()
            for literal, offset in owners[match.group()]:
                start = at - offset
                if start >= 0 and (not offset or startswith(literal, start)):
                    found.setdefault(literal, []).append(start)
            match = search(haystack, at + 1)
        return found


# Characters of KB text from the most to the least frequent (cards, postmortems, Markdown and
# this repository's code, counted): the finder anchors each literal at its rarest character.
# Only speed depends on it: any anchor finds every occurrence.
_BY_FREQUENCY = " etaosrinlcd:-hu\n0p12m\"fvgy.w_b3456789,kq[]T{}S()/'=ARxPNEO>|LMCFI#DBjK;U*+zGYH\\WVQXZJ"
_FREQUENCY = {char: len(_BY_FREQUENCY) - rank for rank, char in enumerate(_BY_FREQUENCY)}


def _anchor_offset(literal: str) -> int:
    """Where the search for `literal` starts: at its rarest character that two or more of
    its characters follow from (a one-character anchor would stop the scan at every copy)."""
    if len(literal) < 3:
        return 0
    return min(range(len(literal) - 1), key=lambda at: (_FREQUENCY.get(literal[at], 0), at))


def _literal_cost(literal: str) -> int:
    """How often the finder stops for `literal`: the frequency of its anchor character."""
    return _FREQUENCY.get(literal[_anchor_offset(literal)], 0) if literal else len(_FREQUENCY)


def _cheapest(alternative: tuple[str, ...]) -> str:
    """The literal of an alternative the finder looks up (the others are checked on its lines)."""
    return min(alternative, key=lambda x: (_literal_cost(x), -len(x), x))


def _set_cost(alternatives: tuple[tuple[str, ...], ...]) -> int:
    return sum(_literal_cost(_cheapest(alt)) for alt in alternatives)


def _trie(literals: list[str]) -> str:
    """A regex matching exactly the literals, as a trie: `ab|ac` is `a(?:b|c)`."""
    root: dict = {}
    for literal in literals:
        node = root
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body  # greedy: the longest literal on the path

    return pattern(root)


def _find_all(haystack: str, literal: str):
    at = haystack.find(literal)
    while at >= 0:
        yield at
        at = haystack.find(literal, at + 1)


_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
_ONLY_TOKEN_BYTES = bytes(c if c in _TOKEN_ASCII or c >= 128 else 32 for c in range(256))


_LONG = 11  # the words nominate lists: shorter runs are judged by the regex of _run_pattern
# the words of _LONG bytes or more, each with the space before it: a pattern that starts with
# a literal is searched at C speed, one that starts with a class is tried at every byte
_LONG_WORD = re.compile(rb" [^ ]{%d,}" % _LONG)


def _run_starts(tokens: bytes, long_words: list[bytes]) -> list[int]:
    """Where each run of at least `length` non-space bytes of `tokens` starts, given its words
    of at least that length in order (`long_words`): each found from the end of the one before,
    as only spaces and shorter words lie between, and a shorter word cannot hold it. The
    starts of `[^ ]{length,}` matches, without a regex step at every byte."""
    starts = []
    at = 0
    for word in long_words:
        at = tokens.find(word, at)
        starts.append(at)
        at += len(word)
    return starts


@lru_cache(maxsize=64)
def _run_pattern(length: int) -> re.Pattern[str]:
    return re.compile(f"{_TOKEN_RUN}{{{max(length, 1)},}}")


_PREFILTERS: dict[tuple, tuple[list[Any], Prefilter]] = {}


def file_type(filename: str) -> Any:
    """detect-secrets' determine_file_type, which reads the name's extension only: asked once
    per extension (it builds its table of extensions on every call, twice per file scanned)."""
    extension = os.path.splitext(filename)[1]
    found = _FILE_TYPES.get(extension)
    if found is None:
        from detect_secrets.util.filetype import determine_file_type

        found = _FILE_TYPES[extension] = determine_file_type(filename)
    return found


_FILE_TYPES: dict[str, Any] = {}


def prefilter_for(plugins: list[Any], filename: str) -> Prefilter:
    """Per set of plugins and file type (the keyword detector's regexes depend on it)."""
    key = (tuple(map(id, plugins)), file_type(filename))
    if key not in _PREFILTERS:  # plugins are kept with it, so their ids stay theirs
        gates: list[Gate] = []
        for plugin in plugins:
            regexes = plugin_regexes(plugin, filename)
            gates += [Gate(None)] if regexes is None else [gate_of(regex) for regex in regexes]
        _PREFILTERS[key] = (list(plugins), Prefilter(tuple(gates)))
    return _PREFILTERS[key][1]
