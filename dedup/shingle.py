"""Normalized tokens -> sets of word k-gram (shingle) hashes, one sorted set per document (Broder 1997).

A document shorter than k tokens becomes one shingle of all its tokens, so that short texts still compare.
Shingle hashes are 32-bit because that is the input datasketch's `affine32` MinHash scheme expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup._jit import kernel, parallel_kernel, prange
from dedup.config import ShingleConfig
from dedup.normalize import TokenBatch

__all__ = ["SetBatch", "shingle"]


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
    acc ^= acc >> np.uint64(33)
    acc *= np.uint64(0xFF51AFD7ED558CCD)
    acc ^= acc >> np.uint64(33)
    acc *= np.uint64(0xC4CEB9FE1A85EC53)
    acc ^= acc >> np.uint64(33)
    return np.uint32(acc >> np.uint64(32))


@parallel_kernel
def _shingle_kernel(
    tokens: npt.NDArray[np.uint64],
    ptr: npt.NDArray[np.int64],
    k: int,
    raw_ptr: npt.NDArray[np.int64],
    raw: npt.NDArray[np.uint32],
    unique_counts: npt.NDArray[np.int64],
) -> None:
    mult = np.uint64(0x9E3779B97F4A7C15)  # odd: k-gram combination is order-sensitive
    for d in prange(ptr.shape[0] - 1):
        lo = ptr[d]
        n = ptr[d + 1] - lo
        out = raw_ptr[d]
        m = raw_ptr[d + 1] - out
        for i in range(m):
            width = k if n >= k else n
            acc = np.uint64(width)
            for j in range(width):
                acc = acc * mult + tokens[lo + i + j]
            raw[out + i] = _mix32(acc)
        if m > 0:
            seg = np.sort(raw[out : out + m])
            u = 1
            for i in range(1, m):
                if seg[i] != seg[i - 1]:
                    seg[u] = seg[i]
                    u += 1
            raw[out : out + u] = seg[:u]
            unique_counts[d] = u
        else:
            unique_counts[d] = 0


@parallel_kernel
def _compact(
    raw: npt.NDArray[np.uint32],
    raw_ptr: npt.NDArray[np.int64],
    ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint32],
) -> None:
    for d in prange(ptr.shape[0] - 1):
        n = ptr[d + 1] - ptr[d]
        out[ptr[d] : ptr[d] + n] = raw[raw_ptr[d] : raw_ptr[d] + n]


def shingle(tokens: TokenBatch, config: ShingleConfig) -> SetBatch:
    """Hash every word k-gram of each document into a sorted set of uint32."""
    counts = tokens.counts()
    raw_sizes = np.where(counts >= config.k, counts - config.k + 1, np.minimum(counts, 1))
    raw_ptr = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(raw_sizes, out=raw_ptr[1:])
    raw = np.empty(int(raw_ptr[-1]), dtype=np.uint32)
    unique_counts = np.zeros(len(tokens), dtype=np.int64)
    _shingle_kernel(tokens.hashes, tokens.ptr, config.k, raw_ptr, raw, unique_counts)
    ptr = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(unique_counts, out=ptr[1:])
    values = np.empty(int(ptr[-1]), dtype=np.uint32)
    _compact(raw, raw_ptr, ptr, values)
    return SetBatch(values, ptr)
