"""The scorer's word lists (`lexicon.json`, shipped in the package), loaded once and compiled for the kernels.

Every word of every list gets a small id (from 1) in one table keyed by the word's key (`chars.hash_words`);
an id carries flags (buzzword, function word, month, ...) and multi-word phrases are sequences of ids, so
the kernels match them on integers. Line patterns (page furniture, syndication footers) stay regular
expressions, tried only on short lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import encode, hash_span, hash_words, tables
from dedup.text.normalize import fmix64

__all__ = [
    "ATTRIBUTIONS",
    "BUZZWORD",
    "FIRST_PERSON",
    "FUNCTION_WORD",
    "HEADING_TERMS",
    "MONTH",
    "PRONOUN_I",
    "STOCK_PHRASES",
    "TRANSITIONS",
    "WEEKDAY",
    "Lexicon",
    "LinePatterns",
    "StyleTable",
    "WordTable",
    "lexicon",
    "pair_key",
    "style_table",
]

# Flags of a lexicon word.
BUZZWORD, FUNCTION_WORD, MONTH, WEEKDAY, FIRST_PERSON, PRONOUN_I = 1, 2, 4, 8, 16, 32
# The phrase lists, in the order of `Lexicon.phrase_ptr`'s rows.
STOCK_PHRASES, TRANSITIONS, ATTRIBUTIONS, HEADING_TERMS = 0, 1, 2, 3
_PHRASE_LISTS = ("stock_phrases", "transitions", "attribution_verbs", "generic_heading_terms")
_FIRST_PERSON = ("i", "we", "me", "us", "my", "our", "i'm", "we're", "i've", "we've", "i'd", "we'd")


@dataclass(frozen=True)
class WordTable:
    """Word keys -> ids (from 1; 0 where absent), open addressing with linear probing over `keys`/`ids`."""

    keys: npt.NDArray[np.uint64]
    ids: npt.NDArray[np.int32]

    @classmethod
    def of(cls, keys: list[int]) -> WordTable:
        """The table giving `keys[i]` the id `i + 1`."""
        size = 16
        while size < 4 * len(keys):
            size *= 2
        table_keys = np.zeros(size, dtype=np.uint64)
        ids = np.zeros(size, dtype=np.int32)
        for i, key in enumerate(keys):
            at = key & (size - 1)
            while ids[at] != 0:
                at = (at + 1) & (size - 1)
            table_keys[at] = key
            ids[at] = i + 1
        return cls(table_keys, ids)


@dataclass(frozen=True)
class LinePatterns:
    """Line patterns: those anchored at the line's start are tried with `match` (fast to fail), the rest with
    `search`; a line matches when either does."""

    anchored: re.Pattern[str] | None
    anywhere: re.Pattern[str] | None

    @classmethod
    def of(cls, patterns: list[str]) -> LinePatterns:
        def joined(ps: list[str]) -> re.Pattern[str] | None:
            return re.compile("|".join(f"(?:{p})" for p in ps), re.IGNORECASE) if ps else None

        return cls(
            joined([p[1:] for p in patterns if p.startswith("^")]),
            joined([p for p in patterns if not p.startswith("^")]),
        )

    def search(self, line: str) -> bool:
        """Whether `line` matches one of the patterns."""
        return bool(
            (self.anchored is not None and self.anchored.match(line))
            or (self.anywhere is not None and self.anywhere.search(line))
        )


@dataclass(frozen=True)
class Lexicon:
    """Every list the signals use, compiled.

    `words`: the table of lexicon words; `flags[id]`: each one's flags; `singles[k, id]`: whether the word is
    a phrase of list `k` on its own; longer phrases of list `k` whose first two words have ids `a`, `b` are
    group `g = pairs[pair_key(k, a, b)]`: `phrase_words[group_ptr[g - 1] : group_ptr[g]]` (ids, padded with
    0), longest first, with their lengths in `phrase_len`; `abbreviations`: sorted keys of "mr", "u.s", ...
    (`hash_span`).
    """

    words: WordTable
    flags: npt.NDArray[np.int32]
    singles: npt.NDArray[np.bool_]
    pairs: WordTable
    group_ptr: npt.NDArray[np.int64]
    phrase_words: npt.NDArray[np.int32]
    phrase_len: npt.NDArray[np.int32]
    abbreviations: npt.NDArray[np.uint64]
    chrome: LinePatterns
    farm_chrome: LinePatterns


def pair_key(k: int, first: int, second: int) -> int:
    """The key of a phrase list and the ids of a phrase's first two words (ids are below 2**28), mixed so
    that the table's slots spread."""
    return int(fmix64(np.uint64((k << 56) | (first << 28) | second)))


def _key(word: str) -> int:
    keys = hash_words(word)
    if keys.shape[0] != 1:
        raise ValueError(f"lexicon entry {word!r} is not one word")
    return int(keys[0])


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The lists in `dedup/farm/lexicon.json`, compiled (once per process)."""
    raw = json.loads(resources.files("dedup.farm").joinpath("lexicon.json").read_text(encoding="utf-8"))
    ids: dict[int, int] = {}
    flags: list[int] = [0]

    def id_of(key: int) -> int:
        if key not in ids:
            ids[key] = len(flags)
            flags.append(0)
        return ids[key]

    for name, flag in (
        ("buzzwords", BUZZWORD),
        ("function_words", FUNCTION_WORD),
        ("months", MONTH),
        ("weekdays", WEEKDAY),
    ):
        for entry in raw[name]:
            for key in hash_words(entry).tolist():
                flags[id_of(key)] |= flag
    for word in _FIRST_PERSON:
        flags[id_of(_key(word))] |= FIRST_PERSON
    flags[id_of(_key("i"))] |= PRONOUN_I

    longer: set[tuple[int, tuple[int, ...]]] = set()
    one_word: set[tuple[int, int]] = set()
    for k, name in enumerate(_PHRASE_LISTS):
        for entry in raw[name]:
            words = tuple(id_of(key) for key in hash_words(entry).tolist())
            if len(words) == 1:
                one_word.add((k, words[0]))
            elif words:
                longer.add((k, words))
    singles = np.zeros((len(_PHRASE_LISTS), len(flags)), dtype=np.bool_)
    for k, single in one_word:
        singles[k, single] = True
    # Longer phrases grouped by list and first two words; longest first ("plays a crucial role" before
    # "plays a").
    phrases = sorted(longer, key=lambda p: (p[0], p[1][:2], -len(p[1]), p[1]))
    widest = max((len(words) for _, words in phrases), default=2)
    phrase_words = np.zeros((len(phrases), widest), dtype=np.int32)
    phrase_len = np.zeros(len(phrases), dtype=np.int32)
    groups: dict[int, list[int]] = {}
    for i, (k, words) in enumerate(phrases):
        phrase_words[i, : len(words)] = words
        phrase_len[i] = len(words)
        groups.setdefault(pair_key(k, words[0], words[1]), []).append(i)
    pair_keys = list(groups)
    group_ptr = np.array([0, *(groups[key][-1] + 1 for key in pair_keys)], dtype=np.int64)
    _, lower = tables()
    abbreviations = sorted({int(hash_span(b, 0, b.shape[0], lower)) for b in map(encode, raw["abbreviations"])})
    return Lexicon(
        words=WordTable.of(list(ids)),
        flags=np.array(flags, dtype=np.int32),
        singles=singles,
        pairs=WordTable.of(pair_keys),
        group_ptr=group_ptr,
        phrase_words=phrase_words,
        phrase_len=phrase_len,
        abbreviations=np.array(abbreviations, dtype=np.uint64),
        chrome=LinePatterns.of(raw["chrome_lines"]),
        farm_chrome=LinePatterns.of(raw["farm_chrome_lines"]),
    )


@dataclass(frozen=True)
class StyleTable:
    """The `style_words` vocabulary compiled: its words' table, weights, and each word's rank among those
    leaning machine (highest weight first, then alphabetically; past the end for the others)."""

    words: WordTable
    weights: npt.NDArray[np.float64]
    ranks: npt.NDArray[np.int32]


_STYLE: dict[int, tuple[dict[str, float], StyleTable]] = {}


def style_table(vocabulary: dict[str, float]) -> StyleTable:
    """`vocabulary` (word -> weight, as `Params.vocabulary`) compiled; cached while the dict lives."""
    cached = _STYLE.get(id(vocabulary))
    if cached is not None and cached[0] is vocabulary:
        return cached[1]
    words = list(vocabulary)
    leaning = sorted((w for w in words if vocabulary[w] > 0.0), key=lambda w: (-vocabulary[w], w))
    rank = {w: k for k, w in enumerate(leaning)}
    table = StyleTable(
        WordTable.of([_key(w) for w in words]),
        np.array([0.0, *(vocabulary[w] for w in words)], dtype=np.float64),
        np.array([len(words), *(rank.get(w, len(words)) for w in words)], dtype=np.int32),
    )
    _STYLE[id(vocabulary)] = (vocabulary, table)
    return table
