"""Candidate pairs -> confirmed pairs with their relation: `duplicate` (copied text) or `rewrite` (reworded).

Every candidate, from either LSH path, is measured three ways: exact shingle Jaccard, shingle containment
(overlap over the smaller set, which catches excerpts and wrapped copies that Jaccard misses; Broder 1997),
and TF-IDF cosine. Shared shingles mean copied text, unless only a part is shared by documents about
different things (a site template); a high cosine without them means the same content in other words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.config import ConfirmConfig
from dedup.jit import kernel, spread
from dedup.model import DUPLICATE, REWRITE
from dedup.text.ragged import Ragged

__all__ = ["DUPLICATE", "REWRITE", "ConfirmedPairs", "classify", "overlaps"]


@kernel
def _intersect(values: npt.NDArray[np.uint32], ptr: npt.NDArray[np.int64], a: int, b: int) -> int:
    # A merge of two sorted sets without branches on the values: which side advances is data, so the
    # CPU never mispredicts a branch on random hashes, as it would with if/elif.
    i, i_end = ptr[a], ptr[a + 1]
    j, j_end = ptr[b], ptr[b + 1]
    count = 0
    while i < i_end and j < j_end:
        x = values[i]
        y = values[j]
        count += x == y
        i += x <= y
        j += y <= x
    return count


@kernel
def _overlaps(
    values: npt.NDArray[np.uint32],
    ptr: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    for p in range(lo, hi):
        out[p] = _intersect(values, ptr, pairs[p, 0], pairs[p, 1])


def overlaps(
    sets: Ragged[np.uint32], pairs: npt.NDArray[np.int64], *, workers: int = 1
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact `(jaccard, containment)` of each pair's sets; containment is overlap over the smaller set."""
    inter = np.zeros(pairs.shape[0], dtype=np.int64)
    sizes = sets.sizes()
    weights = sizes[pairs[:, 0]] + sizes[pairs[:, 1]] if pairs.shape[0] else np.zeros(0, dtype=np.int64)
    spread(lambda lo, hi: _overlaps(sets.values, sets.ptr, pairs, inter, lo, hi), weights, workers)
    size_a, size_b = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    union = size_a + size_b - inter
    smaller = np.minimum(size_a, size_b)
    jaccard = np.divide(inter, union, out=np.zeros(inter.shape[0]), where=union > 0)
    containment = np.divide(inter, smaller, out=np.zeros(inter.shape[0]), where=smaller > 0)
    return jaccard, containment


@dataclass(frozen=True)
class ConfirmedPairs:
    """Pairs that passed confirmation, as parallel arrays (row indices into the batch)."""

    pairs: npt.NDArray[np.int64]
    duplicate: npt.NDArray[np.bool_]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    cosine: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.pairs.shape[0])


def classify(
    pairs: npt.NDArray[np.int64],
    jaccard: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    cosine: npt.NDArray[np.float64],
    config: ConfirmConfig,
) -> ConfirmedPairs:
    """Keep the pairs that are duplicates or rewrites under `config`, and say which."""
    # Text shared by documents about different things is a template (a site's header and footer), not a copy.
    partial = (containment >= config.duplicate_containment) & (cosine >= config.rewrite_cosine)
    copied = (jaccard >= config.duplicate_jaccard) | (containment >= config.excerpt_containment) | partial
    duplicate = copied & (cosine >= config.duplicate_cosine)
    keep = duplicate | (cosine >= config.rewrite_cosine)
    return ConfirmedPairs(pairs[keep], duplicate[keep], jaccard[keep], containment[keep], cosine[keep])
