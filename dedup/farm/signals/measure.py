"""Every intrinsic signal of a text in one compiled call, and the `Measure` (value and evidence) of each.

`measure_batch` gathers the prose words of every text of a batch laid out at once (`prose_pages`) and runs
each family's kernel over them, text by text. A scan makes no room for evidence (it reports none);
`measured`, the per-article entry point of `dedup.score`, runs it on a batch of one with room for evidence,
whose byte spans become character offsets only when a person asks for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.farm.lexicon import FUNCTION_WORD, StyleTable, style_table
from dedup.farm.signals.base import (
    CODES,
    COLUMNS,
    ENGLISH,
    MAX_SPANS,
    STYLE,
    Out,
    Pages,
    Tables,
    Texts,
    local_ids,
    tables_for,
)
from dedup.farm.signals.layout import page_layout
from dedup.farm.signals.phrases import phrases
from dedup.farm.signals.repetition import repetition
from dedup.farm.signals.style import rhythm, sourcing
from dedup.farm.signals.vocabulary import style_words
from dedup.farm.text import Article, Layout, Rows
from dedup.jit import compiling_aside, kernel, ready
from dedup.text.utf8 import byte_view

__all__ = [
    "CODES",
    "COLUMNS",
    "ENGLISH",
    "FAMILIES",
    "INTRINSIC",
    "MAX_SPANS",
    "SCORE_ASIDE",
    "Measure",
    "Measured",
    "SignalFn",
    "compile_measure",
    "measure_batch",
    "measure_texts",
    "measured",
    "prose_pages",
]

Span = tuple[int, int]


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


# The families' kernels, each over a whole batch, filling its own columns.
FAMILIES = (phrases, rhythm, sourcing, repetition, page_layout, style_words)
# The heaviest four, which a first `dedup score` compiles in a second process (`compile_measure`) while it
# compiles the text's layout and the other two: scoring compiles little else.
SCORE_ASIDE = (phrases, rhythm, sourcing, page_layout)


@kernel
def prose_pages(lay: Layout, rows: Rows, t: Tables, values: npt.NDArray[np.float64]) -> Pages:
    """The prose words of every text of a batch laid out by `text.layout_encoded`, gathered (`Pages`), and
    each text's share of prose words that are common English function words into `values[d, ENGLISH]`."""
    w_ptr, _, p_ptr, _ = rows
    total = lay.prose.shape[0]
    keys = np.empty(total, dtype=np.uint64)
    ids = np.empty(total, dtype=np.int32)
    pos = np.empty((total, 2), dtype=np.int64)
    chars = np.empty(total, dtype=np.int32)
    shape = np.empty(total, dtype=np.uint8)
    local = np.empty(total, dtype=np.int64)
    # The prose words' rows gathered in one loop rather than five fancy-index copies (`w_key[prose]`, ...),
    # which numba compiles to a general gather each.
    for d in range(p_ptr.shape[0] - 1):
        w0, p0, p1 = w_ptr[d], p_ptr[d], p_ptr[d + 1]
        function = 0
        for i in range(p0, p1):
            w = w0 + lay.prose[i]
            keys[i] = lay.w_key[w]
            ids[i] = lay.w_lex[w]
            pos[i, 0] = lay.w_pos[w, 0]
            pos[i, 1] = lay.w_pos[w, 1]
            chars[i] = lay.w_chars[w]
            shape[i] = lay.w_shape[w]
            if t.word_flags[ids[i]] & FUNCTION_WORD:
                function += 1
        text_local, _ = local_ids(keys[p0:p1])
        for i in range(p1 - p0):
            local[p0 + i] = text_local[i]
        n = p1 - p0
        values[d, ENGLISH] = function / n if n else 0.0
    return Pages(keys, ids, pos, chars, shape, local)


def measure_batch(
    buf: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], lay: Layout, rows: Rows, t: Tables, out: Out
) -> None:
    """Every intrinsic signal of each text of a batch laid out by `text.layout_encoded` (text `d` is
    `buf[offsets[d]:offsets[d + 1]]` and owns the rows `rows[0][d]:rows[0][d + 1]` of the words, and so on):
    values (NaN where not measured) to `out.values[d]` and counts to `out.counts[d]`, a row per text;
    `out.values[d, ENGLISH]` is the share of its prose words that are common English function words.
    Evidence (byte spans, `out.ev.shape[1]` of them at most per signal, none when no one reads them) goes to
    `out.ev` and `out.ev_n`, which the texts share: a scan makes no room for it, `measured` has one text.

    The scan, `dedup.score` and the index all run these kernels, each compiled once for one set of argument
    types. Each family's kernel runs over the whole batch rather than being called by one kernel that runs
    them all: a kernel that calls others builds their code once more, and kernels that no kernel calls can
    be compiled in two processes at once (`compile_measure`)."""
    out.values[:] = np.nan
    out.counts[:] = 0
    out.ev_n[:] = 0
    pages = prose_pages(lay, rows, t, out.values)
    texts = Texts(buf, offsets, lay, rows, pages)
    # The families being compiled aside on a first run come last: this process compiles the others meanwhile.
    for family in sorted(FAMILIES, key=compiling_aside):
        ready(family)
        family(texts, t, out)


def measure_texts(
    buf: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], lay: Layout, rows: Rows, style: StyleTable
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """`measure_batch` of a batch laid out by `text.layout_encoded`, `style_words` over `style`: the values
    (NaN where not measured) and counts of every text, a row each."""
    n = offsets.shape[0] - 1
    out = Out(
        np.empty((n, COLUMNS), dtype=np.float64),
        np.empty((n, COLUMNS), dtype=np.int64),
        np.empty((COLUMNS, 0, 2), dtype=np.int64),
        np.zeros(COLUMNS, dtype=np.int64),
    )
    measure_batch(buf, offsets, lay, rows, tables_for(style), out)
    return out.values, out.counts


def compile_measure(*families: Any) -> None:
    """Compile these of the `FAMILIES` (all by default) for the argument types every caller gives them, on a
    batch of no text (or load them from numba's cache): what a first run compiles in a second process
    (`jit.compile_aside`)."""
    from dedup.farm.combine import load_params

    none = np.zeros(1, dtype=np.int64)
    texts = Texts(byte_view(b""), none, Layout.empty(), (none, none, none, none), Pages.empty())
    out = Out(
        np.empty((0, COLUMNS), dtype=np.float64),
        np.empty((0, COLUMNS), dtype=np.int64),
        np.empty((COLUMNS, 0, 2), dtype=np.int64),
        np.zeros(COLUMNS, dtype=np.int64),
    )
    t = tables_for(style_table(load_params().vocabulary))
    for family in families or FAMILIES:
        family(texts, t, out)


@dataclass(frozen=True)
class Measured:
    """What `measure_batch` found for one article: values (NaN: not measured), counts, byte evidence."""

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
    lay = a.layout
    # The article as a batch of one: its rows are all of the layout's.
    rows = (_all(lay.w_key), _all(lay.l_key), _all(lay.prose), _all(lay.sentences))
    out = Out(
        np.empty((1, COLUMNS), dtype=np.float64),
        np.empty((1, COLUMNS), dtype=np.int64),
        np.zeros((COLUMNS, MAX_SPANS, 2), dtype=np.int64),
        np.empty(COLUMNS, dtype=np.int64),
    )
    data = byte_view(a.data)
    measure_batch(
        data, np.array([0, data.shape[0]], dtype=np.int64), lay, rows, tables_for(style_table(vocabulary)), out
    )
    result = Measured(out.values[0], out.counts[0], out.ev, out.ev_n)
    a.memo[key] = (vocabulary, result)
    return result


def _all(rows: npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    # The pointers of a batch of one text that owns every row.
    return np.array([0, rows.shape[0]], dtype=np.int64)


def _signal(k: int) -> SignalFn:
    def signal(a: Article) -> Measure:
        return measured(a).measure(a, k)

    signal.__name__ = CODES[k]
    return signal


INTRINSIC: dict[str, SignalFn] = {code: _signal(k) for k, code in enumerate(CODES) if k != STYLE}
