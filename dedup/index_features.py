"""Texts -> what the crawler index stores and compares, from the scan's own stages.

A document is featurized as in a scan (`dedup.featurize`: normalized tokens, word k-gram set, MinHash
signature, term counts), then reduced to what the index keeps: one 32-bit hash per LSH band of each candidate
path, and the keys of its lines and sentences (for corpus-level farm signals). The rewrite path and the
TF-IDF cosine need document frequencies; they come in as arrays (the index keeps them), so everything here is
pure: arrays in, arrays out.

TF-IDF is the scan's (scikit-learn's `TfidfTransformer` with sublinear tf, smoothed idf and the English
function-word prior of `dedup.tfidf`), computed from frequencies over the index and the document at hand
instead of over one batch: the same pair gets the same cosine as in a scan of the same documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup._jit import kernel
from dedup.config import IndexConfig, LSHConfig, ShingleConfig, SignatureConfig
from dedup.confirm import overlaps
from dedup.featurize import featurize
from dedup.lsh import band_keys, bands
from dedup.normalize import encode_batch, normalize_text, tokenize, tokenizer_input
from dedup.pipeline import rewrite_max_df
from dedup.shingle import SetBatch
from dedup.signature import minhash
from dedup.tfidf import N_FEATURES, PRIOR_DOCUMENTS, pair_cosines, tfidf_rows, top_terms

__all__ = [
    "MIN_SENTENCE_TOKENS",
    "IndexFeatures",
    "Ragged",
    "Segments",
    "band_hashes",
    "char_spans",
    "cosines",
    "engine_fingerprint",
    "featurize_index",
    "overlap",
    "path_bands",
    "rewrite_bands",
    "segments",
    "sketch_agreement",
]

# Sentences shorter than this recur by chance ("He said no."); the farm scorer ignores them too.
MIN_SENTENCE_TOKENS = 8
# A rewrite-path band hash is xor-ed with this, so the two paths never share a bucket by construction.
_REWRITE_SALT = np.uint32(0x5EED5EED)


@dataclass(frozen=True)
class Ragged:
    """Variable-length rows, flat: row `d` is `values[ptr[d]:ptr[d+1]]`."""

    values: npt.NDArray[np.generic]
    ptr: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ptr.shape[0] - 1)

    def sizes(self) -> npt.NDArray[np.int64]:
        """Length of each row."""
        return np.diff(self.ptr)

    def of(self, d: int) -> npt.NDArray[np.generic]:
        """Row `d`."""
        return self.values[self.ptr[d] : self.ptr[d + 1]]

    def select(self, rows: npt.NDArray[np.int64]) -> Ragged:
        """These rows only, in this order."""
        sizes = self.sizes()[rows]
        ptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        at = np.repeat(self.ptr[:-1][rows] - ptr[:-1], sizes) + np.arange(int(ptr[-1]), dtype=np.int64)
        return Ragged(self.values[at], ptr)

    @staticmethod
    def of_rows(rows: Sequence[npt.NDArray[np.generic]], dtype: npt.DTypeLike) -> Ragged:
        """Rows joined."""
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([r.shape[0] for r in rows], out=ptr[1:])
        values = np.concatenate(rows).astype(dtype, copy=False) if rows else np.zeros(0, dtype=dtype)
        return Ragged(values, ptr)


# ---------------------------------------------------------------------------------------------------------
# Band hashes


def band_hashes(signatures: npt.NDArray[np.uint32], b: int, r: int) -> npt.NDArray[np.uint32]:
    """One 32-bit hash per (document, band): the high half of the scan's `lsh.band_keys`.

    The band is the column, so a 32-bit hash per band collides by chance about once in four billion pairs.
    """
    return (band_keys(signatures, b, r) >> np.uint64(32)).astype(np.uint32)


def path_bands(lsh: LSHConfig, num_perm: int) -> tuple[int, int]:
    """`(b, r)` of one candidate path, as the scan chooses them."""
    return bands(lsh.threshold, num_perm, lsh.false_negative_weight)


# ---------------------------------------------------------------------------------------------------------
# Line and sentence keys (corpus-level farm signals)


@dataclass(frozen=True)
class Segments:
    """Lines and sentences of a batch of texts: document `d` owns rows `ptr[d]:ptr[d+1]`, and its distinct
    keys (sorted, what the index counts) are row `d` of `distinct`.

    A line runs between line breaks; a sentence ends at `.`, `!` or `?` followed (after any closing quotes
    or brackets) by white space. `keys` are stable 64-bit hashes of a segment's normalized tokens, so a
    template line matches across case, punctuation, numbers and dates; `spans` run from its first token to its
    closing punctuation (a sentence) or the end of its line (a line), as byte offsets into the tokenizer's
    input (`normalize.tokenizer_input`: the text itself when it is ASCII). A line of one sentence is both
    `line` and `sentence`; sentences of fewer than `MIN_SENTENCE_TOKENS` tokens are left out.
    """

    keys: npt.NDArray[np.uint64]
    spans: npt.NDArray[np.int64]
    line: npt.NDArray[np.bool_]
    sentence: npt.NDArray[np.bool_]
    ptr: npt.NDArray[np.int64]
    distinct: Ragged


_LINE_FLAG, _SENTENCE_FLAG = 1, 2


@kernel
def _segment_key(hashes: npt.NDArray[np.uint64], lo: int, hi: int) -> np.uint64:
    # An order-sensitive multiply-add over the tokens' hashes, then the MurmurHash3 64-bit finalizer.
    acc = np.uint64(hi - lo) ^ np.uint64(0x51D3C0DE)
    for i in range(lo, hi):
        acc = acc * np.uint64(0x9E3779B97F4A7C15) + hashes[i]
    acc ^= acc >> np.uint64(33)
    acc *= np.uint64(0xFF51AFD7ED558CCD)
    acc ^= acc >> np.uint64(33)
    acc *= np.uint64(0xC4CEB9FE1A85EC53)
    acc ^= acc >> np.uint64(33)
    return acc


# What the segmenter makes of each byte between two tokens: white space, a sentence stop (. ! ?), or a closing
# quote or bracket that may follow a stop.
_SPACE, _STOP, _CLOSER = 1, 2, 3
_BYTE_KIND = np.zeros(256, dtype=np.uint8)
_BYTE_KIND[[9, 10, 13, 32]] = _SPACE
_BYTE_KIND[[ord(c) for c in ".!?"]] = _STOP
_BYTE_KIND[[ord(c) for c in "\"')]"]] = _CLOSER
_BYTE_KIND.setflags(write=False)


@kernel
def _segment_range(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    hashes: npt.NDArray[np.uint64],
    starts: npt.NDArray[np.int32],
    ends: npt.NDArray[np.int32],
    ptr: npt.NDArray[np.int64],
    byte_kind: npt.NDArray[np.uint8],
    min_sentence: int,
    out_keys: npt.NDArray[np.uint64],
    out_start: npt.NDArray[np.int64],
    out_end: npt.NDArray[np.int64],
    out_flags: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int64],
    distinct: npt.NDArray[np.uint64],
    distinct_counts: npt.NDArray[np.int64],
) -> None:
    # Document d's segments go to out_*[2 * ptr[d]:] (a document of n tokens has at most 2n), its distinct
    # keys, sorted, to distinct[2 * ptr[d]:]. Spans are byte offsets from the document's start: from the
    # segment's first token to its closing punctuation (a sentence) or to the end of its line (a line).
    for d in range(ptr.shape[0] - 1):
        lo, hi = ptr[d], ptr[d + 1]
        base = offsets[d]
        w = 2 * lo
        line_start = lo
        sentence_start = lo
        sentences = 0  # sentences closed in the current line
        for i in range(lo + 1, hi + 1):
            line_end = i == hi
            sentence_end = False
            stop = False
            closed_at = ends[i - 1]  # where a sentence ending here ends
            newline = offsets[d + 1] - base
            if not line_end:
                for j in range(base + ends[i - 1], base + starts[i]):
                    kind = byte_kind[buf[j]]
                    if buf[j] == 10:
                        if not line_end:
                            newline = j - base
                        line_end = True
                    elif kind == _SPACE:
                        sentence_end = sentence_end or stop
                    elif not sentence_end and not line_end:
                        if kind == _STOP:
                            stop = True
                            closed_at = j - base + 1
                        elif stop and kind == _CLOSER:
                            closed_at = j - base + 1
            if not (line_end or sentence_end):
                continue
            line_close = newline
            if line_end:
                while line_close > ends[i - 1] and byte_kind[buf[base + line_close - 1]] == _SPACE:
                    line_close -= 1
            if line_end and sentences == 0:  # a line of one sentence
                out_keys[w] = _segment_key(hashes, line_start, i)
                out_start[w], out_end[w] = starts[line_start], line_close
                out_flags[w] = _LINE_FLAG | (_SENTENCE_FLAG if i - line_start >= min_sentence else 0)
                w += 1
            else:
                if i - sentence_start >= min_sentence:
                    out_keys[w] = _segment_key(hashes, sentence_start, i)
                    out_start[w] = starts[sentence_start]
                    out_end[w] = closed_at if sentence_end else line_close
                    out_flags[w] = _SENTENCE_FLAG
                    w += 1
                sentences += 1
                if line_end:
                    out_keys[w] = _segment_key(hashes, line_start, i)
                    out_start[w], out_end[w] = starts[line_start], line_close
                    out_flags[w] = _LINE_FLAG
                    w += 1
            sentence_start = i
            if line_end:
                line_start = i
                sentences = 0
        n = w - 2 * lo
        counts[d] = n
        if n:
            keys = np.sort(out_keys[2 * lo : w])
            u = 1
            distinct[2 * lo] = keys[0]
            for k in range(1, n):
                if keys[k] != keys[k - 1]:
                    distinct[2 * lo + u] = keys[k]
                    u += 1
            distinct_counts[d] = u


def _packed(values: npt.NDArray[np.generic], room: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]) -> Ragged:
    # Each document's first sizes[d] values sit at the start of its room (from room[d]): move them together.
    ptr = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    at = np.repeat(room[:-1] - ptr[:-1], sizes) + np.arange(int(ptr[-1]), dtype=np.int64)
    return Ragged(values[at], ptr)


def segments(texts: Sequence[str], *, workers: int = 1) -> Segments:
    """The lines and sentences of each text, with their keys.

    >>> text = ("Sign up for our newsletter.\\n\\nThe first of 12 long sentences here, said the clerk today. "
    ...         "And 7 more words in this second sentence of it.")
    >>> s = segments([text, "SIGN UP for our newsletter!"])
    >>> [text[a:b] for a, b in s.spans[s.ptr[0]:s.ptr[1]].tolist()]  # doctest: +NORMALIZE_WHITESPACE
    ['Sign up for our newsletter.', 'The first of 12 long sentences here, said the clerk today.',
     'And 7 more words in this second sentence of it.',
     'The first of 12 long sentences here, said the clerk today. And 7 more words in this second sentence of it.']
    >>> bool(s.keys[0] == s.keys[s.ptr[1]])  # the same line, up to case and punctuation
    True
    """
    inputs = [tokenizer_input(t) for t in texts]
    tokens = tokenize(inputs, offsets=True, workers=workers)
    starts, ends = cast("npt.NDArray[np.int32]", tokens.starts), cast("npt.NDArray[np.int32]", tokens.ends)
    buf, offsets = encode_batch(inputs)
    room = 2 * tokens.ptr
    size = int(room[-1])
    keys, first, last = np.empty(size, np.uint64), np.empty(size, np.int64), np.empty(size, np.int64)
    # (first, last: the byte offsets where each segment starts and ends)
    flags, distinct = np.empty(size, np.uint8), np.empty(size, np.uint64)
    counts, distinct_counts = np.zeros(len(texts), np.int64), np.zeros(len(texts), np.int64)
    _segment_range(
        buf, offsets, tokens.hashes, starts, ends, tokens.ptr, _BYTE_KIND, MIN_SENTENCE_TOKENS,
        keys, first, last, flags, counts, distinct, distinct_counts,
    )  # fmt: skip
    rows = _packed(np.arange(size), room, counts).values
    spans = np.stack([first[rows], last[rows]], axis=1)
    kinds = flags[rows]
    ptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return Segments(
        keys[rows],
        spans.reshape(-1, 2),
        (kinds & _LINE_FLAG) != 0,
        (kinds & _SENTENCE_FLAG) != 0,
        ptr,
        _packed(distinct, room, distinct_counts),
    )


def char_spans(text: str, spans: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """`Segments.spans` of `text` (byte offsets into its tokenizer input) as character offsets into `text`.

    Exact for ASCII text and for text whose normalization keeps one character per character; otherwise each
    character is normalized alone to map offsets back (close, not always exact).
    """
    if not spans.shape[0]:
        return []
    normalized = tokenizer_input(text)
    raw = np.frombuffer(normalized.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    chars_before = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])  # characters before each byte
    char = chars_before[spans]
    if len(normalized) != len(text):
        widths = np.array([len(normalize_text(ch)) for ch in text], dtype=np.int64)
        ends = np.cumsum(widths)
        char = np.minimum(np.searchsorted(ends, char, side="right"), len(text))
    return [(int(a), int(b)) for a, b in char.tolist()]


# ---------------------------------------------------------------------------------------------------------
# Features of a batch


@dataclass(frozen=True)
class IndexFeatures:
    """What the index computes from a batch of texts before it looks anything up, row `d` for text `d`.

    `terms`: term counts (CSR over `N_FEATURES` hashed columns); `duplicate_bands`: the shingle-signature band
    hashes of the duplicate path; `segments`: lines and sentences with their keys.
    """

    words: npt.NDArray[np.int64]
    shingles: SetBatch
    terms: sp.csr_matrix
    duplicate_bands: npt.NDArray[np.uint32]
    segments: Segments

    def __len__(self) -> int:
        return int(self.words.shape[0])


def featurize_index(
    texts: Sequence[str], config: IndexConfig, *, workers: int = 1, with_segments: bool = True
) -> IndexFeatures:
    """The features of each text; no document frequencies needed. Without `with_segments`, no text has
    lines or sentences (a check that computes no farm score needs none)."""
    features = featurize(texts, config.shingle, config.signature, workers=workers)
    b, r = path_bands(config.duplicate_lsh, config.signature.num_perm)
    return IndexFeatures(
        features.words,
        features.shingles,
        features.terms,
        band_hashes(features.signatures, b, r),
        segments(texts, workers=workers) if with_segments else segments([""] * len(texts)),
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
    query_terms: sp.csr_matrix, terms: Ragged, counts: Ragged, df: npt.NDArray[np.int32], documents: int
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
    query_shingles: npt.NDArray[np.uint32], shingles: Ragged
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact `(jaccard, containment)` of a document's shingle set with each candidate's (`shingles.of(i)`)."""
    n = len(shingles)
    if n == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty
    values = np.concatenate([query_shingles, shingles.values]).astype(np.uint32, copy=False)
    ptr = np.concatenate([[0], query_shingles.shape[0] + shingles.ptr]).astype(np.int64)
    return overlaps(SetBatch(values, ptr), _against_first(n))


def _against_first(n: int) -> npt.NDArray[np.int64]:
    # Pairs (0, 1), (0, 2), ... (0, n): row 0 is the query.
    return np.stack([np.zeros(n, dtype=np.int64), np.arange(1, n + 1, dtype=np.int64)], axis=1)


# ---------------------------------------------------------------------------------------------------------
# Engine fingerprint


# Every normalization step, both tokenizer paths, numbers, dates, scripts without spaces, several lines.
_CANARY = (
    "The \uff26\uff55\uff4c\uff4c-width \ufb01nal STRASSE report, Monday 3 March: sales rose 4.5% to 12,000 units.\n"
    "Caf\u00e9 owners said \u201cnot yet\u201d. \u6771\u4eac\u306e\u5929\u6c17 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 "
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439\u0442\u0435 covid19 3rd!\n"
)


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """A short hash of what the engine computes from a fixed text: normalization, tokens, shingles, MinHash,
    band hashes, term columns and segment keys. Two dedup versions with the same fingerprint store
    comparable signatures; an index built by another refuses to open."""
    config = IndexConfig(shingle=ShingleConfig(k=3), signature=SignatureConfig(num_perm=16, seed=7))
    features = featurize([_CANARY], config.shingle, config.signature)
    digest = hashlib.blake2b(digest_size=12)
    for part in (
        tokenize([normalize_text(_CANARY)]).hashes,
        features.shingles.values,
        features.signatures,
        band_hashes(features.signatures, 4, 4),
        features.terms.indices.astype(np.int64),
        segments([_CANARY]).keys,
        np.array([N_FEATURES, PRIOR_DOCUMENTS, int(_REWRITE_SALT)], dtype=np.int64),
    ):
        digest.update(np.ascontiguousarray(part).astype(part.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()
