"""Token hashes -> TF-IDF vectors (scikit-learn's `TfidfTransformer`), their top terms, and pair cosines.

The only module that touches the vectorizer. Terms are token hashes folded into 2**20 columns (the hashing
trick, as in scikit-learn's `HashingVectorizer`), so that counts can be built batch by batch, and document
frequencies can later be kept in an index and merged.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup._jit import kernel, parallel_kernel, prange
from dedup.normalize import TokenBatch, normalize_text, tokenize
from dedup.shingle import SetBatch

__all__ = ["N_FEATURES", "PRIOR_DOCUMENTS", "counts", "pair_cosines", "tfidf", "top_terms"]

N_FEATURES = 1 << 20
PRIOR_DOCUMENTS = 1000


@parallel_kernel
def _count_kernel(
    columns: npt.NDArray[np.int32],
    ptr: npt.NDArray[np.int64],
    out_cols: npt.NDArray[np.int32],
    out_counts: npt.NDArray[np.float32],
    distinct: npt.NDArray[np.int64],
) -> None:
    # Per document: sort its columns and fold runs into (column, count), written from the row's start.
    for d in prange(ptr.shape[0] - 1):
        lo, hi = ptr[d], ptr[d + 1]
        if hi == lo:
            distinct[d] = 0
            continue
        seg = np.sort(columns[lo:hi])
        u = 0
        out_cols[lo] = seg[0]
        out_counts[lo] = 1.0
        for i in range(1, hi - lo):
            if seg[i] == seg[i - 1]:
                out_counts[lo + u] += 1.0
            else:
                u += 1
                out_cols[lo + u] = seg[i]
                out_counts[lo + u] = 1.0
        distinct[d] = u + 1


def counts(tokens: TokenBatch) -> sp.csr_matrix:
    """Term counts, one row per document (columns sorted); columns are folded token hashes."""
    n = len(tokens)
    columns = (tokens.hashes >> np.uint64(44)).astype(np.int32)  # top 20 bits: well mixed by fmix64
    out_cols = np.empty_like(columns)
    out_counts = np.empty(columns.shape[0], dtype=np.float32)
    distinct = np.zeros(n, dtype=np.int64)
    _count_kernel(columns, tokens.ptr, out_cols, out_counts, distinct)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(distinct, out=indptr[1:])
    # Each row's runs are its first `distinct[d]` slots from the row's start in the token arrays.
    sizes = tokens.counts()
    offset_in_row = np.arange(columns.shape[0]) - np.repeat(tokens.ptr[:-1], sizes)
    keep = offset_in_row < np.repeat(distinct, sizes)
    return sp.csr_matrix((out_counts[keep], out_cols[keep], indptr), shape=(n, N_FEATURES))


@lru_cache(maxsize=1)
def _prior() -> sp.csr_matrix:
    # Virtual documents holding every English function word once. Corpus idf alone cannot tell topic words
    # from function words in a small scan (five articles on one story share both); these rows say that
    # function words are everywhere and anything else is rare, and a large corpus outweighs them.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = sorted(ENGLISH_STOP_WORDS)
    row = counts(tokenize([normalize_text(" ".join(words))]))
    row.data[:] = 1.0
    return sp.vstack([row] * PRIOR_DOCUMENTS, format="csr")


def tfidf(term_counts: sp.csr_matrix) -> sp.csr_matrix:
    """L2-normalized TF-IDF rows with sublinear tf and smoothed idf, fitted on these rows plus the prior."""
    from sklearn.feature_extraction.text import TfidfTransformer  # slow to import: only when a scan runs

    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True)
    transformer.fit(sp.vstack([term_counts, _prior()], format="csr"))
    matrix = transformer.transform(term_counts).astype(np.float32).tocsr()
    matrix.sort_indices()
    return matrix


@parallel_kernel
def _top_kernel(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    k: int,
    out_ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint32],
) -> None:
    for d in prange(indptr.shape[0] - 1):
        lo = indptr[d]
        n = indptr[d + 1] - lo
        take = out_ptr[d + 1] - out_ptr[d]
        # Highest weight first; ties broken by the smaller column so the choice is deterministic.
        keys = np.empty(n, dtype=np.float64)
        for i in range(n):
            keys[i] = -data[lo + i] * 4194304.0 + indices[lo + i] / 4194304.0
        order = np.argsort(keys)
        chosen = np.empty(take, dtype=np.uint32)
        for i in range(take):
            chosen[i] = np.uint32(indices[lo + order[i]])
        out[out_ptr[d] : out_ptr[d] + take] = np.sort(chosen)


def top_terms(matrix: sp.csr_matrix, k: int, max_df: int | None = None) -> SetBatch:
    """The `k` highest-weighted terms of each row, as sorted sets of column ids.

    With `max_df`, terms found in more rows than that are left out: they name a topic, not a story.
    """
    if max_df is not None:
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        matrix = matrix.multiply((df <= max_df).astype(np.float32)[None, :]).tocsr()
        matrix.eliminate_zeros()
        matrix.sort_indices()
    nnz = np.diff(matrix.indptr).astype(np.int64)
    sizes = np.minimum(nnz, k)
    ptr = np.zeros(nnz.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    out = np.empty(int(ptr[-1]), dtype=np.uint32)
    _top_kernel(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.data, k, ptr, out)
    return SetBatch(out, ptr)


@kernel
def _dot(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], data: npt.NDArray[np.float32], a: int, b: int
) -> float:
    i, i_end = indptr[a], indptr[a + 1]
    j, j_end = indptr[b], indptr[b + 1]
    total = 0.0
    while i < i_end and j < j_end:
        if indices[i] == indices[j]:
            total += float(data[i]) * float(data[j])
            i += 1
            j += 1
        elif indices[i] < indices[j]:
            i += 1
        else:
            j += 1
    return total


@parallel_kernel
def _cosines(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.float64],
) -> None:
    for p in prange(pairs.shape[0]):
        out[p] = _dot(indptr, indices, data, pairs[p, 0], pairs[p, 1])


def pair_cosines(matrix: sp.csr_matrix, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Cosine similarity of each `(i, j)` row pair of an L2-normalized matrix with sorted indices."""
    out = np.zeros(pairs.shape[0], dtype=np.float64)
    if pairs.shape[0]:
        _cosines(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.data, pairs, out)
    return np.clip(out, 0.0, 1.0)
