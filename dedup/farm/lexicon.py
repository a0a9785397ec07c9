"""The scorer's word lists (`lexicon.json`, shipped in the package), loaded once and compiled for matching."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import pairwise

__all__ = ["Lexicon", "PhraseIndex", "lexicon", "pairs_of", "words_of"]

# A word: letters and digits, with inner apostrophes ("let's", "Korea\u2019s"); hyphens and other marks split words.
WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def words_of(phrase: str) -> tuple[str, ...]:
    """A phrase as the lower-cased words the scorer matches on.

    >>> words_of("Let\u2019s delve into")
    ("let's", 'delve', 'into')
    """
    return tuple(w.lower().replace("\u2019", "'") for w in WORD.findall(phrase))


def pairs_of(words: list[str]) -> list[str]:
    """Each word joined to the next ("in conclusion"): the keys multi-word phrases are looked up by.

    >>> pairs_of(["in", "light", "of"])
    ['in light', 'light of']
    """
    return [f"{a} {b}" for a, b in pairwise(words)]


@dataclass(frozen=True)
class PhraseIndex:
    """Phrases of one list: single words in a set, longer phrases keyed by their first two words."""

    single: frozenset[str]
    by_pair: dict[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def of(cls, phrases: list[str]) -> PhraseIndex:
        single: set[str] = set()
        grouped: dict[str, set[tuple[str, ...]]] = {}
        for phrase in phrases:
            words = words_of(phrase)
            if len(words) == 1:
                single.add(words[0])
            elif words:
                grouped.setdefault(f"{words[0]} {words[1]}", set()).add(words)
        # Longest first: "plays a crucial role" wins over "plays a".
        return cls(frozenset(single), {k: tuple(sorted(v, key=lambda p: (-len(p), p))) for k, v in grouped.items()})

    def _at(self, words: list[str], pairs: list[str], i: int, end: int) -> tuple[int, int] | None:
        if i + 1 < end:
            for phrase in self.by_pair.get(pairs[i], ()):
                n = len(phrase)
                if i + n <= end and (n == 2 or tuple(words[i : i + n]) == phrase):
                    return i, i + n
        if words[i] in self.single:
            return i, i + 1
        return None

    def matches(self, words: list[str], pairs: list[str] | None = None) -> list[tuple[int, int]]:
        """Non-overlapping `(first, last + 1)` word ranges of `words` that spell a phrase, leftmost-longest.
        `pairs` is `pairs_of(words)`, when the caller has it already.

        >>> PhraseIndex.of(["in conclusion", "in light of", "so"]).matches(["so", "in", "light", "of", "it"])
        [(0, 1), (1, 4)]
        """
        if pairs is None:
            pairs = pairs_of(words)
        by_pair, single = self.by_pair, self.single
        # Candidate positions by C-speed set tests, then the phrases that start there.
        positions = sorted(
            {i for i, p in enumerate(pairs) if p in by_pair} | {i for i, w in enumerate(words) if w in single}
        )
        found: list[tuple[int, int]] = []
        after = 0  # the end of the last match: matches do not overlap
        end = len(words)
        for i in positions:
            if i >= after and (match := self._at(words, pairs, i, end)) is not None:
                found.append(match)
                after = match[1]
        return found

    def starts(self, words: list[str], pairs: list[str], at: int, end: int) -> tuple[int, int] | None:
        """The longest phrase that starts exactly at word `at` and ends by `end`, as a word range."""
        return self._at(words, pairs, at, end)


@dataclass(frozen=True)
class Lexicon:
    """Every list the signals use, compiled."""

    stock_phrases: PhraseIndex
    buzzwords: frozenset[str]
    transitions: PhraseIndex
    attributions: PhraseIndex
    heading_terms: PhraseIndex
    chrome: re.Pattern[str]
    farm_chrome: re.Pattern[str]
    abbreviations: frozenset[str]
    months: frozenset[str]
    weekdays: frozenset[str]
    calendar: frozenset[str]
    function_words: frozenset[str]


def _any_line(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The lists in `dedup/farm/lexicon.json`, compiled (once per process)."""
    raw = json.loads(resources.files("dedup.farm").joinpath("lexicon.json").read_text(encoding="utf-8"))
    return Lexicon(
        stock_phrases=PhraseIndex.of(raw["stock_phrases"]),
        buzzwords=frozenset(w for p in raw["buzzwords"] for w in words_of(p)),
        transitions=PhraseIndex.of(raw["transitions"]),
        attributions=PhraseIndex.of(raw["attribution_verbs"]),
        heading_terms=PhraseIndex.of(raw["generic_heading_terms"]),
        chrome=_any_line(raw["chrome_lines"]),
        farm_chrome=_any_line(raw["farm_chrome_lines"]),
        abbreviations=frozenset(a.lower() for a in raw["abbreviations"]),
        months=frozenset(raw["months"]),
        weekdays=frozenset(raw["weekdays"]),
        calendar=frozenset(raw["months"]) | frozenset(raw["weekdays"]),
        function_words=frozenset(raw["function_words"]),
    )
