"""Texts -> features: the per-document stages of a scan (normalize, tokenize, shingle, passage anchors, MinHash,
term counts).

The stages are composed document by document in one compiled pass, so that a document's tokens are
shingled, signed and counted while they are still in the cache, with no batch-wide token arrays between
stages. Each stage's own per-document kernel does its part (`tokenize_doc`, `kgram_hashes`, `winnow`,
`distinct_sorted`, `minhash_row`, `count_terms`); this module only chains them. Pure: texts in, arrays out,
the same on any number of threads, in a worker process, or in a Spark partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import ShingleConfig, SignatureConfig
from dedup.engine.passages import winnow
from dedup.engine.shingle import distinct_sorted, kgram_hashes
from dedup.engine.signature import minhash_row, permutations
from dedup.engine.tfidf import N_FEATURES, count_terms
from dedup.jit import kernel, spread
from dedup.text.normalize import class_table, date_folding, encode_batch, token_capacity, tokenize_doc, tokenizer_input
from dedup.text.ragged import Ragged, offsets

__all__ = ["Features", "featurize"]


@dataclass(frozen=True)
class Features:
    """What a scan keeps of each document of a batch, row `d` for document `d`.

    `words`: normalized tokens; `shingles`: its word k-gram set; `signatures`: the MinHash of that set;
    `terms`: term counts (CSR, `N_FEATURES` hashed columns, sorted within each row); `anchors`: its passage
    anchors (`dedup.engine.passages`), a sorted set of k-gram hashes.
    """

    words: npt.NDArray[np.int64]
    shingles: Ragged[np.uint32]
    signatures: npt.NDArray[np.uint32]
    terms: sp.csr_matrix
    anchors: Ragged[np.uint32]

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @staticmethod
    def concat(parts: Sequence[Features], num_perm: int) -> Features:
        """Batches joined in order."""
        if not parts:
            return Features(
                np.zeros(0, dtype=np.int64),
                Ragged.empty(np.uint32),
                np.zeros((0, num_perm), dtype=np.uint32),
                sp.csr_matrix((0, N_FEATURES), dtype=np.float32),
                Ragged.empty(np.uint32),
            )
        if len(parts) == 1:
            return parts[0]
        return Features(
            np.concatenate([p.words for p in parts]),
            Ragged.concat([p.shingles for p in parts], np.uint32),
            np.concatenate([p.signatures for p in parts]),
            sp.vstack([p.terms for p in parts], format="csr"),
            Ragged.concat([p.anchors for p in parts], np.uint32),
        )


@kernel
def _featurize_range(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    capacity: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    fold_from: npt.NDArray[np.uint64],
    fold_to: np.uint64,
    fold_filter: npt.NDArray[np.bool_],
    k: int,
    window: int,
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    signatures: npt.NDArray[np.uint32],
    words: npt.NDArray[np.int64],
    set_sizes: npt.NDArray[np.int64],
    term_sizes: npt.NDArray[np.int64],
    anchor_sizes: npt.NDArray[np.int64],
    lo: int,
    hi: int,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
    # Documents lo..hi: per-document results into the batch-wide arrays, sets, term runs and anchors returned
    # packed.
    room = 0
    widest = 0
    for d in range(lo, hi):
        room += capacity[d]
        widest = max(widest, capacity[d])
    tokens = np.empty(widest, dtype=np.uint64)
    no_spans = np.empty(0, dtype=np.int32)
    sets = np.empty(room, dtype=np.uint32)
    scratch = np.empty(widest, dtype=np.uint32)  # for each sort in turn
    cols = np.empty(room, dtype=np.int32)
    counts = np.empty(room, dtype=np.float32)
    anchors = np.empty(room, dtype=np.uint32)
    queue = np.empty(widest, dtype=np.int64)
    # int64 from the start, constants too: a kernel is compiled for the types it is called with, and a
    # literal 0 is a type of its own.
    start = np.int64(0)
    set_end = np.int64(0)
    term_end = np.int64(0)
    anchor_end = np.int64(0)
    for d in range(lo, hi):
        n = tokenize_doc(
            buf, offsets[d], offsets[d + 1], table, fold_from, fold_to, fold_filter, tokens, no_spans, no_spans, start
        )
        words[d] = n
        # The k-gram hashes in text order are winnowed before they are sorted into the document's set.
        m = kgram_hashes(tokens, start, n, k, sets, set_end)
        picked = winnow(sets, set_end, m, window, anchors, anchor_end, queue)
        size = distinct_sorted(sets, set_end, m, scratch)
        minhash_row(sets, set_end, set_end + size, a, b, signatures[d])
        set_sizes[d] = size
        set_end += size
        anchor_sizes[d] = distinct_sorted(anchors, anchor_end, picked, scratch)
        anchor_end += anchor_sizes[d]
        runs = count_terms(tokens, start, n, cols, counts, term_end, scratch)
        term_sizes[d] = runs
        term_end += runs
    return sets[:set_end].copy(), cols[:term_end].copy(), counts[:term_end].copy(), anchors[:anchor_end].copy()


def featurize(
    texts: Sequence[str], shingle: ShingleConfig, signature: SignatureConfig, *, workers: int = 1
) -> Features:
    """The features of each text (raw text: normalization is the first stage)."""
    n = len(texts)
    buf, starts = encode_batch([tokenizer_input(t) for t in texts])
    nbytes = np.diff(starts)
    capacity = token_capacity(nbytes)
    folding = date_folding()
    table = class_table()
    a, b = permutations(signature.num_perm, signature.seed)
    signatures = np.empty((n, signature.num_perm), dtype=np.uint32)
    words = np.zeros(n, dtype=np.int64)
    set_sizes = np.zeros(n, dtype=np.int64)
    term_sizes = np.zeros(n, dtype=np.int64)
    anchor_sizes = np.zeros(n, dtype=np.int64)

    def run(
        lo: int, hi: int
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
        return _featurize_range(
            buf, starts, capacity, table, folding.words, folding.token, folding.filter, shingle.k, shingle.window,
            a, b, signatures, words, set_sizes, term_sizes, anchor_sizes, lo, hi,
        )  # fmt: skip

    parts = spread(run, nbytes + 1, workers)
    set_ptr, term_ptr, anchor_ptr = (offsets(sizes) for sizes in (set_sizes, term_sizes, anchor_sizes))
    if parts:
        sets, cols, counts, anchors = (np.concatenate([p[i] for p in parts]) for i in range(4))
    else:
        sets, cols, counts = np.zeros(0, np.uint32), np.zeros(0, np.int32), np.zeros(0, np.float32)
        anchors = np.zeros(0, np.uint32)
    terms = sp.csr_matrix((counts, cols, term_ptr), shape=(n, N_FEATURES))
    return Features(words, Ragged(sets, set_ptr), signatures, terms, Ragged(anchors, anchor_ptr))
