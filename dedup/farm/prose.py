"""Machine prose: a linear model over hashed word unigrams and bigrams that tells machine-written from human
prose, and explains itself exactly.

Features (the hashing trick, Weinberger et al. 2009): each prose word's key (`Layout.w_key`, case-folded)
and each pair of consecutive prose words, mixed by MurmurHash3's finalizer into one of `2**bits` buckets;
a bucket's value is `1 + log count` (sublinear term frequency), the vector scaled to unit length. The
model is a logistic regression over them (Cox 1958), trained on human writing of many registers and
machine text of many generators (bench/train_farm.py), so its log-odds is exactly
`intercept + sum(weight[b] * x[b])` over the buckets present: every term's part is readable on its own,
and the largest parts of content-bearing terms are quoted as evidence.

The weights ship as a little-endian float32 array (`prose.npy`, no pickle) beside `params.json`, which
holds the intercept, the number of bits and the training summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from dedup.errors import ConfigError
from dedup.farm.text import Article
from dedup.jit import kernel, radix_sort
from dedup.text.normalize import fmix64

__all__ = ["ProseModel", "Terms", "explain", "hashed", "load_prose", "prose_batch", "prose_logit", "terms"]

# Distinct salts keep a word's bucket and a pair's apart.
_UNIGRAM = np.uint64(0x9E3779B97F4A7C15)
_BIGRAM = np.uint64(0xD6E8FEB86659FD93)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
# Evidence: at most this many terms, the strongest of those with a content word.
MAX_TERMS = 8


def _fmix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # MurmurHash3's 64-bit finalizer (Appleby 2011) over an array; uint64 arithmetic wraps, as intended.
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    out: npt.NDArray[np.uint64] = h ^ (h >> _S33)
    return out


def hashed(keys: npt.NDArray[np.uint64], bits: int) -> npt.NDArray[np.int64]:
    """The bucket of every unigram, then of every bigram, of a text's prose word keys (in text order).

    >>> hashed(np.array([1, 2, 3], dtype=np.uint64), 4).shape
    (5,)
    """
    mask = np.uint64((1 << bits) - 1)
    with np.errstate(over="ignore"):
        uni = _fmix(keys ^ _UNIGRAM)
        bi = _fmix(_fmix(keys[:-1] ^ _BIGRAM) ^ keys[1:]) if keys.shape[0] > 1 else keys[:0]
    return np.concatenate([uni & mask, bi & mask]).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Terms:
    """A text's features: the distinct buckets (sorted) and their values (unit length)."""

    buckets: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def terms(keys: npt.NDArray[np.uint64], bits: int) -> Terms:
    """The feature vector of a text's prose word keys: `1 + log count` per bucket, scaled to unit length."""
    return _terms(hashed(keys, bits))


def _terms(where: npt.NDArray[np.int64]) -> Terms:
    buckets, counts = np.unique(where, return_counts=True)
    tf = 1.0 + np.log(counts.astype(np.float64))
    norm = math.sqrt(float(tf @ tf)) if tf.shape[0] else 1.0
    return Terms(buckets, tf / norm)


@dataclass(frozen=True)
class ProseModel:
    """The shipped model: `weights[b]` per bucket, `intercept`, and `bits` (the table is `2**bits` long)."""

    weights: npt.NDArray[np.float32]
    intercept: float
    bits: int

    def __post_init__(self) -> None:
        if self.weights.shape != (1 << self.bits,):
            raise ConfigError(f"prose weights: {self.weights.shape} -- expected {1 << self.bits} for bits={self.bits}.")

    def logit(self, t: Terms) -> float:
        """The log-odds that the text is machine prose: intercept plus one part per term."""
        return self.intercept + float(self.weights[t.buckets].astype(np.float64) @ t.values)


@kernel
def prose_batch(
    w_key: npt.NDArray[np.uint64],
    prose: npt.NDArray[np.int64],
    w_ptr: npt.NDArray[np.int64],
    p_ptr: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float32],
    bits: int,
    intercept: float,
    out: npt.NDArray[np.float64],
) -> None:
    """`ProseModel.logit` of every text of a batch laid out by `text.layout_batch` (text `d`'s prose words are
    `w_key[w_ptr[d] + prose[p_ptr[d]:p_ptr[d + 1]]]`) into `out[d]`: the same terms as `terms`, compiled."""
    mask = np.uint64((1 << bits) - 1)
    # The longest text by a loop: `np.max(np.diff(...))` brings in numba's array error formatting, more to
    # compile than this whole kernel.
    longest = 0
    for d in range(out.shape[0]):
        longest = max(longest, p_ptr[d + 1] - p_ptr[d])
    # Buckets as uint32, the one type jit.radix_sort is compiled for (`bits` is at most 32).
    room = np.empty(max(2 * longest - 1, 1), dtype=np.uint32)
    scratch = np.empty_like(room)
    for d in range(out.shape[0]):
        p0, p1 = p_ptr[d], p_ptr[d + 1]
        n = p1 - p0
        if n == 0:
            out[d] = intercept
            continue
        where = room[: 2 * n - 1]
        prev = np.uint64(0)
        for i in range(n):
            key = w_key[w_ptr[d] + prose[p0 + i]]
            where[i] = np.uint32(fmix64(key ^ _UNIGRAM) & mask)
            if i > 0:
                where[n + i - 1] = np.uint32(fmix64(fmix64(prev ^ _BIGRAM) ^ key) & mask)
            prev = key
        radix_sort(where, scratch, np.int64(bits))
        dot = 0.0
        norm = 0.0
        run = 1
        for i in range(1, where.shape[0] + 1):
            if i < where.shape[0] and where[i] == where[i - 1]:
                run += 1
                continue
            tf = 1.0 + math.log(run) if run > 1 else 1.0
            dot += tf * float(weights[where[i - 1]])
            norm += tf * tf
            run = 1
        out[d] = intercept + dot / math.sqrt(norm)


def prose_keys(a: Article) -> npt.NDArray[np.uint64]:
    """The keys of an article's prose words, in order."""
    keys: npt.NDArray[np.uint64] = a.layout.w_key[a.layout.prose]
    return keys


def _hashed_terms(a: Article, m: ProseModel) -> tuple[npt.NDArray[np.int64], Terms]:
    # Each position's bucket and the feature vector, once per article and model: the score and its
    # explanation both need them.
    key = f"prose:{id(m)}"
    found = a.memo.get(key)
    if isinstance(found, tuple) and found[0] is m:
        return found[1], found[2]
    where = hashed(prose_keys(a), m.bits)
    t = _terms(where)
    a.memo[key] = (m, where, t)
    return where, t


def prose_logit(a: Article, model: ProseModel | None = None) -> float:
    """The machine-prose log-odds of an article."""
    m = model or load_prose()
    return m.logit(_hashed_terms(a, m)[1])


def explain(
    a: Article, content: npt.NDArray[np.bool_], model: ProseModel | None = None, n: int = MAX_TERMS
) -> list[tuple[int, int, float]]:
    """The `n` terms that push the article most toward machine prose, as (first prose word, word count, part
    of the log-odds), strongest first: only terms with a content word (`content[i]`: prose word `i` is not a
    function word), each quoted once (where it first occurs with a content word)."""
    m = model or load_prose()
    k = a.word_count
    if k == 0:
        return []
    where, t = _hashed_terms(a, m)
    # Position i < k: word i; position k + j: the pair of words j, j + 1.
    useful = np.concatenate([content, content[:-1] | content[1:]])
    positions = np.flatnonzero(useful)
    buckets, first = np.unique(where[positions], return_index=True)
    # A bucket's part of the log-odds: its weight times its value (`t.buckets` is sorted and holds them all).
    parts = m.weights[buckets].astype(np.float64) * t.values[np.searchsorted(t.buckets, buckets)]
    at = positions[first]
    chosen = np.lexsort((at, -parts))[:n]
    return [
        (int(i if i < k else i - k), 1 if i < k else 2, float(part))
        for i, part in zip(at[chosen].tolist(), parts[chosen].tolist(), strict=True)
        if part > 0.0
    ]


@lru_cache(maxsize=1)
def load_prose() -> ProseModel:
    """The shipped model: weights from `dedup/farm/prose.npy`, intercept and bits from `params.json`."""
    from dedup.farm.combine import load_params

    p = load_params()
    raw = resources.files("dedup.farm").joinpath("prose.npy").read_bytes()
    weights = _read_npy(raw)
    return ProseModel(weights, p.prose_intercept, p.prose_bits)


def _read_npy(raw: bytes) -> npt.NDArray[np.float32]:
    # A version-1 .npy of little-endian float32 (np.save writes it; no pickle is ever involved).
    import io

    arr = np.load(io.BytesIO(raw), allow_pickle=False)
    if arr.dtype != np.dtype("<f4") or arr.ndim != 1:
        raise ConfigError(f"prose.npy: {arr.dtype} {arr.shape} -- expected a 1-d little-endian float32 array.")
    out: npt.NDArray[np.float32] = arr
    return out
