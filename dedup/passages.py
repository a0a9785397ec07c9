"""Shingle sequences -> passage anchors -> candidate pairs: the path for copied passages (winnowing; Schleimer,
Wilkerson and Aiken 2003).

Jaccard bands find documents that share a good part of both their shingle sets; an excerpt, a teaser or a
quoted paragraph is a small part of the larger document, so its Jaccard with it is small too (a tenth of an
article: about 0.1) and bands miss it as often as not. Winnowing picks, in every window of `window`
consecutive shingle hashes, the smallest (the rightmost of equals): a passage of `window + k - 1` words that two
documents share then gives both the same pick, whatever surrounds it. Those picks, a document's anchors, are
bucketed like band keys: two documents sharing one are a candidate, and confirmation measures the containment.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup._jit import kernel
from dedup.lsh import band_pairs, decode_pairs, sorted_unique
from dedup.shingle import SetBatch

__all__ = ["anchor_pairs", "winnow"]


@kernel
def winnow(
    hashes: npt.NDArray[np.uint32],
    lo: int,
    m: int,
    window: int,
    out: npt.NDArray[np.uint32],
    base: int,
    queue: npt.NDArray[np.int64],
) -> int:
    """The anchors of the k-gram hashes `hashes[lo:lo+m]` (in text order), into `out[base:]`; returns how many
    (in text order, a value may repeat). A sequence shorter than a window has one anchor, its minimum.

    Room for `m` values must be there, in `out` and in `queue`.
    """
    if m == 0 or window == 0:
        return 0
    span = min(window, m)
    # Positions whose hashes rise strictly from head to tail: the head is the window's rightmost minimum.
    head = 0
    tail = 0
    count = 0
    last = -1
    for i in range(m):
        h = hashes[lo + i]
        while tail > head and hashes[lo + queue[tail - 1]] >= h:
            tail -= 1
        queue[tail] = i
        tail += 1
        if queue[head] <= i - span:
            head += 1
        if i >= span - 1 and queue[head] != last:
            last = queue[head]
            out[base + count] = hashes[lo + last]
            count += 1
    return count


def anchor_pairs(
    anchors: SetBatch,
    max_bucket: int,
    active: npt.NDArray[np.bool_] | None = None,
    rank: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Pairs `(i, j)`, `i < j`, of documents sharing an anchor; rows where `active` is False take no part.

    Buckets are those of band keys (`lsh.band_pairs`): one of more than `max_bucket` documents (a phrase of
    site furniture) pairs only its member of lowest `rank` with the others.
    """
    n = len(anchors)
    owner = np.repeat(np.arange(n, dtype=np.int64), anchors.sizes())
    keep = np.ones(owner.shape[0], dtype=np.bool_) if active is None else active[owner]
    rows = owner[keep]
    if rows.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    keys = anchors.values[keep].astype(np.uint64)
    codes = band_pairs(keys, rows, rows if rank is None else rank[rows], max_bucket)
    return decode_pairs(sorted_unique(codes), int(rows[-1]) + 1)
