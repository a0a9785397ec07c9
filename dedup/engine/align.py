"""Two texts -> which of their sentences correspond: a monotone sentence alignment, its coverage and order.

A spin retells its source: most of its sentences have a counterpart there, in about the same order, sharing the
names, figures and rare words that survive rewording. A follow-up report on the same event shares the topic's
words but few sentences. Each text is cut into units (sentences; clauses when either text has fewer than
`SHORT_UNITS` sentences, so that a one-sentence paraphrase is still measured in parts), and two units are
compared by the cosine of their words (case-folded, numbers as written: a figure survives a rewording) weighted
by a smoothed idf over the units of both texts, English function words counted as in every unit as the TF-IDF
prior counts them (`dedup.engine.tfidf`): a function word weighs little, a topic word found in many units less
than a name or a number found in one unit of each. The alignment is the monotone matching of units of
greatest total similarity above `MIN_SIMILARITY` (a dynamic program in the manner of Needleman & Wunsch 1970,
with no gap cost), so that an aligned pair never crosses another.

`coverage` is the share of the smaller text's words in aligned units; `order` the share of the units matched
without the order constraint (each unit of the smaller text to its best counterpart) that lie on the longest
non-decreasing run of positions in the other text (1.0: the order is kept). Pure: texts in, numbers out; the
weights come from the two texts alone, so the same pair aligns alike in any scan, index or Spark job. A word is
a run of letters and digits, so in scripts written without spaces a unit's words are whole runs of characters,
and such texts align coarsely.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import numpy.typing as npt

from dedup.engine.tfidf import PRIOR_DOCUMENTS
from dedup.jit import first_at_least, kernel
from dedup.model import REWRITE, AlignedSpan, Alignment, ScanResult
from dedup.text.function_words import FUNCTION_CHARACTERS, FUNCTION_WORDS
from dedup.text.normalize import normalize_text
from dedup.text.ragged import Ragged

__all__ = [
    "MIN_SIMILARITY",
    "SHORT_UNITS",
    "AlignedSpan",
    "Alignment",
    "align",
    "align_pairs",
    "align_rewrites",
    "units",
]

# Units less similar than this are not aligned: below it, two units of one story's report share its topic's
# words, not a statement.
MIN_SIMILARITY = 0.25
# A text of fewer sentences than this is cut into clauses, for both texts of the pair.
SHORT_UNITS = 3
# A sentence ends at . ! ? (and any closing quotes or brackets) before white space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u2019\u201d)\]]*(?=\s)|\n")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]+(?=\s)|[.!?]+[\"'\u2019\u201d)\]]*(?=\s)|\n")
_WORD = re.compile(r"[^\W_]+")


def units(text: str, *, clauses: bool = False) -> list[tuple[int, int]]:
    """The character spans of `text`'s sentences (or clauses), white space trimmed, those without a word left out.

    >>> units("The mayor spoke. Rates rose 2.5% today!\\nMore later")
    [(0, 16), (17, 39), (40, 50)]
    >>> units("Rain fell, and the river rose.", clauses=True)
    [(0, 10), (11, 30)]
    """
    ends = _CLAUSE_END if clauses else _SENTENCE_END
    out: list[tuple[int, int]] = []
    start = 0
    for m in [*ends.finditer(text), None]:
        end = len(text) if m is None else m.end()
        piece = text[start:end]
        if _WORD.search(piece):
            out.append((start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())))
        start = end
    return out


def _word_hash(word: str) -> int:
    # A stable 64-bit hash of a word (never Python's salted `hash()`).
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class _Units:
    """One text cut into units: their spans, each unit's distinct word hashes (sorted) and its word count."""

    spans: list[tuple[int, int]]
    terms: Ragged[np.uint64]
    words: npt.NDArray[np.int64]

    @staticmethod
    def of(text: str, clauses: bool, hashes: dict[str, int]) -> _Units:
        spans = units(text, clauses=clauses)
        found = [_WORD.findall(normalize_text(text[s:e])) for s, e in spans]
        flat = list(chain.from_iterable(found))
        for w in set(flat).difference(hashes):
            hashes[w] = _word_hash(w)
        counts = np.array([len(f) for f in found], dtype=np.int64)
        values = np.fromiter(map(hashes.__getitem__, flat), dtype=np.uint64, count=len(flat))
        unit = np.repeat(np.arange(len(spans), dtype=np.int64), counts)
        # Each unit's distinct words, sorted: one sort of the whole text by (unit, word).
        order = np.lexsort((values, unit))
        values, unit = values[order], unit[order]
        first = np.ones(values.shape[0], dtype=np.bool_)
        first[1:] = (values[1:] != values[:-1]) | (unit[1:] != unit[:-1])
        distinct = np.bincount(unit[first], minlength=len(spans))
        return _Units(spans, Ragged.from_sizes(values[first], distinct), counts)


@lru_cache(maxsize=1)
def _function_hashes() -> npt.NDArray[np.uint64]:
    return np.unique(np.array([_word_hash(w) for w in FUNCTION_WORDS | FUNCTION_CHARACTERS], dtype=np.uint64))


@kernel
def _idf(df: int, functional: npt.NDArray[np.uint64], column: np.uint64, total: float) -> float:
    # The smoothed idf of a word found in `df` of `total` units, a function word as in every prior document too.
    at = first_at_least(functional, column)
    prior = PRIOR_DOCUMENTS if at < functional.shape[0] and functional[at] == column else 0
    return float(np.log((1.0 + total + PRIOR_DOCUMENTS) / (1.0 + df + prior)) + 1.0)


@kernel
def _similarity(
    a_values: npt.NDArray[np.uint64],
    a_ptr: npt.NDArray[np.int64],
    b_values: npt.NDArray[np.uint64],
    b_ptr: npt.NDArray[np.int64],
    functional: npt.NDArray[np.uint64],
) -> npt.NDArray[np.float64]:
    # The cosine of every unit of a with every unit of b, words weighed by their smoothed idf over the units of
    # both (function words as in every unit, as the TF-IDF prior has them), rounded to 4 decimals. One merge of
    # the two texts' words in sorted order: each word's weight from how many units hold it, added to the norm of
    # each of them, and to the dot product of each pair of units, one of a and one of b, that share it.
    n, m = a_ptr.shape[0] - 1, b_ptr.shape[0] - 1
    a_unit = np.empty(a_values.shape[0], dtype=np.int64)
    for i in range(n):
        a_unit[a_ptr[i] : a_ptr[i + 1]] = i
    b_unit = np.empty(b_values.shape[0], dtype=np.int64)
    for j in range(m):
        b_unit[b_ptr[j] : b_ptr[j + 1]] = j
    a_order = np.argsort(a_values, kind="mergesort")
    b_order = np.argsort(b_values, kind="mergesort")
    total = float(n + m)
    norm_a = np.zeros(n)
    norm_b = np.zeros(m)
    out = np.zeros((n, m), dtype=np.float64)
    x, y = 0, 0
    while x < a_order.shape[0] or y < b_order.shape[0]:
        # The next word in order, and the runs of units of a and of b that hold it.
        if y == b_order.shape[0] or (x < a_order.shape[0] and a_values[a_order[x]] <= b_values[b_order[y]]):
            column = a_values[a_order[x]]
        else:
            column = b_values[b_order[y]]
        x_end, y_end = x, y
        while x_end < a_order.shape[0] and a_values[a_order[x_end]] == column:
            x_end += 1
        while y_end < b_order.shape[0] and b_values[b_order[y_end]] == column:
            y_end += 1
        w = _idf(x_end - x + y_end - y, functional, column, total)
        w2 = w * w
        for u in range(x, x_end):
            norm_a[a_unit[a_order[u]]] += w2
            for v in range(y, y_end):
                out[a_unit[a_order[u]], b_unit[b_order[v]]] += w2
        for v in range(y, y_end):
            norm_b[b_unit[b_order[v]]] += w2
        x, y = x_end, y_end
    for i in range(n):
        for j in range(m):
            if norm_a[i] > 0.0 and norm_b[j] > 0.0:
                out[i, j] = min(1.0, np.floor(out[i, j] / np.sqrt(norm_a[i] * norm_b[j]) * 10000.0 + 0.5) / 10000.0)
            else:
                out[i, j] = 0.0
    return out


@kernel
def _monotone(similarity: npt.NDArray[np.float64], floor: float) -> npt.NDArray[np.int64]:
    # The non-crossing matching of greatest total similarity among cells >= floor: (i, j) rows in order.
    n, m = similarity.shape
    best = np.zeros((n + 1, m + 1), dtype=np.float64)
    step = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0: skip a unit of b, 1: skip one of a, 2: match
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            value = best[i, j - 1]
            move = 0
            if best[i - 1, j] > value:
                value = best[i - 1, j]
                move = 1
            s = similarity[i - 1, j - 1]
            if s >= floor and best[i - 1, j - 1] + s > value:
                value = best[i - 1, j - 1] + s
                move = 2
            best[i, j] = value
            step[i, j] = move
    out = np.empty((min(n, m), 2), dtype=np.int64)
    k = 0
    i, j = n, m
    while i > 0 and j > 0:
        if step[i, j] == 2:
            out[k, 0] = i - 1
            out[k, 1] = j - 1
            k += 1
            i -= 1
            j -= 1
        elif step[i, j] == 1:
            i -= 1
        else:
            j -= 1
    return out[:k][::-1].copy()


def _kept_order(positions: list[int]) -> int:
    """The length of the longest non-decreasing run of `positions` (patience sorting): two sentences a spin
    merged into one keep their order.

    >>> _kept_order([0, 2, 2, 1, 3])
    4
    """
    tails: list[int] = []
    for p in positions:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] <= p:
                lo = mid + 1
            else:
                hi = mid
        tails[lo : lo + 1] = [p]
    return len(tails)


class _Cutter:
    """Units of texts, each cut once however many pairs it is in."""

    def __init__(self) -> None:
        self.hashes: dict[str, int] = {}
        self.cut: dict[tuple[int, bool], _Units] = {}
        self.functional = _function_hashes()

    def units(self, key: int, text: str, clauses: bool) -> _Units:
        if (key, clauses) not in self.cut:
            self.cut[key, clauses] = _Units.of(text, clauses, self.hashes)
        return self.cut[key, clauses]

    def align(self, ka: int, a: str, kb: int, b: str, min_similarity: float) -> Alignment:
        ua, ub = self.units(ka, a, False), self.units(kb, b, False)
        if min(len(ua.spans), len(ub.spans)) < SHORT_UNITS:
            ua, ub = self.units(ka, a, True), self.units(kb, b, True)
        size_a, size_b = int(ua.words.sum()), int(ub.words.sum())
        if not size_a or not size_b:
            return Alignment((), 0.0, 0.0, (len(ua.spans), len(ub.spans)))
        similarity = _similarity(ua.terms.values, ua.terms.ptr, ub.terms.values, ub.terms.ptr, self.functional)
        pairs = _monotone(similarity, min_similarity).tolist()
        a_smaller = size_a <= size_b
        smaller = ua.words if a_smaller else ub.words
        covered = int(sum(smaller[i if a_smaller else j] for i, j in pairs))
        # Each unit of the smaller text to its best counterpart, where one reaches the floor: is their order kept?
        table = similarity if a_smaller else similarity.T
        best, top = table.argmax(axis=1).tolist(), table.max(axis=1).tolist()
        matched = [p for p, s in zip(best, top, strict=True) if s >= min_similarity]
        order = _kept_order(matched) / len(matched) if matched else 0.0
        spans = tuple(
            AlignedSpan(ua.spans[i][0], ua.spans[i][1], ub.spans[j][0], ub.spans[j][1], float(similarity[i, j]))
            for i, j in pairs
        )
        coverage = covered / (size_a if a_smaller else size_b)
        return Alignment(spans, round(coverage, 4), round(order, 4), (len(ua.spans), len(ub.spans)))


def align(a: str, b: str, *, min_similarity: float = MIN_SIMILARITY) -> Alignment:
    """The monotone alignment of the units of `a` and `b`, with its coverage of the smaller and the order kept.

    >>> a = "Mayor Lena Ortiz opened the Harbour Bridge on Monday. It cost 40 million euros. Crowds cheered."
    >>> b = "On Monday, Mayor Lena Ortiz cut the ribbon on the Harbour Bridge. The bridge's price: 40 million euros."
    >>> result = align(a, b)
    >>> [(a[s.a_start:s.a_end][:14], b[s.b_start:s.b_end][:14]) for s in result.spans]
    [('Mayor Lena Ort', 'Mayor Lena Ort'), ('It cost 40 mil', '40 million eur')]
    >>> result.order
    1.0
    """
    return _Cutter().align(0, a, 1, b, min_similarity)


def align_pairs(
    texts: Mapping[str, str], pairs: Iterable[tuple[str, str]], *, min_similarity: float = MIN_SIMILARITY
) -> dict[tuple[str, str], Alignment]:
    """`align` of each pair of ids whose texts are both in `texts` (others are left out), each text cut once."""
    cutter = _Cutter()
    key: dict[str, int] = {}
    out: dict[tuple[str, str], Alignment] = {}
    for x, y in pairs:
        a, b = texts.get(x), texts.get(y)
        if a is None or b is None:
            continue
        kx, ky = key.setdefault(x, len(key)), key.setdefault(y, len(key))
        out[x, y] = cutter.align(kx, a, ky, b, min_similarity)
    return out


def align_rewrites(
    result: ScanResult, texts: Mapping[str, str], pairs: Iterable[tuple[str, str]] | None = None
) -> ScanResult:
    """`result` with its rewrite pairs aligned (`pairs`, as `(a, b)`, by default every rewrite pair), those whose
    texts are both in `texts`: what the JSON contract and the HTML report show of them."""
    if pairs is None:
        pairs = [(p.a, p.b) for p in result.pairs if p.relation == REWRITE]
    return result.with_alignments(align_pairs(texts, pairs))
