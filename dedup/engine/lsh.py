"""Signatures -> candidate pairs by LSH banding (Indyk & Motwani 1998; Leskovec et al., Mining of Massive
Datasets, ch. 3).

The band/row split is datasketch's own choice for the threshold and weights (`MinHashLSH(...).b, .r`), and a
pair is a candidate when datasketch's `MinHashLSH.query` would return it: the two signatures agree on every row
of at least one band. A band is bucketed by the high 32 bits of its 64-bit key (`band_hashes`), as the
crawler index stores it, so two documents may also share a bucket by chance, about once in four billion pairs
of a band. Buckets are grouped with sorts over numpy arrays instead of one dict insert per document and band.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from dedup.config import LSHConfig
from dedup.jit import kernel, spread

__all__ = [
    "KNOWN_BANDS",
    "agreement",
    "band_hashes",
    "band_keys",
    "band_pairs",
    "bands",
    "candidate_pairs",
    "decode_pairs",
    "merge_pairs",
    "sorted_unique",
]


# datasketch's choice for the default settings of both paths (threshold 0.2, 128 permutations, weight 0.8),
# which every scan, index and Spark task starts with: learning it would mean importing datasketch and running a
# numeric optimization in every process. A test checks it against datasketch.
KNOWN_BANDS = {(0.2, 128, 0.8): (56, 2)}


_LOW = np.uint64(0xFFFFFFFF)


@lru_cache(maxsize=32)
def bands(threshold: float, num_perm: int, false_negative_weight: float) -> tuple[int, int]:
    """`(b, r)`: bands and rows per band, as datasketch's `MinHashLSH` chooses them."""
    known = KNOWN_BANDS.get((threshold, num_perm, false_negative_weight))
    if known is not None:
        return known
    from datasketch import MinHashLSH

    weights = (round(1.0 - false_negative_weight, 10), round(false_negative_weight, 10))
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
    return int(lsh.b), int(lsh.r)


@kernel
def _band_keys(signatures: npt.NDArray[np.uint32], b: int, r: int, out: npt.NDArray[np.uint64]) -> None:
    mult = np.uint64(0x9E3779B97F4A7C15)
    for d in range(signatures.shape[0]):
        for band in range(b):
            acc = np.uint64(band + 1)
            for col in range(band * r, (band + 1) * r):
                acc = acc * mult + np.uint64(signatures[d, col])
            acc ^= acc >> np.uint64(31)
            acc *= np.uint64(0xBF58476D1CE4E5B9)
            acc ^= acc >> np.uint64(29)
            out[d, band] = acc


def band_keys(signatures: npt.NDArray[np.uint32], b: int, r: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per (document, band): a hash of the band's `r` signature values and the band's number."""
    out = np.empty((signatures.shape[0], b), dtype=np.uint64)
    if signatures.shape[0]:
        _band_keys(np.ascontiguousarray(signatures), b, r, out)
    return out


def band_hashes(signatures: npt.NDArray[np.uint32], b: int, r: int) -> npt.NDArray[np.uint32]:
    """One 32-bit hash per (document, band), what a bucket groups: the high half of `band_keys`.

    The band is the column, so two documents share a bucket by chance about once in four billion pairs.
    """
    return (band_keys(signatures, b, r) >> np.uint64(32)).astype(np.uint32)


@kernel
def _emit(
    sorted_keys: npt.NDArray[np.uint64],
    rows: npt.NDArray[np.int64],
    row_rank: npt.NDArray[np.int64],
    max_bucket: int,
    width: int,
    out: npt.NDArray[np.int64],
    write: bool,
) -> int:
    # Pairs within each run of equal keys, as codes min * width + max over `rows`. A run longer than
    # max_bucket pairs only its member of lowest rank with the rest: neither depends on the order of the
    # run, so an unstable sort serves.
    n = sorted_keys.shape[0]
    count = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_keys[j] == sorted_keys[i]:
            j += 1
        size = j - i
        if 1 < size <= max_bucket:
            for x in range(i, j):
                for y in range(x + 1, j):
                    if write:
                        u, v = rows[x], rows[y]
                        out[count] = min(u, v) * width + max(u, v)
                    count += 1
        elif size > max_bucket:
            hub = i
            for x in range(i + 1, j):
                if row_rank[x] < row_rank[hub]:
                    hub = x
            for y in range(i, j):
                if y != hub:
                    if write:
                        u, v = rows[hub], rows[y]
                        out[count] = min(u, v) * width + max(u, v)
                    count += 1
        i = j
    return count


@kernel
def _agreement(
    signatures: npt.NDArray[np.uint32], pairs: npt.NDArray[np.int64], out: npt.NDArray[np.float64], lo: int, hi: int
) -> None:
    width = signatures.shape[1]
    for p in range(lo, hi):
        a, b = pairs[p, 0], pairs[p, 1]
        same = 0
        for k in range(width):
            same += signatures[a, k] == signatures[b, k]
        out[p] = same / width


def agreement(
    signatures: npt.NDArray[np.uint32], pairs: npt.NDArray[np.int64], *, workers: int = 1
) -> npt.NDArray[np.float64]:
    """Share of signature positions on which each pair agrees: the MinHash estimate of their Jaccard."""
    out = np.empty(pairs.shape[0], dtype=np.float64)
    weights = np.full(pairs.shape[0], signatures.shape[1], dtype=np.int64)
    spread(lambda lo, hi: _agreement(signatures, pairs, out, lo, hi), weights, workers)
    return out


def band_pairs(
    hashes: npt.NDArray[np.uint32] | npt.NDArray[np.uint64],
    rows: npt.NDArray[np.int64],
    max_bucket: int,
    rank: npt.NDArray[np.int64] | None = None,
    *,
    width: int | None = None,
) -> npt.NDArray[np.int64]:
    """One band's buckets -> pairs of `rows` (ascending; `hashes[i]`, below 2**32, is row `rows[i]`'s bucket, and
    a row may be in several buckets) as codes `min * width + max`, `width = rows[-1] + 1` unless given: every
    pair within a bucket of at most `max_bucket` rows, else the row of lowest `rank[row]` (default: the row
    itself) with each other one (the rule of every engine's candidates).

    Any part of a band that holds its buckets whole (a partition by hash) gives that part's pairs: rows need
    not be ascending when `width` is given."""
    # Each hash with its row in one uint64 (rows are below 2**32 too): a plain sort of these is several times
    # faster than an argsort of the hashes, and leaves each bucket a run.
    packed = np.sort((hashes.astype(np.uint64) << np.uint64(32)) | rows.astype(np.uint64))
    if width is None:
        width = int(rows[-1]) + 1 if rows.shape[0] else 1
    sorted_keys = packed >> np.uint64(32)
    sorted_rows = (packed & _LOW).astype(np.int64)
    row_rank = sorted_rows if rank is None else rank[sorted_rows]
    count = _emit(sorted_keys, sorted_rows, row_rank, max_bucket, width, np.zeros(0, dtype=np.int64), False)
    out = np.empty(count, dtype=np.int64)
    if count:
        _emit(sorted_keys, sorted_rows, row_rank, max_bucket, width, out, True)
    return out


def sorted_unique(*parts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The pair codes of all `parts`, sorted, repeats dropped (several times faster than `np.unique` on millions
    of int64 codes)."""
    joined = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    codes = np.sort(joined)
    if codes.shape[0] < 2:
        return codes
    keep = np.empty(codes.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(codes[1:], codes[:-1], out=keep[1:])
    return codes[keep]


def decode_pairs(codes: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    """Pair codes `min * width + max` back to `(i, j)` rows."""
    return np.stack([codes // width, codes % width], axis=1).astype(np.int64).reshape(-1, 2)


def merge_pairs(*pair_arrays: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Union of pair arrays as sorted, distinct `(i, j)` rows with `i < j`."""
    arrays = [p for p in pair_arrays if p.shape[0]]
    if not arrays:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(arrays), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    # One int64 code per pair: np.unique on a flat array is far faster than on rows.
    width = int(pairs.max()) + 1 if pairs.shape[0] else 1
    return decode_pairs(sorted_unique(pairs[:, 0] * width + pairs[:, 1]), width)


def candidate_pairs(
    signatures: npt.NDArray[np.uint32],
    config: LSHConfig,
    active: npt.NDArray[np.bool_] | None = None,
    rank: npt.NDArray[np.int64] | None = None,
    *,
    workers: int = 1,
) -> npt.NDArray[np.int64]:
    """Pairs `(i, j)`, `i < j`, that share at least one band; rows where `active` is False take no part.

    Within an oversized bucket the row of lowest `rank` (default: row order) is paired with the others, so
    passing a rank that does not depend on input order makes the result independent of it too.
    """
    n, num_perm = signatures.shape
    b, r = bands(config.threshold, num_perm, config.false_negative_weight)
    rows = np.arange(n, dtype=np.int64) if active is None else np.flatnonzero(active).astype(np.int64)
    if rows.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    hashes = np.asfortranarray(band_hashes(signatures[rows], b, r))  # one band a contiguous column
    width = int(rows[-1]) + 1

    def one_band(band: int) -> npt.NDArray[np.int64]:
        return band_pairs(hashes[:, band], rows, config.max_bucket, rank)

    # Sorting and the kernel release the GIL, so bands run side by side.
    with ThreadPoolExecutor(max(1, workers)) as pool:
        found = [f for f in pool.map(one_band, range(b)) if f.shape[0]]
    codes = sorted_unique(*found)
    pairs = decode_pairs(codes, width)
    if config.min_agreement > 0 and pairs.shape[0]:
        pairs = pairs[agreement(signatures, pairs, workers=workers) >= config.min_agreement]
    return pairs
