"""What every family of signals shares: the column of each signal, the arrays a kernel reads and writes (named
tuples, so a kernel takes three arguments rather than thirty), and the one way to record evidence.

A family's kernel is `family(page, tables, out)`: it reads one laid-out text (`Page`) and what words and
characters are looked up in (`Tables`), and for each of its signals writes the value to `out.values[k]` (left
NaN when the text gives nothing to measure), a count for messages to `out.counts[k]`, and up to
`out.ev.shape[1]` evidence spans (byte offsets into the text) to `out.ev[k]` (`put`); the value always counts
everything, whatever room there is for evidence. A family is one kernel rather than one per signal because
numba builds every kernel on its own (its module and its wrapper unboxing each array of the named tuples).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import tables as char_tables
from dedup.farm.lexicon import StyleTable, lexicon
from dedup.farm.text import Layout
from dedup.jit import Int, kernel

__all__ = [
    "CODES",
    "COLUMNS",
    "ENGLISH",
    "MAX_SPANS",
    "Out",
    "Page",
    "Pages",
    "Phrases",
    "Tables",
    "Texts",
    "local_ids",
    "page_of",
    "put",
    "put_in_order",
    "tables_for",
]

MAX_SPANS = 25

# The intrinsic signals in the order of the kernels' output columns; then `style_words`, and last the share
# of English function words (not a signal: it says whether the style signals apply).
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
# Columns as int64 scalars: a kernel passing one to another kernel then passes a plain integer, not a
# literal that would compile the callee once more for each value.
(
    STOCK,
    BUZZ,
    TRANSITIONS,
    DIVERSITY,
    BURST,
    NUMBERS,
    ATTRIBUTION,
    NAMES,
    WORD_LENGTH,
    PUNCTUATION,
    FIRST_PERSON,
    REPEATED,
    TOP,
    HEADINGS,
    TITLE,
    DUPLICATE_LINES,
    BOILERPLATE,
    FARM_CHROME,
    STYLE,
) = (np.int64(k) for k in range(len(CODES)))


class Phrases(NamedTuple):
    """The phrase lists of the lexicon as `match_phrases` reads them (`Lexicon` says what each array holds)."""

    singles: npt.NDArray[np.bool_]
    pair_keys: npt.NDArray[np.uint64]
    pair_ids: npt.NDArray[np.int32]
    group_ptr: npt.NDArray[np.int64]
    words: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int32]


class Tables(NamedTuple):
    """What the kernels look words and characters up in: character flags (`chars.tables()`), each lexicon
    word's flags and the phrase lists (`lexicon()`), and the `style_words` vocabulary (`style_table`): its
    word table, weights and ranks."""

    char_flags: npt.NDArray[np.uint8]
    word_flags: npt.NDArray[np.int32]
    phrases: Phrases
    style_keys: npt.NDArray[np.uint64]
    style_ids: npt.NDArray[np.int32]
    style_weights: npt.NDArray[np.float64]
    style_ranks: npt.NDArray[np.int32]


def tables_for(style: StyleTable) -> Tables:
    """The tables of the shipped lexicon with `style` as the vocabulary."""
    lex = lexicon()
    phrases = Phrases(lex.singles, lex.pairs.keys, lex.pairs.ids, lex.group_ptr, lex.phrase_words, lex.phrase_len)
    return Tables(char_tables()[0], lex.flags, phrases, style.words.keys, style.words.ids, style.weights, style.ranks)


class Page(NamedTuple):
    """One laid-out text: `buf[lo:]` holds its bytes, `lay` its layout (offsets relative to `lo`), and its
    prose words gathered in order, one row each: `keys`, lexicon `ids`, byte span `pos`, `chars`, `shape`,
    and `local` (small integers, equal words equal, `local_ids`). `scratch` has a row for each of the text's
    words (prose or not) and one more, for matches."""

    buf: npt.NDArray[np.uint8]
    lo: np.int64
    lay: Layout
    keys: npt.NDArray[np.uint64]
    ids: npt.NDArray[np.int32]
    pos: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int32]
    shape: npt.NDArray[np.uint8]
    local: npt.NDArray[np.int64]
    scratch: npt.NDArray[np.int64]


class Pages(NamedTuple):
    """The prose words of every text of a batch, gathered in order, one row each (text `d` owns the rows
    `rows[2][d]:rows[2][d + 1]`, as its prose does): `keys`, lexicon `ids`, byte span `pos`, `chars`, `shape`,
    and `local` (small integers per text, equal words equal, `local_ids`)."""

    keys: npt.NDArray[np.uint64]
    ids: npt.NDArray[np.int32]
    pos: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int32]
    shape: npt.NDArray[np.uint8]
    local: npt.NDArray[np.int64]

    @classmethod
    def empty(cls) -> Pages:
        """The pages of a batch of no text, their arrays of the types `measure.prose_pages` gives."""
        return cls(
            np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32), np.empty((0, 2), dtype=np.int64),
            np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64),
        )  # fmt: skip


class Texts(NamedTuple):
    """A batch of texts as the families read it: text `d` is `buf[offsets[d]:offsets[d + 1]]`, laid out by
    `text.layout_encoded` (`lay`, `rows`), its prose words gathered in `pages`."""

    buf: npt.NDArray[np.uint8]
    offsets: npt.NDArray[np.int64]
    lay: Layout
    rows: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
    pages: Pages


class Out(NamedTuple):
    """What the signals write: `values` and `counts` a column each, evidence `ev[k, :ev_n[k]]` (byte spans)."""

    values: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    ev: npt.NDArray[np.int64]
    ev_n: npt.NDArray[np.int64]


@kernel
def page_of(texts: Texts, d: Int) -> Page:
    """Text `d` of a batch as a `Page`: views of its rows, and scratch room of its own."""
    w_ptr, l_ptr, p_ptr, s_ptr = texts.rows
    lay, pages = texts.lay, texts.pages
    w0, w1 = w_ptr[d], w_ptr[d + 1]
    l0, l1 = l_ptr[d], l_ptr[d + 1]
    p0, p1 = p_ptr[d], p_ptr[d + 1]
    text = Layout(
        lay.w_key[w0:w1], lay.w_lex[w0:w1], lay.w_pos[w0:w1], lay.w_chars[w0:w1], lay.w_shape[w0:w1],
        lay.l_pos[l0:l1], lay.l_key[l0:l1], lay.kinds[l0:l1], lay.prose[p0:p1], lay.sentences[s_ptr[d] : s_ptr[d + 1]],
    )  # fmt: skip
    scratch = np.empty((max(p1 - p0, w1 - w0) + 1, 2), dtype=np.int64)
    return Page(
        texts.buf, texts.offsets[d], text, pages.keys[p0:p1], pages.ids[p0:p1], pages.pos[p0:p1],
        pages.chars[p0:p1], pages.shape[p0:p1], pages.local[p0:p1], scratch,
    )  # fmt: skip


@kernel
def put(out: Out, k: np.int64, start: np.int64, end: np.int64) -> None:
    """One more evidence span for signal `k`, while there is room (none when no one reads evidence)."""
    n = out.ev_n[k]
    if n < out.ev.shape[1]:
        out.ev[k, n, 0] = start
        out.ev[k, n, 1] = end
        out.ev_n[k] = n + 1


@kernel
def local_ids(keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], int]:
    """Each key as a small integer, equal keys equal, numbered in order of first appearance; and how many."""
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
def put_in_order(out: Out, k: np.int64, found: npt.NDArray[np.int64], n: np.int64) -> None:
    """Spans `found[:n]` gathered from more than one source as evidence for signal `k`, the first ones in text
    order (sorted in place by start, stably: an insertion sort, as there are only a few)."""
    for i in range(1, n):
        start, end = found[i, 0], found[i, 1]
        j = i
        while j > 0 and found[j - 1, 0] > start:
            found[j, 0] = found[j - 1, 0]
            found[j, 1] = found[j - 1, 1]
            j -= 1
        found[j, 0] = start
        found[j, 1] = end
    for i in range(n):
        put(out, k, found[i, 0], found[i, 1])
