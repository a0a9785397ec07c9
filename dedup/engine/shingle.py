"""Normalized tokens -> sets of word k-gram (shingle) hashes, one sorted set per document (Broder 1997).

A document shorter than k tokens becomes one shingle of all its tokens, so that short texts still compare.
Shingle hashes are 32-bit because that is the input datasketch's `affine32` MinHash scheme expects.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.config import ShingleConfig
from dedup.jit import Int, kernel, radix_sort, spread
from dedup.text.normalize import fmix64
from dedup.text.ragged import Ragged, compact, offsets

__all__ = ["distinct_sorted", "kgram_hashes", "shingle", "shingle_capacity", "shingle_doc"]


@kernel
def _mix32(acc: np.uint64) -> np.uint32:
    return np.uint32(fmix64(acc) >> np.uint64(32))


@kernel
def kgram_hashes(
    tokens: npt.NDArray[np.uint64], lo: Int, n: int, k: int, out: npt.NDArray[np.uint32], base: Int
) -> int:
    """The k-gram hashes of `tokens[lo:lo+n]` in text order, into `out[base:]`; returns how many.

    Room for `shingle_capacity(n, k)` values must be there.
    """
    mult = np.uint64(0x9E3779B97F4A7C15)  # odd: k-gram combination is order-sensitive
    width = k if n >= k else n
    m = n - k + 1 if n >= k else min(n, 1)
    for i in range(m):
        acc = np.uint64(width)
        for j in range(width):
            acc = acc * mult + tokens[lo + i + j]
        out[base + i] = _mix32(acc)
    return m


@kernel
def distinct_sorted(values: npt.NDArray[np.uint32], base: Int, m: int, scratch: npt.NDArray[np.uint32]) -> int:
    """`values[base:base+m]` sorted and distinct in place; returns how many remain (`scratch`: room for `m`)."""
    if m == 0:
        return 0
    seg = values[base : base + m]
    radix_sort(seg, scratch, np.int64(32))
    u = 1
    for i in range(1, m):
        if seg[i] != seg[u - 1]:
            seg[u] = seg[i]
            u += 1
    return u


@kernel
def shingle_doc(
    tokens: npt.NDArray[np.uint64],
    lo: int,
    n: int,
    k: int,
    out: npt.NDArray[np.uint32],
    base: int,
    scratch: npt.NDArray[np.uint32],
) -> int:
    """The k-gram set of `tokens[lo:lo+n]`, sorted and distinct, into `out[base:]`; returns its size.

    Room for `shingle_capacity(n, k)` values must be there, in `out` and in `scratch` (for the sort).
    """
    return distinct_sorted(out, base, kgram_hashes(tokens, lo, n, k, out, base), scratch)


def shingle_capacity(n: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """How many k-grams documents of `n` tokens have (one for a non-empty document shorter than k)."""
    return np.where(n >= k, n - k + 1, np.minimum(n, 1))


@kernel
def _shingle_range(
    tokens: npt.NDArray[np.uint64],
    ptr: npt.NDArray[np.int64],
    k: int,
    room: npt.NDArray[np.int64],
    raw: npt.NDArray[np.uint32],
    sizes: npt.NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    widest = 0
    for d in range(lo, hi):
        widest = max(widest, room[d + 1] - room[d])
    scratch = np.empty(widest, dtype=np.uint32)
    for d in range(lo, hi):
        sizes[d] = shingle_doc(tokens, ptr[d], ptr[d + 1] - ptr[d], k, raw, room[d], scratch)


def shingle(tokens: Ragged[np.uint64], config: ShingleConfig, *, workers: int = 1) -> Ragged[np.uint32]:
    """Hash every word k-gram of each document (a row of token hashes) into a sorted set of uint32."""
    counts = tokens.sizes()
    room = offsets(shingle_capacity(counts, config.k))
    raw = np.empty(int(room[-1]), dtype=np.uint32)
    sizes = np.zeros(len(tokens), dtype=np.int64)
    spread(
        lambda lo, hi: _shingle_range(tokens.values, tokens.ptr, config.k, room, raw, sizes, lo, hi), counts, workers
    )
    return Ragged.from_sizes(compact(raw, room, sizes), sizes)
