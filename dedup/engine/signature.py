"""Sets of uint32 -> MinHash signatures (Broder 1997), bit-for-bit those of datasketch's `affine32` scheme.

`minhash(sets)[d]` equals `datasketch.MinHash(num_perm, seed, hashfunc=int).update_batch(set_d).hashvalues`:
each value is pre-mixed with the MurmurHash3 32-bit finalizer, then permuted by `a * h + b mod 2**32` with
datasketch's seeded `(a, b)`, and the minimum kept per permutation. An empty set gets the all-ones signature,
as in datasketch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from dedup.config import SignatureConfig
from dedup.jit import Int, kernel, spread
from dedup.text.ragged import Ragged

__all__ = ["EMPTY", "minhash", "minhash_row", "permutations"]

EMPTY = np.uint32(0xFFFFFFFF)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The `(a, b)` datasketch draws for `affine32` with this `num_perm` and `seed` (`a` odd)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


@kernel
def minhash_row(
    values: npt.NDArray[np.uint32],
    lo: Int,
    hi: Int,
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    row: npt.NDArray[np.uint32],
) -> None:
    """The signature of the set `values[lo:hi]` into `row`."""
    num_perm = a.shape[0]
    for p in range(num_perm):
        row[p] = np.uint32(0xFFFFFFFF)
    for i in range(lo, hi):
        # MurmurHash3 fmix32, as datasketch applies before the affine permutations. numba widens
        # integer arithmetic, so every step is cut back to 32 bits explicitly.
        h = np.uint64(values[i])
        h ^= h >> np.uint64(16)
        h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
        h ^= h >> np.uint64(13)
        h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
        h ^= h >> np.uint64(16)
        h32 = np.uint32(h)
        for p in range(num_perm):
            v = np.uint32(a[p] * h32 + b[p])
            row[p] = min(row[p], v)


@kernel
def _minhash_range(
    values: npt.NDArray[np.uint32],
    ptr: npt.NDArray[np.int64],
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    out: npt.NDArray[np.uint32],
    lo: int,
    hi: int,
) -> None:
    for d in range(lo, hi):
        minhash_row(values, ptr[d], ptr[d + 1], a, b, out[d])


def minhash(sets: Ragged[np.uint32], config: SignatureConfig, *, workers: int = 1) -> npt.NDArray[np.uint32]:
    """One signature row (uint32, `num_perm` wide) per set."""
    a, b = permutations(config.num_perm, config.seed)
    out = np.empty((len(sets), config.num_perm), dtype=np.uint32)
    spread(lambda lo, hi: _minhash_range(sets.values, sets.ptr, a, b, out, lo, hi), sets.sizes() + 1, workers)
    return out
