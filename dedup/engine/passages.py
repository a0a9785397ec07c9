"""Shingle sequences -> passage anchors -> candidate pairs: the path for copied passages (winnowing; Schleimer,
Wilkerson and Aiken 2003).

Jaccard bands find documents that share a good part of both their shingle sets; an excerpt, a teaser or a quoted
paragraph is a small part of the larger document, so its Jaccard with it is small too (a tenth of an article: about
0.1), and bands miss many of them (bench/quality.py counts how many). Winnowing picks, in every window of `window`
consecutive shingle hashes, the smallest (the rightmost of equals): a passage of `window + k - 1` words that two
documents share then gives both the same pick, whatever surrounds it. Those picks, a document's anchors, are
bucketed like band hashes: two documents sharing `SHARED` of them (or all of the smaller one's) are a candidate, and
confirmation measures the containment.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.engine.lsh import band_pairs, decode_pairs
from dedup.jit import Int, kernel
from dedup.text.ragged import Ragged

__all__ = ["SHARED", "anchor_pairs", "enough", "winnow"]

# Anchors two documents must share to be compared (or all of the smaller one's, when it has fewer). An excerpt
# shares every anchor it has with its source (each of its windows is one of the source's), whereas one
# sentence two articles quote, or the opening two model continuations of one prompt share, gives one: asking for
# two keeps the excerpts and drops most pairs that share a single quote.
SHARED = 2


@kernel
def winnow(
    hashes: npt.NDArray[np.uint32],
    lo: Int,
    m: int,
    window: int,
    out: npt.NDArray[np.uint32],
    base: Int,
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
    anchors: Ragged[np.uint32],
    max_bucket: int,
    active: npt.NDArray[np.bool_] | None = None,
    rank: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Pairs `(i, j)`, `i < j`, of documents sharing `SHARED` anchors, or all the anchors of the one with fewer;
    rows where `active` is False take no part.

    Buckets follow the bands' rule (`lsh.band_pairs`): one of more than `max_bucket` documents (a
    phrase of site furniture) pairs only its member of lowest `rank` with the others.
    """
    n = len(anchors)
    sizes = anchors.sizes()
    owner = np.repeat(np.arange(n, dtype=np.int64), sizes)
    keep = np.ones(owner.shape[0], dtype=np.bool_) if active is None else active[owner]
    rows = owner[keep]
    if rows.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    # Anchors are bucketed as one band's hashes are; a document's anchors are distinct, so it is in a bucket once.
    codes = np.sort(band_pairs(anchors.values[keep], rows, max_bucket, rank))
    width = int(rows[-1]) + 1
    # A pair comes out of each bucket the two share: the length of its run is how many anchors they share.
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if codes.shape[0] else codes
    shared = np.diff(np.r_[starts, codes.shape[0]])
    pairs = decode_pairs(codes[starts], width)
    kept: npt.NDArray[np.int64] = pairs[shared >= enough(sizes[pairs[:, 0]], sizes[pairs[:, 1]])]
    return kept


def enough(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """How many anchors documents with `a` and `b` anchors must share to be a candidate: `SHARED`, or all of
    the smaller document's when it has fewer.

    >>> enough(np.array([30, 1, 0]), np.array([40, 30, 5])).tolist()
    [2, 1, 0]
    """
    need: npt.NDArray[np.int64] = np.minimum(SHARED, np.minimum(a, b))
    return need
