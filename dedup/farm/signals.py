"""One pure function per intrinsic signal: an `Article` in, a `Measure` (value and evidence spans) out.

Values are rates (per sentence, per 1,000 words, or shares of the text) so articles of any length compare.
Spans are `(start, end)` character offsets into the article's text; each list is capped at `MAX_SPANS`, the
value always counts everything.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice

import numpy as np
import numpy.typing as npt

from dedup.farm.lexicon import lexicon, words_of
from dedup.farm.text import CHROME, DATE, FARM_CHROME, HEADING, TITLE, Article

__all__ = ["INTRINSIC", "MATTR_WINDOW", "MAX_SPANS", "Measure", "SignalFn", "mattr"]

MAX_SPANS = 25
MATTR_WINDOW = 50
GOPHER_DUPLICATE_N = 5
Span = tuple[int, int]

_QUOTE = re.compile(r"[\"\u201c\u201d]([^\"\u201c\u201d\n]{12,}?)[\"\u201c\u201d]")


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


def _cap(spans: list[Span]) -> tuple[Span, ...]:
    return tuple(spans[:MAX_SPANS])


def _per_thousand(count: int, words: int) -> float | None:
    return 1000.0 * count / words if words else None


def _per_sentence(count: int, a: Article) -> float | None:
    return count / len(a.sentences) if a.sentences else None


def stock_phrases(a: Article) -> Measure:
    """Stock phrases of spun and generated prose ("in conclusion", "serves as a reminder") per 1,000 words.

    >>> from dedup.farm.text import parse
    >>> stock_phrases(parse("In conclusion, the talks went well and paved the way.")).value  # 2 in 10 words
    200.0
    """
    found = lexicon().stock_phrases.matches(a.words, a.pairs)
    return Measure(_per_thousand(len(found), len(a.words)), words=_cap(found), count=len(found))


def buzzwords(a: Article) -> Measure:
    """Words generated and SEO prose over-uses ("pivotal", "underscores", "landscape") per 1,000 words."""
    vocabulary = lexicon().buzzwords
    found = [(i, i + 1) for i, w in enumerate(a.words) if w in vocabulary]
    return Measure(_per_thousand(len(found), len(a.words)), words=_cap(found), count=len(found))


def transitions(a: Article) -> Measure:
    """Share of sentences that open with a connective ("Furthermore,", "Overall,", "In addition,")."""
    index = lexicon().transitions
    found = [m for lo, hi in a.sentences if (m := index.starts(a.words, a.pairs, lo, hi)) is not None]
    return Measure(_per_sentence(len(found), a), words=_cap(found), count=len(found))


def mattr(ids: npt.NDArray[np.int64], window: int = MATTR_WINDOW) -> tuple[float, int]:
    """Moving-average type-token ratio of a word sequence (Covington & McFall 2010), and the first window
    with the fewest types; the plain type-token ratio (window 0) when the sequence is shorter than a window.

    >>> mattr(np.array([0, 1, 0, 2, 2]), window=3)  # windows [0 1 0] [1 0 2] [0 2 2]: 2, 3, 2 types
    (0.7777777777777778, 0)
    """
    n = int(ids.shape[0])
    if n <= window:
        return len(np.unique(ids)) / n, 0
    # A word adds a type to each window that holds it but not its previous occurrence.
    order = np.argsort(ids, kind="stable")
    same = ids[order][1:] == ids[order][:-1]
    previous = np.full(n, -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    windows = n - window + 1
    at = np.arange(n, dtype=np.int64)
    lo = np.maximum(np.maximum(at - window + 1, previous + 1), 0)
    hi = np.minimum(at, windows - 1)
    ok = hi >= lo
    types = np.cumsum(np.bincount(lo[ok], minlength=windows + 1) - np.bincount(hi[ok] + 1, minlength=windows + 1))
    types = types[:windows]
    return float(types.sum()) / (windows * window), int(np.argmin(types))


def lexical_diversity(a: Article) -> Measure:
    """Moving-average type-token ratio over 50-word windows (Covington & McFall 2010); evidence: the least
    diverse window. Below 50 words, the plain type-token ratio.

    >>> from dedup.farm.text import parse
    >>> lexical_diversity(parse("the cat saw the dog")).value
    0.8
    """
    n = len(a.words)
    if n == 0:
        return Measure(None)
    value, at = mattr(a.ids)
    return Measure(value, words=((at, min(n, at + MATTR_WINDOW)),), count=max(1, n - MATTR_WINDOW + 1))


def burstiness(a: Article) -> Measure:
    """Coefficient of variation of sentence lengths in words (std / mean): low is an even, machine rhythm.
    Evidence: the shortest and the longest sentence.

    >>> from dedup.farm.text import parse
    >>> burstiness(parse("One two. One two three four five six.")).value
    0.5
    """
    lengths = [hi - lo for lo, hi in a.sentences]
    if len(lengths) < 2:
        return Measure(None)
    mean = sum(lengths) / len(lengths)
    variance = sum((x - mean) ** 2 for x in lengths) / len(lengths)
    shortest = min(range(len(lengths)), key=lengths.__getitem__)
    longest = max(range(len(lengths)), key=lengths.__getitem__)
    return Measure(
        variance**0.5 / mean, words=tuple(sorted({a.sentences[shortest], a.sentences[longest]})), count=len(lengths)
    )


_NUMBERS = re.compile(r"\d+(?:[.,:/]\d+)*")
_DIGIT = re.compile(r"\d")


def numbers(a: Article) -> Measure:
    """Numbers ("84", "1,200", "5.6") and dates (month and weekday names written with a capital) per
    sentence: how concrete the piece is."""
    calendar = lexicon().calendar
    dates = [(i, i + 1) for i, w in enumerate(a.words) if w in calendar and a.cased[i][0].isupper()]
    text = a.text
    figures = [
        m.span()
        for start, end in a.prose_spans
        if _DIGIT.search(text, start, end)
        for m in _NUMBERS.finditer(text, start, end)
    ]
    count = len(dates) + len(figures)
    return Measure(_per_sentence(count, a), _cap(figures), _cap(dates), count=count)


def attribution(a: Article) -> Measure:
    """Quotations and attributions ("said", "according to") per sentence: whether claims have a source."""
    verbs = lexicon().attributions.matches(a.words, a.pairs)
    text = a.text
    quotes = [
        m.span()
        for start, end in a.prose_spans
        if '"' in (line := text[start:end]) or "\u201c" in line
        for m in _QUOTE.finditer(text, start, end)
    ]
    return Measure(
        _per_sentence(len(verbs) + len(quotes), a), _cap(quotes), _cap(verbs), count=len(verbs) + len(quotes)
    )


def names(a: Article) -> Measure:
    """Capitalised words inside sentences (names of people, places, bodies) per sentence."""
    cased, words = a.cased, a.words
    function_words = lexicon().function_words
    found = [
        (i, i + 1)
        for lo, hi in a.sentences
        for i in range(lo + 1, hi)
        if cased[i][0].isupper() and words[i] not in function_words and words[i] != "i"
    ]
    return Measure(_per_sentence(len(found), a), words=_cap(found), count=len(found))


def word_length(a: Article) -> Measure:
    """Mean word length in characters: generated prose leans on long abstract words ("significant",
    "collaboration"). Evidence: the words of 12 letters or more.

    >>> from dedup.farm.text import parse
    >>> word_length(parse("The cat sat on a big mat.")).value
    2.5714285714285716
    """
    if not a.words:
        return Measure(None)
    lengths = a.lengths
    long = np.flatnonzero(lengths >= 12).tolist()
    return Measure(float(lengths.mean()), words=_cap([(i, i + 1) for i in long]), count=len(long))


_ASIDE = re.compile(r"[;:()\u2014\u2013]|(?<= )-(?= )|--")  # what `_ASIDE_MARKS` and " - " count
_ASIDE_MARKS = (";", ":", "(", ")", "\u2014", "\u2013", "--")


def punctuation(a: Article) -> Measure:
    """Colons, semicolons, brackets and dashes per sentence: the asides and lists of reported news, rare in
    generated prose."""
    prose = [a.text[start:end] for start, end in a.prose_spans]
    count = sum(p.count(c) for p in prose for c in _ASIDE_MARKS) + sum(p.count(" - ") for p in prose)
    found: list[Span] = []
    if count:
        matches = (m for start, end in a.prose_spans for m in _ASIDE.finditer(a.text, start, end))
        found = [m.span() for m in islice(matches, MAX_SPANS)]
    return Measure(_per_sentence(count, a), tuple(found), count=count)


_FIRST_PERSON = frozenset({"i", "we", "me", "us", "my", "our", "i'm", "we're", "i've", "we've", "i'd", "we'd"})


def first_person(a: Article) -> Measure:
    """First-person words ("I", "we", "our") per 1,000 words: people quoted in their own voice."""
    found = [(i, i + 1) for i, w in enumerate(a.words) if w in _FIRST_PERSON]
    return Measure(_per_thousand(len(found), len(a.words)), words=_cap(found), count=len(found))


def style_words(a: Article, weights: Mapping[str, float]) -> Measure:
    """Word choice (Mosteller & Wallace 1964): the learned weights of the text's words from a topic-neutral
    vocabulary (words common in every training corpus), each word's `1 + log count` over the vector's
    length, summed. Evidence: the occurrences of the words that lean most toward generated text.

    >>> from dedup.farm.text import parse
    >>> # additionally once, the twice: (1 * 1.0 + (1 + ln 2) * -0.5) / sqrt(1 + (1 + ln 2) ** 2)
    >>> round(style_words(parse("Additionally, the plan and the cost."), {"additionally": 1.0, "the": -0.5}).value, 4)
    0.078
    """
    counts = {w: c for w, c in Counter(a.words).items() if w in weights}
    if not counts:
        return Measure(None if not a.words else 0.0)
    tf = {w: 1.0 + math.log(c) for w, c in counts.items()}
    norm = math.sqrt(sum(x * x for x in tf.values()))
    value = sum(x * weights[w] for w, x in tf.items()) / norm
    leaning = sorted((w for w in counts if weights[w] > 0.0), key=lambda w: (-weights[w], w))
    rank = {w: k for k, w in enumerate(leaning)}
    found = sorted([(rank[w], i) for i, w in enumerate(a.words) if w in rank])[:MAX_SPANS]
    return Measure(value, words=tuple(sorted((i, i + 1) for _, i in found)), count=len(leaning))


def _ngrams(ids: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.uint64]:
    # A polynomial hash of each word n-gram (wrapping uint64 arithmetic; collisions are negligible here).
    h = np.zeros(ids.shape[0] - n + 1, dtype=np.uint64)
    for k in range(n):
        h = h * np.uint64(1_000_003) + ids[k : ids.shape[0] - n + 1 + k].astype(np.uint64)
    return h


def _runs(mask: npt.NDArray[np.bool_]) -> list[Span]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def _groups(grams: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each n-gram: how often it occurs, and where it first occurs (np.unique's answer, in fewer steps)."""
    order = np.argsort(grams, kind="stable")
    ordered = grams[order]
    new = np.empty(ordered.shape[0], dtype=np.bool_)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    counts = np.empty_like(order)
    counts[order] = np.bincount(group)[group]
    first = np.empty_like(order)
    first[order] = order[new][group]  # a stable sort puts each n-gram's first occurrence first in its run
    return counts, first


def repeated_ngrams(a: Article) -> Measure:
    """Share of word characters inside word 5-grams that occur more than once (Gopher, Rae et al. 2021):
    the same phrasing spun again and again. Evidence: the repeated runs after their first occurrence.

    >>> from dedup.farm.text import parse
    >>> repeated_ngrams(parse("a b c d e x a b c d e")).value  # 10 of the 11 one-letter words
    0.9090909090909091
    """
    n = len(a.words)
    if n < GOPHER_DUPLICATE_N:
        return Measure(None)
    counts, first = _groups(_ngrams(a.ids, GOPHER_DUPLICATE_N))
    repeated = counts > 1
    later = repeated & (first != np.arange(counts.shape[0]))

    def cover(starts: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        hit = np.flatnonzero(starts)
        edge = np.bincount(hit, minlength=n + 1) - np.bincount(hit + GOPHER_DUPLICATE_N, minlength=n + 1)
        covered: npt.NDArray[np.bool_] = np.cumsum(edge[: n + 1])[:n] > 0
        return covered

    lengths = a.lengths
    runs = _runs(cover(later))
    return Measure(float(lengths[cover(repeated)].sum() / lengths.sum()), words=_cap(runs), count=len(runs))


def top_ngram(a: Article) -> Measure:
    """Share of word characters taken by the most frequent word 3-gram (Gopher's top n-gram share): one
    phrase ("the meeting between") carrying the text. Evidence: its occurrences.

    >>> from dedup.farm.text import parse
    >>> top_ngram(parse("big red dog and big red dog")).value  # 2 x 9 letters of 21
    0.8571428571428571
    """
    n = len(a.words)
    if n < 3:
        return Measure(None)
    counts, first = _groups(_ngrams(a.ids, 3))
    best = int(counts.max())
    if best < 2:
        return Measure(0.0)
    # Ties go to the phrase that comes first in the text.
    top = int(first[np.argmax(counts == best)])
    at = np.flatnonzero(first == top)
    lengths = a.lengths
    share = best * int(lengths[int(at[0]) : int(at[0]) + 3].sum()) / int(lengths.sum())
    return Measure(share, words=_cap([(int(i), int(i) + 3) for i in at]), count=best)


def generic_headings(a: Article) -> Measure:
    """Headings made of stock section names ("The Background", "Regional Dynamics", "Looking Ahead")."""
    terms = lexicon().heading_terms
    found = []
    headings = 0
    for line in a.lines:
        if line.kind != HEADING:
            continue
        headings += 1
        if terms.matches(list(words_of(a.text[line.start : line.end]))):
            found.append((line.start, line.end))
    return Measure(float(len(found)), _cap(found), count=headings)


def title_repetition(a: Article) -> Measure:
    """How often the title comes back: the same line again, or a sentence that repeats its words."""
    title = a.title
    if title is None:
        return Measure(0.0)
    lines = [(line.start, line.end) for line in a.lines if line.kind == TITLE and line.start != title.start]
    title_words = list(words_of(a.text[title.start : title.end]))
    n = len(title_words)
    sentences = []
    if n >= 4:
        sentences = [(lo, lo + n) for lo, hi in a.sentences if hi - lo >= n and a.words[lo : lo + n] == title_words]
    count = len(lines) + len(sentences)
    return Measure(float(count), _cap(lines), _cap(sentences), count=count)


def duplicate_lines(a: Article) -> Measure:
    """Share of the text's line characters in lines that repeat an earlier line (Gopher's duplicate line
    fraction), title repeats aside. Evidence: the repeats."""
    seen: set[str] = set()
    total = 0
    repeated: list[Span] = []
    repeated_chars = 0
    for line in a.lines:
        body = a.text[line.start : line.end]
        total += len(body)
        if line.kind == TITLE:
            continue
        if body in seen:
            repeated.append((line.start, line.end))
            repeated_chars += len(body)
        seen.add(body)
    if not total:
        return Measure(None)
    return Measure(repeated_chars / total, _cap(repeated), count=len(repeated))


def boilerplate(a: Article) -> Measure:
    """Share of the text's line characters in page furniture: "Read more", "Sign up", link lists, datelines."""
    total = 0
    found: list[Span] = []
    chrome_chars = 0
    for line in a.lines:
        total += line.end - line.start
        if line.kind in (CHROME, DATE, FARM_CHROME):
            found.append((line.start, line.end))
            chrome_chars += line.end - line.start
    if not total:
        return Measure(None)
    return Measure(chrome_chars / total, _cap(found), count=len(found))


def farm_chrome(a: Article) -> Measure:
    """Footers of syndicated and auto-published copies ("Original Story at", "The comments posted here are
    not from ...") in lines of their own."""
    found = [(line.start, line.end) for line in a.lines if line.kind == FARM_CHROME]
    return Measure(float(len(found)), _cap(found), count=len(found))


INTRINSIC: dict[str, SignalFn] = {
    "stock_phrases": stock_phrases,
    "buzzwords": buzzwords,
    "transitions": transitions,
    "lexical_diversity": lexical_diversity,
    "burstiness": burstiness,
    "numbers": numbers,
    "attribution": attribution,
    "names": names,
    "word_length": word_length,
    "punctuation": punctuation,
    "first_person": first_person,
    "repeated_ngrams": repeated_ngrams,
    "top_ngram": top_ngram,
    "generic_headings": generic_headings,
    "title_repetition": title_repetition,
    "duplicate_lines": duplicate_lines,
    "boilerplate": boilerplate,
    "farm_chrome": farm_chrome,
}
