"""Normalized tokens -> sets of word k-gram (shingle) hashes, one sorted set per document (Broder 1997).

A document shorter than k tokens becomes one shingle of all its tokens, so that short texts still compare.
Shingle hashes are 32-bit because that is the input datasketch's `affine32` MinHash scheme expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.config import ShingleConfig
from dedup.jit import kernel, radix_sort, spread
from dedup.text.normalize import TokenBatch, fmix64

__all__ = ["SetBatch", "distinct_sorted", "kgram_hashes", "shingle", "shingle_capacity", "shingle_doc"]


@dataclass(frozen=True)
class SetBatch:
    """Sorted, duplicate-free uint32 sets, flat: document `d` owns `values[ptr[d]:ptr[d+1]]`."""

    values: npt.NDArray[np.uint32]
    ptr: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ptr.shape[0] - 1)

    def sizes(self) -> npt.NDArray[np.int64]:
        """Set size per document."""
        return np.diff(self.ptr)

    def of(self, d: int) -> npt.NDArray[np.uint32]:
        """The set of document `d`."""
        return self.values[self.ptr[d] : self.ptr[d + 1]]

    @staticmethod
    def concat(batches: list[SetBatch]) -> SetBatch:
        """Join batches in order."""
        if not batches:
            return SetBatch(np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64))
        values = np.concatenate([b.values for b in batches])
        sizes = np.concatenate([b.sizes() for b in batches])
        ptr = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        return SetBatch(values, ptr)


@kernel
def _mix32(acc: np.uint64) -> np.uint32:
    return np.uint32(fmix64(acc) >> np.uint64(32))


@kernel
def kgram_hashes(
    tokens: npt.NDArray[np.uint64], lo: int, n: int, k: int, out: npt.NDArray[np.uint32], base: int
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
def distinct_sorted(values: npt.NDArray[np.uint32], base: int, m: int, scratch: npt.NDArray[np.uint32]) -> int:
    """`values[base:base+m]` sorted and distinct in place; returns how many remain (`scratch`: room for `m`)."""
    if m == 0:
        return 0
    seg = values[base : base + m]
    radix_sort(seg, scratch, 32)
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


@kernel
def _compact_range(
    raw: npt.NDArray[np.uint32],
    room: npt.NDArray[np.int64],
    ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint32],
    lo: int,
    hi: int,
) -> None:
    for d in range(lo, hi):
        n = ptr[d + 1] - ptr[d]
        out[ptr[d] : ptr[d] + n] = raw[room[d] : room[d] + n]


def shingle(tokens: TokenBatch, config: ShingleConfig, *, workers: int = 1) -> SetBatch:
    """Hash every word k-gram of each document into a sorted set of uint32."""
    counts = tokens.counts()
    room = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(shingle_capacity(counts, config.k), out=room[1:])
    raw = np.empty(int(room[-1]), dtype=np.uint32)
    sizes = np.zeros(len(tokens), dtype=np.int64)
    spread(
        lambda lo, hi: _shingle_range(tokens.hashes, tokens.ptr, config.k, room, raw, sizes, lo, hi), counts, workers
    )
    ptr = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(sizes, out=ptr[1:])
    values = np.empty(int(ptr[-1]), dtype=np.uint32)
    spread(lambda lo, hi: _compact_range(raw, room, ptr, values, lo, hi), sizes, workers)
    return SetBatch(values, ptr)
