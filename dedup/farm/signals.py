"""One compiled function per intrinsic signal over an article's layout, and a `Measure` (value and evidence) of each.

Values are rates (per sentence, per 1,000 words, or shares of the text) so articles of any length compare.
Each signal's kernel writes its value (NaN when the text gives nothing to measure), a count for messages, and
up to `MAX_SPANS` evidence spans (byte offsets, turned into character offsets only when a person asks for
evidence); the value always counts everything. `measure_layout` runs them all in one call: the scan and
`dedup.score` use the same kernels, the scan without building any `Measure`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import DIGIT, UPPER, byte_set, tables
from dedup.farm.lexicon import (
    ATTRIBUTIONS,
    BUZZWORD,
    FIRST_PERSON,
    FUNCTION_WORD,
    HEADING_TERMS,
    MONTH,
    PRONOUN_I,
    STOCK_PHRASES,
    TRANSITIONS,
    WEEKDAY,
    StyleTable,
    lexicon,
    style_table,
)
from dedup.farm.text import K_CHROME, K_DATE, K_FARM_CHROME, K_HEADING, K_PROSE, K_TITLE, Article, Layout
from dedup.jit import kernel
from dedup.text.normalize import decode_utf8, fmix64

__all__ = [
    "CODES",
    "ENGLISH",
    "INTRINSIC",
    "MATTR_WINDOW",
    "MAX_SPANS",
    "Measure",
    "Measured",
    "SignalFn",
    "mattr",
    "measure_layout",
    "measured",
]

MAX_SPANS = 25
MATTR_WINDOW = 50
GOPHER_DUPLICATE_N = 5
# The bytes that may start a mark `punctuation` counts: `;`, `:`, brackets, `-`, and the lead byte of the
# em and en dashes. A constant of the compiled code.
_PUNCTUATION_BYTES = byte_set(0x3B, 0x3A, 0x28, 0x29, 0x2D, 0xE2)
Span = tuple[int, int]

# The intrinsic signals in the order of `measure_layout`'s output columns; then `style_words`, and last the
# share of English function words (not a signal: it says whether the style signals apply).
CODES = (
    "stock_phrases",
    "buzzwords",
    "transitions",
    "lexical_diversity",
    "burstiness",
    "numbers",
    "attribution",
    "names",
    "word_length",
    "punctuation",
    "first_person",
    "repeated_ngrams",
    "top_ngram",
    "generic_headings",
    "title_repetition",
    "duplicate_lines",
    "boilerplate",
    "farm_chrome",
    "style_words",
)
ENGLISH = len(CODES)
COLUMNS = ENGLISH + 1
(
    _STOCK,
    _BUZZ,
    _TRANSITIONS,
    _DIVERSITY,
    _BURST,
    _NUMBERS,
    _ATTRIBUTION,
    _NAMES,
    _WORD_LENGTH,
    _PUNCTUATION,
    _FIRST_PERSON,
    _REPEATED,
    _TOP,
    _HEADINGS,
    _TITLE,
    _DUPLICATE_LINES,
    _BOILERPLATE,
    _FARM_CHROME,
    _STYLE,
) = range(len(CODES))


@dataclass(frozen=True, slots=True)
class Measure:
    """A signal's value (None when the text gives nothing to measure), its evidence and a count for messages.

    Evidence is `spans` (character offsets) and `words` (prose word ranges, turned into offsets only when
    a person asks for evidence).
    """

    value: float | None
    spans: tuple[Span, ...] = ()
    words: tuple[Span, ...] = ()
    count: int = 0

    def evidence(self, a: Article) -> list[Span]:
        """Every evidence span as character offsets into `a.text`, in text order."""
        return sorted([*self.spans, *(a.span(i, j) for i, j in self.words)])


SignalFn = Callable[[Article], Measure]


# ---------------------------------------------------------------------------------------------------------
# Helpers shared by the kernels


@kernel
def _put(ev: npt.NDArray[np.int64], ev_n: npt.NDArray[np.int64], k: int, start: int, end: int) -> None:
    # One more evidence span for signal k, while there is room (`ev.shape[1]`: none when no one reads it).
    if ev_n[k] < ev.shape[1]:
        ev[k, ev_n[k], 0] = start
        ev[k, ev_n[k], 1] = end
        ev_n[k] += 1


@kernel
def _put_words(
    ev: npt.NDArray[np.int64], ev_n: npt.NDArray[np.int64], k: int, pos: npt.NDArray[np.int64], lo: int, hi: int
) -> None:
    # Prose words lo..hi - 1 as one evidence span.
    _put(ev, ev_n, k, pos[lo, 0], pos[hi - 1, 1])


@kernel
def match_phrases(
    ids: npt.NDArray[np.int32],
    lo: int,
    hi: int,
    k: int,
    anchored: bool,
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    out: npt.NDArray[np.int64],
) -> int:
    """Phrases of list `k` in words `lo..hi - 1`, leftmost-longest and not overlapping (`anchored`: only one
    starting at `lo`), as `(first, last + 1)` rows of `out` (room for `hi - lo`); returns how many.

    One loop with no calls inside: a call that passes arrays costs more than matching a word."""
    mask = np.uint64(pair_keys.shape[0] - 1)
    found = 0
    i = lo
    while i < hi:
        m = 0
        w = ids[i]
        if w != 0:
            if i + 1 < hi and ids[i + 1] != 0:
                key = fmix64(np.uint64((k << 56) | (np.int64(w) << 28) | np.int64(ids[i + 1])))
                at = key & mask
                while pair_ids[at] != 0 and pair_keys[at] != key:
                    at = (at + np.uint64(1)) & mask
                g = pair_ids[at]
                if g != 0:
                    for p in range(group_ptr[g - 1], group_ptr[g]):
                        n = phrase_len[p]
                        if i + n <= hi:
                            same = True
                            for j in range(2, n):
                                if ids[i + j] != phrase_words[p, j]:
                                    same = False
                                    break
                            if same:
                                m = n
                                break
            if m == 0 and singles[k, w]:
                m = 1
        if m:
            out[found, 0] = i
            out[found, 1] = i + m
            found += 1
            i += m
        else:
            i += 1
        if anchored:
            break
    return found


@kernel
def _local_ids(keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], int]:
    """Each key as a small integer, equal keys equal, numbered in order of first appearance."""
    n = keys.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    slot_key = np.empty(size, dtype=np.uint64)
    slot_id = np.full(size, -1, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    distinct = 0
    for i in range(n):
        at = keys[i] & mask
        while slot_id[at] >= 0 and slot_key[at] != keys[i]:
            at = (at + np.uint64(1)) & mask
        if slot_id[at] < 0:
            slot_key[at] = keys[i]
            slot_id[at] = distinct
            distinct += 1
        out[i] = slot_id[at]
    return out, distinct


@kernel
def _per_thousand(count: int, words: int) -> float:
    return 1000.0 * count / words if words else np.nan


@kernel
def _per_sentence(count: int, sentences: int) -> float:
    return count / sentences if sentences else np.nan


# ---------------------------------------------------------------------------------------------------------
# The signals: each writes values[k], counts[k] and its evidence. Helpers that take arrays are never called
# per word or per byte (such a call costs more than the work): loops stay inside one kernel, and evidence is
# written only while there is room for it.


@kernel
def _cite_matches(
    k: int,
    found: npt.NDArray[np.int64],
    n: int,
    pos: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    # The first matches (word ranges) as evidence.
    for j in range(min(n, ev.shape[1])):
        _put_words(ev, ev_n, k, pos, found[j, 0], found[j, 1])


@kernel
def stock_phrases(
    ids: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    scratch: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Stock phrases of spun and generated prose ("in conclusion", "serves as a reminder") per 1,000 words."""
    n = ids.shape[0]
    found = match_phrases(
        ids, 0, n, STOCK_PHRASES, False, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len, scratch
    )
    _cite_matches(_STOCK, scratch, found, pos, ev, ev_n)
    values[_STOCK] = _per_thousand(found, n)
    counts[_STOCK] = found


@kernel
def word_flags(
    k: int,
    flag: int,
    ids: npt.NDArray[np.int32],
    lex_flags: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Words of one lexicon flag per 1,000 words: `buzzwords` ("pivotal", "underscores", "landscape": words
    generated and SEO prose over-uses) and `first_person` ("I", "we", "our": people in their own voice)."""
    found = 0
    room = ev.shape[1]
    for i in range(ids.shape[0]):
        if lex_flags[ids[i]] & flag:
            if ev_n[k] < room:
                _put(ev, ev_n, k, pos[i, 0], pos[i, 1])
            found += 1
    values[k] = _per_thousand(found, ids.shape[0])
    counts[k] = found


@kernel
def transitions(
    ids: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    scratch: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Share of sentences that open with a connective ("Furthermore,", "Overall,", "In addition,")."""
    found = 0
    for s in range(sentences.shape[0]):
        lo, hi = sentences[s, 0], sentences[s, 1]
        if match_phrases(
            ids, lo, hi, TRANSITIONS, True, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len,
            scratch[found:],
        ):  # fmt: skip
            found += 1
    _cite_matches(_TRANSITIONS, scratch, found, pos, ev, ev_n)
    values[_TRANSITIONS] = _per_sentence(found, sentences.shape[0])
    counts[_TRANSITIONS] = found


@kernel
def mattr(ids: npt.NDArray[np.int64], window: int) -> tuple[float, int]:
    """Moving-average type-token ratio of a word sequence (Covington & McFall 2010), and the first window
    with the fewest types; the plain type-token ratio (window 0) when the sequence is not longer than a
    window. `ids` are small integers (`_local_ids`).

    >>> mattr(np.array([0, 1, 0, 2, 2]), 3)  # windows [0 1 0] [1 0 2] [0 2 2]: 2, 3, 2 types
    (0.7777777777777778, 0)
    """
    n = ids.shape[0]
    if n == 0:
        return np.nan, 0
    seen = np.zeros(int(ids.max()) + 1, dtype=np.int64)
    types = 0
    for i in range(min(n, window)):
        if seen[ids[i]] == 0:
            types += 1
        seen[ids[i]] += 1
    if n <= window:
        return types / n, 0
    total = types
    fewest = types
    at = 0
    for i in range(window, n):
        seen[ids[i - window]] -= 1
        if seen[ids[i - window]] == 0:
            types -= 1
        if seen[ids[i]] == 0:
            types += 1
        seen[ids[i]] += 1
        total += types
        if types < fewest:
            fewest = types
            at = i - window + 1
    windows = n - window + 1
    return total / (windows * window), at


@kernel
def lexical_diversity(
    local: npt.NDArray[np.int64],
    pos: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Moving-average type-token ratio over 50-word windows (Covington & McFall 2010); evidence: the least
    diverse window. Up to 50 words, the plain type-token ratio."""
    n = local.shape[0]
    if n == 0:
        return
    value, at = mattr(local, MATTR_WINDOW)
    values[_DIVERSITY] = value
    counts[_DIVERSITY] = max(1, n - MATTR_WINDOW + 1)
    _put_words(ev, ev_n, _DIVERSITY, pos, at, min(n, at + MATTR_WINDOW))


@kernel
def burstiness(
    pos: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Coefficient of variation of sentence lengths in words (standard deviation over mean): low is an even,
    machine rhythm. Evidence: the shortest and the longest sentence."""
    m = sentences.shape[0]
    if m < 2:
        return
    lengths = sentences[:, 1] - sentences[:, 0]
    mean = lengths.sum() / m
    variance = 0.0
    for x in lengths:
        variance += (x - mean) ** 2
    shortest = int(np.argmin(lengths))
    longest = int(np.argmax(lengths))
    values[_BURST] = math.sqrt(variance / m) / mean
    counts[_BURST] = m
    first, last = min(shortest, longest), max(shortest, longest)
    _put_words(ev, ev_n, _BURST, pos, sentences[first, 0], sentences[first, 1])
    if last != first:
        _put_words(ev, ev_n, _BURST, pos, sentences[last, 0], sentences[last, 1])


@kernel
def _sorted_evidence(
    found: npt.NDArray[np.int64], n: int, k: int, ev: npt.NDArray[np.int64], ev_n: npt.NDArray[np.int64]
) -> None:
    # Spans gathered from two sources: the first ones in text order.
    order = np.argsort(found[:n, 0], kind="mergesort")
    for j in order[: ev.shape[1]]:
        _put(ev, ev_n, k, found[j, 0], found[j, 1])


@kernel
def numbers(
    buf: npt.NDArray[np.uint8],
    lo: int,
    flags: npt.NDArray[np.uint8],
    ids: npt.NDArray[np.int32],
    shape: npt.NDArray[np.uint8],
    lex_flags: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    n_sentences: int,
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Figures ("84", "1,200", "5.6": digits, with `.,:/` between two digits) and dates (month and weekday
    names written with a capital) per sentence: how concrete the piece is."""
    room = ev.shape[1]
    found = np.empty((2 * room, 2), dtype=np.int64)
    n_found = 0
    count = 0
    for i in range(ids.shape[0]):
        if lex_flags[ids[i]] & (MONTH | WEEKDAY) and shape[i] & UPPER:
            if n_found < room:
                found[n_found, 0] = pos[i, 0]
                found[n_found, 1] = pos[i, 1]
                n_found += 1
            count += 1
    figures = 0
    for line in range(kinds.shape[0]):
        if kinds[line] != K_PROSE:
            continue
        i = lo + l_pos[line, 0]
        e = lo + l_pos[line, 1]
        start = -1  # the start of the figure being read
        while i <= e:
            if start < 0:
                # Outside a figure, ASCII bytes other than digits change nothing: skipped in a tight loop.
                while i < e and buf[i] < 0x80 and not flags[buf[i]] & DIGIT:
                    i += 1
                if i == e:
                    break
            if i < e:
                b = buf[i]
                if b < 0x80:
                    cp, width = int(b), 1
                else:
                    cp, width = decode_utf8(buf, i, e)
                digit = cp < flags.shape[0] and (flags[cp] & DIGIT) != 0
            else:
                b, cp, width, digit = np.uint8(0), 0, 1, False
            if digit:
                if start < 0:
                    start = i
            elif start >= 0:
                # A joiner between two digits keeps the figure going.
                if (b == 0x2E or b == 0x2C or b == 0x3A or b == 0x2F) and i + 1 < e:  # noqa: PLR1714 -- compiles to faster code than a set test
                    nxt = buf[i + 1]
                    if nxt < 0x80 and flags[nxt] & DIGIT:
                        i += 1
                        continue
                if figures < room:
                    found[n_found, 0] = start - lo
                    found[n_found, 1] = i - lo
                    n_found += 1
                figures += 1
                start = -1
            i += width
    count += figures
    values[_NUMBERS] = _per_sentence(count, n_sentences)
    counts[_NUMBERS] = count
    _sorted_evidence(found, n_found, _NUMBERS, ev, ev_n)


@kernel
def attribution(
    buf: npt.NDArray[np.uint8],
    lo: int,
    ids: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    n_sentences: int,
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    scratch: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Quotations (12 characters or more between two quotation marks `"`, `“`, `”` on one line) and
    attributions ("said", "according to") per sentence: whether claims have a source."""
    room = ev.shape[1]
    found = np.empty((2 * room, 2), dtype=np.int64)
    n = ids.shape[0]
    verbs = match_phrases(
        ids, 0, n, ATTRIBUTIONS, False, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len, scratch
    )
    n_found = 0
    for j in range(min(verbs, room)):
        found[n_found, 0] = pos[scratch[j, 0], 0]
        found[n_found, 1] = pos[scratch[j, 1] - 1, 1]
        n_found += 1
    quotes = 0
    for line in range(kinds.shape[0]):
        if kinds[line] != K_PROSE:
            continue
        j = lo + l_pos[line, 0]
        e = lo + l_pos[line, 1]
        opened = -1  # byte offset of an open quotation mark
        between = 0  # characters since it
        while j < e:
            # ASCII bytes other than `"` only count as characters: a run of them at once.
            k = j
            while k < e and buf[k] < 0x80 and buf[k] != 0x22:
                k += 1
            between += k - j
            j = k
            if j == e:
                break
            b = buf[j]
            if b < 0x80:
                cp, width = int(b), 1
            else:
                cp, width = decode_utf8(buf, j, e)
            if cp == 0x22 or cp == 0x201C or cp == 0x201D:  # noqa: PLR1714 -- compiles to faster code than a set test
                if opened >= 0 and between >= 12:
                    if quotes < room:
                        found[n_found, 0] = opened - lo
                        found[n_found, 1] = j + width - lo
                        n_found += 1
                    quotes += 1
                    opened = -1
                else:
                    opened = j
                between = 0
            else:
                between += 1
            j += width
    values[_ATTRIBUTION] = _per_sentence(verbs + quotes, n_sentences)
    counts[_ATTRIBUTION] = verbs + quotes
    _sorted_evidence(found, n_found, _ATTRIBUTION, ev, ev_n)


@kernel
def names(
    ids: npt.NDArray[np.int32],
    shape: npt.NDArray[np.uint8],
    lex_flags: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Capitalised words inside sentences (not the first word, not a function word or "I") per sentence:
    names of people, places, bodies."""
    found = 0
    room = ev.shape[1]
    for s in range(sentences.shape[0]):
        for i in range(sentences[s, 0] + 1, sentences[s, 1]):
            if shape[i] & UPPER and not lex_flags[ids[i]] & (FUNCTION_WORD | PRONOUN_I):
                if ev_n[_NAMES] < room:
                    _put(ev, ev_n, _NAMES, pos[i, 0], pos[i, 1])
                found += 1
    values[_NAMES] = _per_sentence(found, sentences.shape[0])
    counts[_NAMES] = found


@kernel
def word_length(
    chars: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Mean word length in characters: generated prose leans on long abstract words ("significant",
    "collaboration"). Evidence: the words of 12 characters or more."""
    n = chars.shape[0]
    if n == 0:
        return
    long = 0
    total = 0
    room = ev.shape[1]
    for i in range(n):
        total += chars[i]
        if chars[i] >= 12:
            if ev_n[_WORD_LENGTH] < room:
                _put(ev, ev_n, _WORD_LENGTH, pos[i, 0], pos[i, 1])
            long += 1
    values[_WORD_LENGTH] = total / n
    counts[_WORD_LENGTH] = long


@kernel
def punctuation(
    buf: npt.NDArray[np.uint8],
    lo: int,
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    n_sentences: int,
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Colons, semicolons, brackets and dashes per sentence: the asides and lists of reported news, rare in
    generated prose. A dash is an em or en dash, `--`, or a hyphen with a space on each side."""
    found = 0
    room = ev.shape[1]
    for line in range(kinds.shape[0]):
        if kinds[line] != K_PROSE:
            continue
        s = lo + l_pos[line, 0]
        e = lo + l_pos[line, 1]
        j = s
        while j < e:
            # One table test for the many bytes that start no mark (`byte_set`).
            while j < e and not _PUNCTUATION_BYTES[buf[j]]:
                j += 1
            if j == e:
                break
            b = buf[j]
            end = 0
            if b == 0x3B or b == 0x3A or b == 0x28 or b == 0x29:  # noqa: PLR1714 -- compiles to faster code than a set test
                end = j + 1
            elif b == 0xE2 and j + 2 < e and buf[j + 1] == 0x80 and (buf[j + 2] == 0x94 or buf[j + 2] == 0x93):
                end = j + 3  # an em or en dash
            elif b == 0x2D:
                if j + 1 < e and buf[j + 1] == 0x2D:
                    end = j + 2
                elif j > s and buf[j - 1] == 0x20 and j + 1 < e and buf[j + 1] == 0x20:
                    end = j + 1
            if end:
                if ev_n[_PUNCTUATION] < room:
                    _put(ev, ev_n, _PUNCTUATION, j - lo, end - lo)
                found += 1
                j = end
            else:
                j += 1
    values[_PUNCTUATION] = _per_sentence(found, n_sentences)
    counts[_PUNCTUATION] = found


@kernel
def _gram_counts(local: npt.NDArray[np.int64], n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each word n-gram (by its first word): how often it occurs, and where it first occurs."""
    grams = local.shape[0] - n + 1
    if grams <= 0:  # the rolling key below reads the first n words
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.empty(grams, dtype=np.uint64)
    # The key is the polynomial sum(x_k * B**(n - 1 - k)) mod 2**64 over the ids + 1: rolled from one gram
    # to the next (drop the first word's term, shift, add the new word), the same key in O(1) a gram.
    base = np.uint64(1_000_003)
    top = np.uint64(1)
    for _ in range(n - 1):
        top = top * base
    h = np.uint64(0)
    for k in range(n):
        h = h * base + np.uint64(local[k] + 1)
    keys[0] = h
    for i in range(1, grams):
        h = (h - np.uint64(local[i - 1] + 1) * top) * base + np.uint64(local[i + n - 1] + 1)
        keys[i] = h
    ids, distinct = _local_ids(keys)
    total = np.zeros(distinct, dtype=np.int64)
    first_at = np.empty(distinct, dtype=np.int64)
    for i in range(grams):
        if total[ids[i]] == 0:
            first_at[ids[i]] = i
        total[ids[i]] += 1
    # Explicit loops, not `total[ids]`: numba's fancy indexing is several times slower.
    out_total = np.empty(grams, dtype=np.int64)
    out_first = np.empty(grams, dtype=np.int64)
    for i in range(grams):
        out_total[i] = total[ids[i]]
        out_first[i] = first_at[ids[i]]
    return out_total, out_first


@kernel
def repeated_ngrams(
    local: npt.NDArray[np.int64],
    chars: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Share of word characters inside word 5-grams that occur more than once (Gopher, Rae et al. 2021):
    the same phrasing spun again and again. Evidence: the repeated runs after their first occurrence."""
    n = local.shape[0]
    g = GOPHER_DUPLICATE_N
    if n < g:
        return
    total, first = _gram_counts(local, g)
    covered = np.zeros(n + 1, dtype=np.int64)
    later = np.zeros(n + 1, dtype=np.int64)
    for i in range(total.shape[0]):
        if total[i] > 1:
            covered[i] += 1
            covered[i + g] -= 1
            if first[i] != i:
                later[i] += 1
                later[i + g] -= 1
    inside = 0
    all_chars = 0
    run_start = -1
    runs = 0
    c = 0
    d = 0
    room = ev.shape[1]
    for i in range(n + 1):
        c += covered[i]
        d += later[i]
        if i < n:
            all_chars += chars[i]
            if c > 0:
                inside += chars[i]
        if i < n and d > 0:
            if run_start < 0:
                run_start = i
        elif run_start >= 0:
            if ev_n[_REPEATED] < room:
                _put_words(ev, ev_n, _REPEATED, pos, run_start, i)
            runs += 1
            run_start = -1
    values[_REPEATED] = inside / all_chars
    counts[_REPEATED] = runs


@kernel
def top_ngram(
    local: npt.NDArray[np.int64],
    chars: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Share of word characters taken by the most frequent word 3-gram (Gopher's top n-gram share): one
    phrase ("the meeting between") carrying the text. Evidence: its occurrences; ties go to the phrase
    that comes first."""
    n = local.shape[0]
    if n < 3:
        return
    total, first = _gram_counts(local, 3)
    best = total.max()
    if best < 2:
        values[_TOP] = 0.0
        return
    top = 0  # the first n-gram that occurs `best` times (a loop: `argmax(total == best)` allocates)
    while total[top] != best:
        top += 1
    room = ev.shape[1]
    for i in range(total.shape[0]):
        if first[i] == top and ev_n[_TOP] < room:
            _put_words(ev, ev_n, _TOP, pos, i, i + 3)
    values[_TOP] = best * (chars[top] + chars[top + 1] + chars[top + 2]) / chars.sum()
    counts[_TOP] = best


@kernel
def generic_headings(
    w_lex: npt.NDArray[np.int32],
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    scratch: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Headings made of stock section names ("The Background", "Regional Dynamics", "Looking Ahead")."""
    headings = 0
    found = 0
    for line in range(kinds.shape[0]):
        if kinds[line] != K_HEADING:
            continue
        headings += 1
        lo, hi = l_pos[line, 3], l_pos[line, 4]
        if match_phrases(
            w_lex, lo, hi, HEADING_TERMS, False, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len,
            scratch,
        ):  # fmt: skip
            _put(ev, ev_n, _HEADINGS, l_pos[line, 0], l_pos[line, 1])
            found += 1
    values[_HEADINGS] = found
    counts[_HEADINGS] = headings


@kernel
def title_repetition(
    w_key: npt.NDArray[np.uint64],
    keys: npt.NDArray[np.uint64],
    pos: npt.NDArray[np.int64],
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    sentences: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """How often the title comes back: the same line again, or a sentence that opens with its words (four
    or more)."""
    title = -1
    count = 0
    for line in range(kinds.shape[0]):
        if kinds[line] == K_TITLE:
            if title < 0:
                title = line
            else:
                _put(ev, ev_n, _TITLE, l_pos[line, 0], l_pos[line, 1])
                count += 1
    if title >= 0:
        t0, t1 = l_pos[title, 3], l_pos[title, 4]
        n = t1 - t0
        if n >= 4:
            for s in range(sentences.shape[0]):
                lo, hi = sentences[s, 0], sentences[s, 1]
                if hi - lo < n:
                    continue
                same = True
                for k in range(n):
                    if keys[lo + k] != w_key[t0 + k]:
                        same = False
                        break
                if same:
                    _put_words(ev, ev_n, _TITLE, pos, lo, lo + n)
                    count += 1
    values[_TITLE] = count
    counts[_TITLE] = count


@kernel
def duplicate_lines(
    l_pos: npt.NDArray[np.int64],
    l_key: npt.NDArray[np.uint64],
    kinds: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Share of the text's line characters in lines that repeat an earlier line (Gopher's duplicate line
    fraction), title repeats aside. Evidence: the repeats."""
    n = kinds.shape[0]
    if n == 0:
        return
    ids, distinct = _local_ids(l_key)
    seen = np.zeros(distinct, dtype=np.bool_)
    total = 0
    repeated = 0
    found = 0
    for line in range(n):
        total += l_pos[line, 2]
        if kinds[line] == K_TITLE:
            continue
        if seen[ids[line]]:
            _put(ev, ev_n, _DUPLICATE_LINES, l_pos[line, 0], l_pos[line, 1])
            repeated += l_pos[line, 2]
            found += 1
        seen[ids[line]] = True
    values[_DUPLICATE_LINES] = repeated / total
    counts[_DUPLICATE_LINES] = found


@kernel
def line_kinds(
    k: int,
    l_pos: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Lines of page furniture: `boilerplate` is the share of the text's line characters in chrome, dates
    and footers ("Read more", "Sign up", link lists, datelines); `farm_chrome` the number of syndication
    and auto-publishing footer lines ("Original Story at", "The comments posted here are not from ...")."""
    total = 0
    chrome = 0
    found = 0
    for line in range(kinds.shape[0]):
        total += l_pos[line, 2]
        kind = kinds[line]
        furniture = kind == K_CHROME or kind == K_DATE  # noqa: PLR1714 -- faster compiled
        if kind == K_FARM_CHROME or (k == _BOILERPLATE and furniture):
            _put(ev, ev_n, k, l_pos[line, 0], l_pos[line, 1])
            chrome += l_pos[line, 2]
            found += 1
    if k == _FARM_CHROME:
        values[k] = found
    elif total:
        values[k] = chrome / total
    counts[k] = found


@kernel
def style_words(
    local: npt.NDArray[np.int64],
    keys: npt.NDArray[np.uint64],
    pos: npt.NDArray[np.int64],
    style_keys: npt.NDArray[np.uint64],
    style_ids: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float64],
    ranks: npt.NDArray[np.int32],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Word choice (Mosteller & Wallace 1964): the learned weights of the text's words from a topic-neutral
    vocabulary (words common in every training corpus), each word's `1 + log count` over the vector's
    length, summed. Evidence: the occurrences of the words that lean most toward generated text."""
    n = local.shape[0]
    if n == 0:
        return
    mask = np.uint64(style_keys.shape[0] - 1)
    distinct = int(local.max()) + 1
    count = np.zeros(distinct, dtype=np.int64)
    vocab = np.zeros(distinct, dtype=np.int64)
    for i in range(n):
        if count[local[i]] == 0:
            at = keys[i] & mask
            while style_ids[at] != 0 and style_keys[at] != keys[i]:
                at = (at + np.uint64(1)) & mask
            vocab[local[i]] = style_ids[at]
        count[local[i]] += 1
    dot = 0.0
    norm = 0.0
    leaning = 0
    for w in range(distinct):
        v = vocab[w]
        if v:
            # log(1) is exactly 0: most words occur once, and the logarithm is the dearest step here.
            tf = 1.0 + math.log(count[w]) if count[w] > 1 else 1.0
            dot += tf * weights[v]
            norm += tf * tf
            if weights[v] > 0.0:
                leaning += 1
    values[_STYLE] = dot / math.sqrt(norm) if norm > 0.0 else 0.0
    counts[_STYLE] = leaning
    if ev.shape[1] == 0:
        return
    # Evidence: occurrences by the word's rank (highest weight first), then position; shown in text order.
    order = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        v = vocab[local[i]]
        if v and weights[v] > 0.0:
            order[m] = ranks[v] * n + i
            m += 1
    chosen = np.sort(np.sort(order[:m])[: ev.shape[1]] % n)
    for i in chosen:
        _put(ev, ev_n, _STYLE, pos[i, 0], pos[i, 1])


@kernel
def measure_layout(
    buf: npt.NDArray[np.uint8],
    lo: int,
    flags: npt.NDArray[np.uint8],
    w_key: npt.NDArray[np.uint64],
    w_lex: npt.NDArray[np.int32],
    w_pos: npt.NDArray[np.int64],
    w_chars: npt.NDArray[np.int32],
    w_shape: npt.NDArray[np.uint8],
    l_pos: npt.NDArray[np.int64],
    l_key: npt.NDArray[np.uint64],
    kinds: npt.NDArray[np.uint8],
    prose: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    lex_flags: npt.NDArray[np.int32],
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    style_keys: npt.NDArray[np.uint64],
    style_ids: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float64],
    ranks: npt.NDArray[np.int32],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    ev: npt.NDArray[np.int64],
    ev_n: npt.NDArray[np.int64],
) -> None:
    """Every intrinsic signal of one laid-out text (`lo`: its start in `buf`) into `values` (NaN where not
    measured), `counts` and the evidence `ev[k, :ev_n[k]]` (byte spans; `ev.shape[1]` of them at most, none
    when no one reads them); `values[ENGLISH]` is the share of its prose words that are common English
    function words."""
    values[:] = np.nan
    counts[:] = 0
    ev_n[:] = 0
    # The prose words' rows gathered in one loop: five fancy-index copies (`w_key[prose]`, ...) cost several
    # times more in numba.
    n = prose.shape[0]
    keys = np.empty(n, dtype=np.uint64)
    ids = np.empty(n, dtype=np.int32)
    pos = np.empty((n, 2), dtype=np.int64)
    chars = np.empty(n, dtype=np.int32)
    shape = np.empty(n, dtype=np.uint8)
    for i in range(n):
        w = prose[i]
        keys[i] = w_key[w]
        ids[i] = w_lex[w]
        pos[i, 0] = w_pos[w, 0]
        pos[i, 1] = w_pos[w, 1]
        chars[i] = w_chars[w]
        shape[i] = w_shape[w]
    local, _ = _local_ids(keys)
    scratch = np.empty((max(ids.shape[0], w_lex.shape[0]) + 1, 2), dtype=np.int64)
    n_sentences = sentences.shape[0]
    stock_phrases(
        ids, pos, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len, scratch, values, counts, ev, ev_n
    )
    word_flags(_BUZZ, BUZZWORD, ids, lex_flags, pos, values, counts, ev, ev_n)
    transitions(
        ids, pos, sentences, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len, scratch,
        values, counts, ev, ev_n,
    )  # fmt: skip
    lexical_diversity(local, pos, values, counts, ev, ev_n)
    burstiness(pos, sentences, values, counts, ev, ev_n)
    numbers(buf, lo, flags, ids, shape, lex_flags, pos, l_pos, kinds, n_sentences, values, counts, ev, ev_n)
    attribution(
        buf, lo, ids, pos, l_pos, kinds, n_sentences, singles, pair_keys, pair_ids, group_ptr, phrase_words,
        phrase_len, scratch, values, counts, ev, ev_n,
    )  # fmt: skip
    names(ids, shape, lex_flags, pos, sentences, values, counts, ev, ev_n)
    word_length(chars, pos, values, counts, ev, ev_n)
    punctuation(buf, lo, l_pos, kinds, n_sentences, values, counts, ev, ev_n)
    word_flags(_FIRST_PERSON, FIRST_PERSON, ids, lex_flags, pos, values, counts, ev, ev_n)
    repeated_ngrams(local, chars, pos, values, counts, ev, ev_n)
    top_ngram(local, chars, pos, values, counts, ev, ev_n)
    generic_headings(
        w_lex, l_pos, kinds, singles, pair_keys, pair_ids, group_ptr, phrase_words, phrase_len, scratch,
        values, counts, ev, ev_n,
    )  # fmt: skip
    title_repetition(w_key, keys, pos, l_pos, kinds, sentences, values, counts, ev, ev_n)
    duplicate_lines(l_pos, l_key, kinds, values, counts, ev, ev_n)
    line_kinds(_BOILERPLATE, l_pos, kinds, values, counts, ev, ev_n)
    line_kinds(_FARM_CHROME, l_pos, kinds, values, counts, ev, ev_n)
    style_words(local, keys, pos, style_keys, style_ids, weights, ranks, values, counts, ev, ev_n)
    function = 0
    for i in range(ids.shape[0]):
        if lex_flags[ids[i]] & FUNCTION_WORD:
            function += 1
    values[ENGLISH] = function / ids.shape[0] if ids.shape[0] else 0.0


@kernel
def measure_batch(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    flags: npt.NDArray[np.uint8],
    w_key: npt.NDArray[np.uint64],
    w_lex: npt.NDArray[np.int32],
    w_pos: npt.NDArray[np.int64],
    w_chars: npt.NDArray[np.int32],
    w_shape: npt.NDArray[np.uint8],
    l_pos: npt.NDArray[np.int64],
    l_key: npt.NDArray[np.uint64],
    kinds: npt.NDArray[np.uint8],
    prose: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    w_ptr: npt.NDArray[np.int64],
    l_ptr: npt.NDArray[np.int64],
    p_ptr: npt.NDArray[np.int64],
    s_ptr: npt.NDArray[np.int64],
    lex_flags: npt.NDArray[np.int32],
    singles: npt.NDArray[np.bool_],
    pair_keys: npt.NDArray[np.uint64],
    pair_ids: npt.NDArray[np.int32],
    group_ptr: npt.NDArray[np.int64],
    phrase_words: npt.NDArray[np.int32],
    phrase_len: npt.NDArray[np.int32],
    style_keys: npt.NDArray[np.uint64],
    style_ids: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float64],
    ranks: npt.NDArray[np.int32],
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
) -> None:
    """Every signal over a batch laid out by `text.layout_batch` (text `d` owns the rows
    `w_ptr[d]:w_ptr[d + 1]` of the words, and so on): its measures to `values[d]` and `counts[d]`. No
    evidence: a scan reports none."""
    ev = np.empty((values.shape[1], 0, 2), dtype=np.int64)
    ev_n = np.zeros(values.shape[1], dtype=np.int64)
    for d in range(offsets.shape[0] - 1):
        w0, w1 = w_ptr[d], w_ptr[d + 1]
        l0, l1 = l_ptr[d], l_ptr[d + 1]
        measure_layout(
            buf, offsets[d], flags, w_key[w0:w1], w_lex[w0:w1], w_pos[w0:w1], w_chars[w0:w1], w_shape[w0:w1],
            l_pos[l0:l1], l_key[l0:l1], kinds[l0:l1], prose[p_ptr[d] : p_ptr[d + 1]],
            sentences[s_ptr[d] : s_ptr[d + 1]], lex_flags, singles, pair_keys, pair_ids, group_ptr, phrase_words,
            phrase_len, style_keys, style_ids, weights, ranks, values[d], counts[d], ev, ev_n,
        )  # fmt: skip


@dataclass(frozen=True)
class Measured:
    """What `measure_layout` found for one article: values (NaN: not measured), counts, byte evidence."""

    values: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    ev: npt.NDArray[np.int64]
    ev_n: npt.NDArray[np.int64]

    def measure(self, a: Article, k: int) -> Measure:
        """Signal `k` as a `Measure`, its evidence in character offsets into `a.text`."""
        return self.measures(a)[k]

    def measures(self, a: Article) -> list[Measure]:
        """Every column but the last as a `Measure`, evidence in character offsets into `a.text`."""
        n = self.ev_n[:ENGLISH]
        # Only the filled evidence rows, as (start, end) tuples in signal order: most signals have none.
        filled = self.ev[:ENGLISH][np.arange(self.ev.shape[1]) < n[:, None]]
        spans = list(map(tuple, a.chars(filled).tolist()))
        out = []
        at = 0
        values, counts = self.values[:ENGLISH].tolist(), self.counts[:ENGLISH].tolist()
        for value, count, found in zip(values, counts, n.tolist(), strict=True):
            evidence = tuple(spans[at : at + found])
            at += found
            out.append(Measure(None if math.isnan(value) else value, evidence, count=count))
        return out


def run(lay: Layout, buf: npt.NDArray[np.uint8], lo: int, style: StyleTable) -> Measured:
    """`measure_layout` over one text's layout."""
    flags, _ = tables()
    lex = lexicon()
    values = np.empty(COLUMNS, dtype=np.float64)
    counts = np.empty(COLUMNS, dtype=np.int64)
    ev = np.zeros((COLUMNS, MAX_SPANS, 2), dtype=np.int64)
    ev_n = np.empty(COLUMNS, dtype=np.int64)
    measure_layout(
        buf, lo, flags, lay.w_key, lay.w_lex, lay.w_pos, lay.w_chars, lay.w_shape, lay.l_pos, lay.l_key,
        lay.kinds, lay.prose, lay.sentences, lex.flags, lex.singles, lex.pairs.keys, lex.pairs.ids, lex.group_ptr,
        lex.phrase_words, lex.phrase_len, style.words.keys, style.words.ids, style.weights, style.ranks,
        values, counts, ev, ev_n,
    )  # fmt: skip
    return Measured(values, counts, ev, ev_n)


def measured(a: Article, vocabulary: dict[str, float] | None = None) -> Measured:
    """Every signal of `a` (`style_words` over `vocabulary`, by default the shipped model's), once per
    article and vocabulary."""
    if vocabulary is None:
        from dedup.farm.combine import load_params

        vocabulary = load_params().vocabulary
    key = f"measured:{id(vocabulary)}"
    found = a.memo.get(key)
    if isinstance(found, tuple) and found[0] is vocabulary:
        return found[1]  # type: ignore[no-any-return]
    buf = np.frombuffer(a.data, dtype=np.uint8) if a.data else np.zeros(1, dtype=np.uint8)
    result = run(a.layout, buf, 0, style_table(vocabulary))
    a.memo[key] = (vocabulary, result)
    return result


def _signal(k: int) -> SignalFn:
    def signal(a: Article) -> Measure:
        return measured(a).measure(a, k)

    signal.__name__ = CODES[k]
    return signal


INTRINSIC: dict[str, SignalFn] = {code: _signal(k) for k, code in enumerate(CODES) if code != "style_words"}


def style_words_of(a: Article, vocabulary: dict[str, float]) -> Measure:
    """The `style_words` signal of `a` over `vocabulary` (word -> learned weight)."""
    return measured(a, vocabulary).measure(a, _STYLE)
