"""Texts -> what the crawler index stores and compares, from the scan's own stages.

A document is featurized as in a scan (`dedup.engine.featurize`: normalized tokens, word k-gram set, passage anchors,
MinHash signature, term counts), then reduced to what the index keeps: one 32-bit hash per LSH band of each
Jaccard candidate path, the passage anchors as they are (the passage path's keys), and the keys of its lines
and sentences (for corpus-level farm signals), the farm scorer's own
(`dedup.farm.corpus.fingerprints`), as the batch scan and the Spark engine count them. The rewrite path and the
TF-IDF cosine need document frequencies; they come in as arrays (the index keeps them), so everything here is
pure: arrays in, arrays out.

TF-IDF is the scan's (scikit-learn's `TfidfTransformer` with sublinear tf, smoothed idf and the English
function-word prior of `dedup.engine.tfidf`), computed from frequencies over the index and the document at hand
instead of over one batch: the same pair gets the same cosine as in a scan of the same documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import IndexConfig, LSHConfig, ShingleConfig, SignatureConfig
from dedup.engine.confirm import overlaps
from dedup.engine.featurize import featurize
from dedup.engine.lsh import band_hashes, bands
from dedup.engine.signature import minhash
from dedup.engine.tfidf import N_FEATURES, PRIOR_DOCUMENTS, pair_cosines, rewrite_max_df, tfidf_rows, top_terms
from dedup.farm.corpus import Fingerprints, batch_fingerprints
from dedup.jit import spread
from dedup.text.normalize import normalize_text, tokenize
from dedup.text.ragged import Ragged

__all__ = [
    "IndexFeatures",
    "Segments",
    "cosines",
    "engine_fingerprint",
    "featurize_index",
    "overlap",
    "path_bands",
    "rewrite_bands",
    "sketch_agreement",
    "stored_keys",
]

# A rewrite-path band hash is xor-ed with this, so the two paths never share a bucket by construction.
_REWRITE_SALT = np.uint32(0x5EED5EED)


# ---------------------------------------------------------------------------------------------------------
# Bands


def path_bands(lsh: LSHConfig, num_perm: int) -> tuple[int, int]:
    """`(b, r)` of one candidate path, as the scan chooses them."""
    return bands(lsh.threshold, num_perm, lsh.false_negative_weight)


# ---------------------------------------------------------------------------------------------------------
# Line and sentence keys (corpus-level farm signals)


@dataclass(frozen=True)
class Segments:
    """The lines and sentences of a batch of texts, as the farm scorer keys them: `prints[d]` are text `d`'s
    fingerprints (`dedup.farm.corpus.fingerprints`: its lines but the title, and its prose sentences of at
    least `MIN_SENTENCE_WORDS` words, keyed by their lower-cased words, at character spans of the text), and
    row `d` of `distinct` the keys the index stores and counts for it (`stored_keys`), distinct and sorted.
    """

    prints: tuple[Fingerprints, ...]
    distinct: Ragged[np.uint64]


# Sentence keys are stored xor-ed with this, so that a line and a sentence of the same words count apart, as
# the farm's corpus counts them (`dedup.farm.corpus.count_keys`: documents per line key, apart from sentences).
_SENTENCE_SALT = np.uint64(0x5E17E4CE5E17E4CE)
_NO_KEYS, _NO_SPANS = np.zeros(0, dtype=np.uint64), np.zeros((0, 2), dtype=np.int64)
_NO_PRINTS = Fingerprints(_NO_KEYS, _NO_SPANS, _NO_KEYS, _NO_SPANS)


def stored_keys(prints: Fingerprints) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """A text's line keys and sentence keys as the index stores and counts them."""
    return prints.line_keys, prints.sentence_keys ^ _SENTENCE_SALT


def _segments(texts: Sequence[str], workers: int) -> Segments:
    # The farm's fingerprints of the texts (slices of the batch laid out on `workers` threads), and each
    # text's distinct stored keys.
    weights = np.array([len(t) + 1 for t in texts], dtype=np.int64)
    parts = spread(lambda lo, hi: batch_fingerprints(texts[lo:hi]), weights, workers)
    prints = tuple(p for part in parts for p in part)
    distinct = [np.unique(np.concatenate(stored_keys(p))) for p in prints]
    return Segments(prints, Ragged.from_rows(distinct, np.uint64))


def _no_segments(n: int) -> Segments:
    return Segments((_NO_PRINTS,) * n, Ragged.empty(np.uint64, n))


# ---------------------------------------------------------------------------------------------------------
# Features of a batch


@dataclass(frozen=True)
class IndexFeatures:
    """What the index computes from a batch of texts before it looks anything up, row `d` for text `d`.

    `terms`: term counts (CSR over `N_FEATURES` hashed columns); `duplicate_bands`: the shingle-signature band
    hashes of the duplicate path; `anchors`: the passage anchors (`dedup.engine.passages`), the passage path's keys;
    `segments`: lines and sentences with their keys and spans.
    """

    words: npt.NDArray[np.int64]
    shingles: Ragged[np.uint32]
    terms: sp.csr_matrix
    duplicate_bands: npt.NDArray[np.uint32]
    anchors: Ragged[np.uint32]
    segments: Segments

    def __len__(self) -> int:
        return int(self.words.shape[0])


def featurize_index(
    texts: Sequence[str], config: IndexConfig, *, workers: int = 1, with_segments: bool = True
) -> IndexFeatures:
    """The features of each text; no document frequencies needed. Without `with_segments`, no text has
    lines or sentences, and none is laid out (a check that computes no farm score needs none)."""
    features = featurize(texts, config.shingle, config.signature, workers=workers)
    b, r = path_bands(config.duplicate_lsh, config.signature.num_perm)
    return IndexFeatures(
        features.words,
        features.shingles,
        features.terms,
        band_hashes(features.signatures, b, r),
        features.anchors,
        _segments(texts, workers) if with_segments else _no_segments(len(texts)),
    )


# ---------------------------------------------------------------------------------------------------------
# TF-IDF from index frequencies


def rewrite_bands(
    weighted: sp.csr_matrix, df: npt.NDArray[np.int64], documents: int, config: IndexConfig
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]:
    """Band hashes of the rewrite path, and its signature sketches: each row's top TF-IDF terms (those in at most
    `rewrite_max_df(documents)` documents), MinHashed and banded as in a scan. `df` is aligned with `weighted.indices`.

    A sketch keeps the low byte of each MinHash value: two sketches agree on about the share of positions the
    signatures agree on (plus 1/256 by chance), which is how a scan filters this path's candidates.
    """
    keep = (df <= rewrite_max_df(documents)).astype(np.float32)
    # Copies: eliminate_zeros compacts the arrays in place, and these are shared with the caller's counts.
    masked = sp.csr_matrix(
        (weighted.data * keep, weighted.indices.copy(), weighted.indptr.copy()), shape=weighted.shape
    )
    masked.eliminate_zeros()
    top = top_terms(masked, config.confirm.rewrite_top_terms)
    b, r = path_bands(config.rewrite_lsh, config.signature.num_perm)
    signatures = minhash(top, config.signature)
    return band_hashes(signatures, b, r) ^ _REWRITE_SALT, (signatures & np.uint32(0xFF)).astype(np.uint8)


def sketch_agreement(query: npt.NDArray[np.uint8], sketches: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Share of positions on which each row of `sketches` agrees with `query` (`lsh.agreement`, estimated)."""
    if sketches.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    agreement: npt.NDArray[np.float64] = (sketches == query[None, :]).mean(axis=1)
    return agreement


# ---------------------------------------------------------------------------------------------------------
# Measuring candidates


def cosines(
    query_terms: sp.csr_matrix,
    terms: Ragged[np.uint32],
    counts: Ragged[np.uint32],
    df: npt.NDArray[np.int32],
    documents: int,
) -> npt.NDArray[np.float64]:
    """TF-IDF cosine of a document (one row of term counts) with each candidate (`terms.of(i)`, `counts.of(i)`),
    as `tfidf.pair_cosines` over `tfidf.tfidf` rows would give it.

    `df` is the dense document frequency over the `documents` documents of the corpus, the query counted in.
    """
    if len(terms) == 0:
        return np.zeros(0, dtype=np.float64)
    own = query_terms.indices
    cols = np.concatenate([own, terms.values]).astype(np.int32)
    values = np.concatenate([query_terms.data, counts.values.astype(np.float32)])
    indptr = np.concatenate([[0], own.shape[0] + terms.ptr]).astype(np.int64)
    rows = tfidf_rows(sp.csr_matrix((values, cols, indptr), shape=(len(terms) + 1, N_FEATURES)), df[cols], documents)
    return pair_cosines(rows, _against_first(len(terms)))


def overlap(
    query_shingles: npt.NDArray[np.uint32], shingles: Ragged[np.uint32]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact `(jaccard, containment)` of a document's shingle set with each candidate's (`shingles.of(i)`)."""
    n = len(shingles)
    if n == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty
    values = np.concatenate([query_shingles, shingles.values]).astype(np.uint32, copy=False)
    ptr = np.concatenate([[0], query_shingles.shape[0] + shingles.ptr]).astype(np.int64)
    return overlaps(Ragged(values, ptr), _against_first(n))


def _against_first(n: int) -> npt.NDArray[np.int64]:
    # Pairs (0, 1), (0, 2), ... (0, n): row 0 is the query.
    return np.stack([np.zeros(n, dtype=np.int64), np.arange(1, n + 1, dtype=np.int64)], axis=1)


# ---------------------------------------------------------------------------------------------------------
# Engine fingerprint


# Every normalization step, both tokenizer paths, numbers, dates, scripts without spaces, and lines of each
# kind the farm's layout tells apart: a title (no key), prose with abbreviations, page chrome.
_CANARY = (
    "Weekly Market Report\n\n"
    "The \uff26\uff55\uff4c\uff4c-width \ufb01nal STRASSE report, Monday 3 March: sales rose 4.5% to 12,000 units.\n"
    "Caf\u00e9 owners said \u201cnot yet\u201d. \u6771\u4eac\u306e\u5929\u6c17 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 "
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439\u0442\u0435 covid19 3rd!\n"
    "Dr. Lee said the U.S. office will open again in May, after the repairs. It did.\n"
    "Read more\n"
)


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """A short hash of what the engine computes from a fixed text: normalization, tokens, shingles, passage
    anchors, MinHash, band hashes, term columns, and line and sentence keys as stored. Two dedup versions with the
    same fingerprint store comparable signatures; an index built by another refuses to open."""
    # A narrow window, so that the canary's few dozen shingles give several anchors.
    config = IndexConfig(shingle=ShingleConfig(k=3, window=4), signature=SignatureConfig(num_perm=16, seed=7))
    features = featurize([_CANARY], config.shingle, config.signature)
    digest = hashlib.blake2b(digest_size=12)
    for part in (
        tokenize([normalize_text(_CANARY)]).values,
        features.shingles.values,
        features.anchors.values,
        features.signatures,
        band_hashes(features.signatures, 4, 4),
        features.terms.indices.astype(np.int64),
        _segments([_CANARY], 1).distinct.values,
        np.array([N_FEATURES, PRIOR_DOCUMENTS, int(_REWRITE_SALT)], dtype=np.int64),
    ):
        digest.update(np.ascontiguousarray(part).astype(part.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()
