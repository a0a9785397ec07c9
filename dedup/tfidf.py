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
from sklearn.feature_extraction.text import TfidfTransformer

from dedup._jit import kernel, parallel_kernel, prange
from dedup.normalize import TokenBatch, normalize_text, tokenize
from dedup.shingle import SetBatch

__all__ = ["N_FEATURES", "PRIOR_DOCUMENTS", "counts", "pair_cosines", "tfidf", "top_terms"]

N_FEATURES = 1 << 20
PRIOR_DOCUMENTS = 1000


def counts(tokens: TokenBatch) -> sp.csr_matrix:
    """Term counts, one row per document, columns are folded token hashes."""
    n = len(tokens)
    rows = np.repeat(np.arange(n, dtype=np.int32), tokens.counts())
    cols = (tokens.hashes >> np.uint64(44)).astype(np.int32)  # top 20 bits: well mixed by fmix64
    data = np.ones(cols.shape[0], dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(n, N_FEATURES), dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


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


def top_terms(matrix: sp.csr_matrix, k: int) -> SetBatch:
    """The `k` highest-weighted terms of each row, as sorted sets of column ids."""
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
