"""Token hashes -> TF-IDF vectors (scikit-learn's `TfidfTransformer`), their top terms, and pair cosines.

The only module that touches the vectorizer. Terms are token hashes folded into 2**20 columns (the hashing
trick, as in scikit-learn's `HashingVectorizer`), so that counts can be built batch by batch, and document
frequencies can later be kept in an index and merged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.jit import Int, kernel, radix_sort, spread
from dedup.text.function_words import FUNCTION_CHARACTERS, FUNCTION_WORDS
from dedup.text.normalize import normalize_text, tokenize
from dedup.text.ragged import Ragged, compact, offsets

__all__ = [
    "N_FEATURES",
    "PRIOR_DOCUMENTS",
    "Weights",
    "count_terms",
    "counts",
    "document_frequencies",
    "idf",
    "pair_cosines",
    "prior_frequencies",
    "rewrite_max_df",
    "runs_matrix",
    "term_columns",
    "tfidf",
    "tfidf_rows",
    "top_terms",
]

N_FEATURES = 1 << 20
# A term's column is the top 20 bits of its token hash (well mixed by the tokenizer's finalizer).
_COLUMN_SHIFT = np.uint64(64 - 20)
PRIOR_DOCUMENTS = 1000


def term_columns(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """The TF-IDF column of each token hash, as `count_terms` assigns it.

    >>> term_columns(np.array([2**64 - 1, 2**44], dtype=np.uint64)).tolist()
    [1048575, 1]
    """
    columns: npt.NDArray[np.int64] = (hashes >> _COLUMN_SHIFT).astype(np.int64)
    return columns


@kernel
def count_terms(
    tokens: npt.NDArray[np.uint64],
    lo: Int,
    hi: Int,
    out_cols: npt.NDArray[np.int32],
    out_counts: npt.NDArray[np.float32],
    base: Int,
    scratch: npt.NDArray[np.uint32],
) -> int:
    """Term counts of `tokens[lo:hi]` as sorted (column, count) runs into `out_*[base:]`; returns the run count.

    A term's column is the top 20 bits of its token hash (well mixed by the tokenizer's finalizer).
    `scratch` needs room for `hi - lo` values (for the sort).
    """
    n = hi - lo
    if n == 0:
        return 0
    for i in range(n):
        out_cols[base + i] = np.int32(tokens[lo + i] >> _COLUMN_SHIFT)
    seg = out_cols[base : base + n]
    radix_sort(seg.view(np.uint32), scratch, np.int64(20))  # columns are below 2**20: the sign bit is 0
    u = 0
    out_counts[base] = 1.0
    for i in range(1, n):
        if seg[i] == seg[u]:
            out_counts[base + u] += 1.0
        else:
            u += 1
            seg[u] = seg[i]
            out_counts[base + u] = 1.0
    return u + 1


@kernel
def _count_range(
    tokens: npt.NDArray[np.uint64],
    ptr: npt.NDArray[np.int64],
    out_cols: npt.NDArray[np.int32],
    out_counts: npt.NDArray[np.float32],
    distinct: npt.NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    widest = 0
    for d in range(lo, hi):
        widest = max(widest, ptr[d + 1] - ptr[d])
    scratch = np.empty(widest, dtype=np.uint32)
    for d in range(lo, hi):
        distinct[d] = count_terms(tokens, ptr[d], ptr[d + 1], out_cols, out_counts, ptr[d], scratch)


def runs_matrix(
    cols: npt.NDArray[np.int32],
    values: npt.NDArray[np.float32],
    room: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
) -> sp.csr_matrix:
    """A CSR matrix from rows written at `room[d]` with `sizes[d]` entries each (the rest of the room unused)."""
    return sp.csr_matrix(
        (compact(values, room, sizes), compact(cols, room, sizes), offsets(sizes)), shape=(sizes.shape[0], N_FEATURES)
    )


def counts(tokens: Ragged[np.uint64], *, workers: int = 1) -> sp.csr_matrix:
    """Term counts, one row per document (a row of token hashes; columns sorted); columns are folded hashes."""
    n = len(tokens)
    out_cols = np.empty(tokens.values.shape[0], dtype=np.int32)
    out_counts = np.empty(tokens.values.shape[0], dtype=np.float32)
    distinct = np.zeros(n, dtype=np.int64)
    spread(
        lambda lo, hi: _count_range(tokens.values, tokens.ptr, out_cols, out_counts, distinct, lo, hi),
        tokens.sizes(),
        workers,
    )
    return runs_matrix(out_cols, out_counts, tokens.ptr, distinct)


def document_frequencies(term_counts: sp.csr_matrix) -> npt.NDArray[np.int64]:
    """How many rows hold each column. Frequencies add up: over batches, Spark partitions, an index."""
    return np.bincount(term_counts.indices, minlength=N_FEATURES).astype(np.int64)


@lru_cache(maxsize=1)
def prior_frequencies() -> npt.NDArray[np.int64]:
    """The prior's document frequencies: `PRIOR_DOCUMENTS` virtual documents holding each English function word.

    Corpus idf alone cannot tell topic words from function words in a small scan (five articles on one
    story share both); these rows say that function words are everywhere and anything else is rare, and a
    large corpus outweighs them.
    """
    hashes = tokenize([normalize_text(" ".join(sorted(FUNCTION_WORDS | FUNCTION_CHARACTERS)))]).values
    df = np.zeros(N_FEATURES, dtype=np.int64)
    df[(hashes >> _COLUMN_SHIFT).astype(np.int64)] = PRIOR_DOCUMENTS  # the columns `counts` would give them
    df.setflags(write=False)
    return df


def idf(df: npt.NDArray[np.integer[Any]], documents: int) -> npt.NDArray[np.float32]:
    """Smoothed idf of terms in `df` of `documents` documents, as scikit-learn's `TfidfTransformer.fit`
    computes it for float32 counts: `ln((1 + documents) / (1 + df)) + 1`, in float32.

    >>> [round(float(x), 4) for x in idf(np.array([0, 9]), 9)]
    [3.3026, 1.0]
    """
    smoothed = df.astype(np.float32) + np.float32(1.0)
    out = np.full_like(smoothed, fill_value=documents + 1, dtype=np.float32)
    out /= smoothed
    np.log(out, out=out)
    out += np.float32(1.0)
    return out


def tfidf_rows(term_counts: sp.csr_matrix, df: npt.NDArray[np.integer[Any]], documents: int) -> sp.csr_matrix:
    """`tfidf(term_counts, ...)` for a few rows, from the frequencies of their own entries only.

    `df` is aligned with `term_counts.indices`, not dense over every column: the crawler index weighs one
    document per check, and scikit-learn's transformer would pass over an idf of all 2**20 columns each
    time (milliseconds). The same idf, sublinear tf and L2 norm; equal to `tfidf` within float32 rounding.
    """
    cols = term_counts.indices
    weights = idf(df + prior_frequencies()[cols], documents + PRIOR_DOCUMENTS)
    weights *= np.log(term_counts.data.astype(np.float32)) + np.float32(1.0)
    sizes = np.diff(term_counts.indptr)
    if weights.shape[0]:
        filled = sizes > 0  # reduceat over the starts of non-empty rows only: each runs to the next
        norms = np.ones(sizes.shape[0], dtype=np.float32)
        norms[filled] = np.sqrt(np.add.reduceat(weights * weights, term_counts.indptr[:-1][filled]))
        norms[norms == 0] = 1.0
        weights /= np.repeat(norms, sizes)
    matrix = sp.csr_matrix((weights, cols, term_counts.indptr), shape=term_counts.shape)
    matrix.has_sorted_indices = True
    return matrix


class Weights:
    """The idf of one corpus (its document frequencies plus the prior's), ready to weigh any of its rows as
    `tfidf` does: made once for a corpus whose rows are weighed a part at a time, where making it (the idf of
    every column, scikit-learn's transformer) would cost more than weighing a small part."""

    def __init__(self, df: npt.NDArray[np.int64], documents: int) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer  # slow to import: only when a scan runs

        self.idf = idf(df + prior_frequencies(), documents + PRIOR_DOCUMENTS)
        self._transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True)
        # Fitted on one empty row for its shape only; the idf is then set from frequencies that may come from
        # elsewhere.
        self._transformer.fit(sp.csr_matrix((1, N_FEATURES), dtype=np.float32))
        self._transformer.idf_ = self.idf

    def rows(self, term_counts: sp.csr_matrix) -> sp.csr_matrix:
        """L2-normalized TF-IDF rows (float32, sorted indices) with sublinear tf and this idf."""
        if term_counts.shape[0] == 0:
            return sp.csr_matrix(term_counts.shape, dtype=np.float32)
        # One copy of the counts, which the transformer then weighs in place: the arrays of a large scan hold
        # millions of values, and copying (and first touching) them again would be most of this stage.
        matrix = self._transformer.transform(term_counts.astype(np.float32, copy=True), copy=False)
        matrix = matrix.astype(np.float32, copy=False).tocsr()
        matrix.sort_indices()
        return matrix


def tfidf(
    term_counts: sp.csr_matrix, df: npt.NDArray[np.int64] | None = None, documents: int | None = None
) -> sp.csr_matrix:
    """L2-normalized TF-IDF rows (float32, sorted indices) with sublinear tf and smoothed idf.

    The idf is that of `documents` documents with document frequencies `df` (by default these rows' own),
    plus the prior's: a scan, a Spark job and an index weigh a document alike from the frequencies they hold.
    """
    if term_counts.shape[0] == 0:
        return sp.csr_matrix(term_counts.shape, dtype=np.float32)
    if df is None:
        df, documents = document_frequencies(term_counts), term_counts.shape[0]
    elif documents is None:
        raise ValueError("tfidf: pass `documents` (how many documents `df` counts) with `df`")
    return Weights(df, documents).rows(term_counts)


@kernel
def _top_range(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    allowed: npt.NDArray[np.bool_],
    k: int,
    out: npt.NDArray[np.uint32],
    sizes: npt.NDArray[np.int64],
    lo_doc: int,
    hi_doc: int,
) -> None:
    # Row d's chosen columns go to out[d * k:], their number to sizes[d]. The best k so far are kept in
    # order by insertion: a row has a few hundred terms, and few of them displace one of the best.
    best_keys = np.empty(k, dtype=np.float64)
    best_cols = np.empty(k, dtype=np.uint32)
    for d in range(lo_doc, hi_doc):
        m = 0
        for i in range(indptr[d], indptr[d + 1]):
            col = indices[i]
            if not allowed[col]:
                continue
            # Highest weight first; ties broken by the smaller column so the choice is deterministic.
            key = -data[i] * 4194304.0 + col / 4194304.0
            if m == k and key >= best_keys[k - 1]:
                continue
            j = m - 1 if m < k else k - 2
            while j >= 0 and best_keys[j] > key:
                best_keys[j + 1] = best_keys[j]
                best_cols[j + 1] = best_cols[j]
                j -= 1
            best_keys[j + 1] = key
            best_cols[j + 1] = np.uint32(col)
            if m < k:
                m += 1
        # Into out in column order, by insertion: k is small, and a library sort would be one more kernel to compile.
        base = d * k
        for j in range(m):
            col = best_cols[j]
            i = base + j
            while i > base and out[i - 1] > col:
                out[i] = out[i - 1]
                i -= 1
            out[i] = col
        sizes[d] = m


def top_terms(
    matrix: sp.csr_matrix,
    k: int,
    max_df: int | None = None,
    *,
    df: npt.NDArray[np.int64] | None = None,
    workers: int = 1,
) -> Ragged[np.uint32]:
    """The `k` highest-weighted terms of each row, as sorted sets of column ids.

    With `max_df`, terms found in more than that many documents are left out: they name a topic, not a story.
    Their document frequencies are `df` (the corpus', when these rows are one partition of it), by default
    these rows' own.
    """
    n = matrix.shape[0]
    indptr, indices = matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32)
    if max_df is None:
        allowed = np.ones(matrix.shape[1], dtype=np.bool_)
    else:
        if df is None:
            df = np.bincount(indices, minlength=matrix.shape[1])
        allowed = df <= max_df
    out = np.empty(n * k, dtype=np.uint32)
    sizes = np.zeros(n, dtype=np.int64)

    def run(lo: int, hi: int) -> None:
        _top_range(indptr, indices, matrix.data, allowed, k, out, sizes, lo, hi)

    spread(run, np.diff(indptr), workers)
    return Ragged.from_sizes(compact(out, np.arange(n + 1, dtype=np.int64) * k, sizes), sizes)


@kernel
def _cosines(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.float64],
    lo: int,
    hi: int,
) -> None:
    # Pairs come sorted by their first row: spread that row once into a dense vector, then each partner's
    # dot product is a gather over its own entries, with no merge and no branch on the columns.
    dense = np.zeros(N_FEATURES, dtype=np.float32)
    current = -1
    for p in range(lo, hi):
        a, b = pairs[p, 0], pairs[p, 1]
        if a != current:
            if current >= 0:
                for i in range(indptr[current], indptr[current + 1]):
                    dense[indices[i]] = 0.0
            for i in range(indptr[a], indptr[a + 1]):
                dense[indices[i]] = data[i]
            current = a
        total = 0.0
        for j in range(indptr[b], indptr[b + 1]):
            total += float(dense[indices[j]]) * float(data[j])
        out[p] = total


@kernel
def _cosines_merged(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.float64],
) -> None:
    # The same sums as _cosines (matching columns in ascending order; other terms add an exact 0.0), by a
    # branch-free merge of the two sorted rows: no dense vector to clear, for a handful of pairs.
    for p in range(pairs.shape[0]):
        i, i_end = indptr[pairs[p, 0]], indptr[pairs[p, 0] + 1]
        j, j_end = indptr[pairs[p, 1]], indptr[pairs[p, 1] + 1]
        total = 0.0
        while i < i_end and j < j_end:
            x = indices[i]
            y = indices[j]
            total += float(data[i]) * float(data[j]) * (x == y)
            i += x <= y
            j += y <= x
        out[p] = total


# From this many pairs the dense gather pays for clearing its 4 MB vector (a crawler checks one document
# against a few dozen candidates; a scan measures hundreds of thousands of pairs).
_DENSE_FROM = 512


def pair_cosines(matrix: sp.csr_matrix, pairs: npt.NDArray[np.int64], *, workers: int = 1) -> npt.NDArray[np.float64]:
    """Cosine similarity of each `(i, j)` row pair of an L2-normalized matrix with sorted indices (fastest
    with pairs sorted by i)."""
    out = np.zeros(pairs.shape[0], dtype=np.float64)
    indptr, indices = matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32)
    if pairs.shape[0] < _DENSE_FROM:
        _cosines_merged(indptr, indices, matrix.data, pairs, out)
    else:
        weights = np.full(pairs.shape[0], 64, dtype=np.int64)
        spread(lambda lo, hi: _cosines(indptr, indices, matrix.data, pairs, out, lo, hi), weights, workers)
    return np.clip(out, 0.0, 1.0)


def rewrite_max_df(documents: int) -> int:
    """The rewrite path leaves out terms found in more documents than this, of `documents`.

    Terms in more than 2% of the documents (and at least 100) name a topic shared by many unrelated stories;
    leaving them out removes many of the rewrite path's chance candidates for little recall (bench/quality.py
    measures both).
    """
    return max(100, documents // 50)
