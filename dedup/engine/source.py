"""Clusters -> their source: which member the others were made from, where the text can tell.

A farm spins one story into many pages; each spin keeps part of the original's specific content (names,
figures, rare words) and drops the rest, and spins share that content with each other only through the
original. So the member that holds the most of what every other member holds is the source. For a member
`d` of a cluster of `k`, its coverage is

    coverage(d) = mean over the other members o of  idf(terms(o) & terms(d)) / idf(terms(o))

(the idf-weighted share of each other member's terms that `d` also has). A caller may lower a member's claim
by a prior: how likely it is to be a spin itself (the content-farm scorer's machine-prose probability). The
best claim is the likeliest source; a scan names it where it leads the next by a clear margin (copies of one
text cover each other alike, and their source cannot be told from the text).

A date, where the input gives one, comes first: when every member of a cluster states when it was published and
one was published at least `DATE_MARGIN` before all the others, it is the source, and the only member that may
be. Otherwise (some members undated, or the earliest dates too close to order) the text decides, as below.

Which member may be the source is a wider question than which is likeliest: a member that no other member
beats on both counts, coverage and (lower) machine-prose probability, is the source under some weighing of the
two, so no spin signal may count against it (a Pareto front, whatever the weight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = [
    "DATE_MARGIN",
    "SPIN_PRIOR_WEIGHT",
    "cluster_sources",
    "coverage",
    "earliest",
    "named_sources",
    "undominated",
]

# How much a member's probability of being machine-written counts against its claim, against coverage (a
# share in [0, 1]). Spins that polish or expand a text keep nearly all of it, so coverage alone often ties them
# with their source or puts them ahead; a spin's machine prose tells them apart more often than its content does
# (bench/results/farm_spins.md), so the prior weighs more than coverage.
SPIN_PRIOR_WEIGHT = 3.0

# How much earlier than every other member a date must be to name the source (seconds): a day, as a date
# without a time stands for any moment of its day, and a time without a zone is read as UTC, hours off.
DATE_MARGIN = 86_400.0


def coverage(
    matrix: sp.csr_matrix, idf: npt.NDArray[np.floating], members: Sequence[Sequence[int]]
) -> npt.NDArray[np.float64]:
    """Each clustered document's coverage of its cluster (module docstring), NaN for documents in no cluster.

    `matrix` has a row per document (any weights: only which terms a row has counts) and `idf` a weight per
    column; `members[c]` are the rows of cluster `c`.

    >>> m = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1]], dtype=np.float32))
    >>> [round(float(x), 3) for x in coverage(m, np.ones(4), [[0, 1, 2]])]
    [0.833, 0.5, 0.583]
    """
    n = matrix.shape[0]
    out = np.full(n, np.nan)
    rows = np.fromiter((d for m in members for d in m), dtype=np.int64)
    if rows.size == 0:
        return out
    label = np.repeat(np.arange(len(members), dtype=np.int64), [len(m) for m in members])
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    present = matrix[rows].tocsr().astype(np.float64)
    present.data[:] = 1.0
    weighted = present.multiply(np.asarray(idf, dtype=np.float64)[None, :]).tocsr()
    totals = np.asarray(weighted.sum(axis=1)).ravel()
    share = sp.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)) @ weighted
    # Per cluster, the sum of its members' normalised term weights; each member then dots its own terms with
    # its cluster's sum, less its own share (1, or 0 for a member with no terms).
    indicator = sp.csr_matrix((np.ones(rows.size), (label, np.arange(rows.size))), shape=(len(members), rows.size))
    summed = (indicator @ share).tocsr()
    summed.sort_indices()
    # Each member's terms looked up in its cluster's sum by (cluster, column) key, rather than the sum copied
    # out once per member (`summed[label]`: a cluster's whole vocabulary times its size, quadratic in the size
    # of a large cluster).
    width = np.int64(matrix.shape[1])
    cluster_keys = np.repeat(np.arange(len(members), dtype=np.int64), np.diff(summed.indptr)) * width + summed.indices
    present.sort_indices()
    member_rows = np.repeat(np.arange(rows.size, dtype=np.int64), np.diff(present.indptr))
    looked_up = summed.data[np.searchsorted(cluster_keys, label[member_rows] * width + present.indices)]
    # Summed as a sparse row sum, in the order the product of `present` with the copied sums was.
    held_terms = sp.csr_matrix((looked_up, present.indices, present.indptr), shape=present.shape)
    held = np.asarray(held_terms.sum(axis=1)).ravel() - (totals > 0)
    out[rows] = held / np.maximum(sizes[label] - 1.0, 1.0)
    return out


def cluster_sources(
    matrix: sp.csr_matrix,
    idf: npt.NDArray[np.floating],
    members: Sequence[Sequence[int]],
    spun: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each cluster's likeliest source (a row of `matrix`), its lead over the next member's claim, and every
    document's claim (coverage less the prior; NaN outside clusters).

    `spun[d]`, when given, is document `d`'s probability of being machine-written, weighed against its claim
    by `SPIN_PRIOR_WEIGHT`. Equal claims go to the member listed first; a caller names the source only where
    the lead is clear.

    >>> m = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [5, 5, 5, 5]], dtype=np.float32))
    >>> best, lead, _ = cluster_sources(m, np.ones(4), [[0, 1, 2], [0, 3]])
    >>> best.tolist(), lead.round(3).tolist()
    ([0, 0], [0.75, 0.0])
    """
    claim = _claim(coverage(matrix, idf, members), spun)
    return (*_ranked(claim, members), claim)


def _claim(cover: npt.NDArray[np.float64], spun: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64]:
    # A member's claim to be the source: its coverage, less the prior weighed by `SPIN_PRIOR_WEIGHT`.
    return cover if spun is None else cover - SPIN_PRIOR_WEIGHT * spun


def _ranked(
    claim: npt.NDArray[np.float64], members: Sequence[Sequence[int]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    # Each cluster's best claim (the first listed among equals) and its lead over the next.
    best = np.zeros(len(members), dtype=np.int64)
    lead = np.zeros(len(members), dtype=np.float64)
    for c, group in enumerate(members):
        rows = np.asarray(group, dtype=np.int64)
        values = claim[rows]
        order = np.argsort(-values, kind="stable")
        best[c] = rows[order[0]]
        lead[c] = values[order[0]] - values[order[1]] if rows.size > 1 else 0.0
    return best, lead


def undominated(
    cover: npt.NDArray[np.float64], spun: npt.NDArray[np.float64], members: Sequence[Sequence[int]]
) -> npt.NDArray[np.bool_]:
    """Per row, whether no other member of its cluster has both a higher coverage and a lower `spun` (False
    outside clusters): the members that are the likeliest source for some weight of the prior.

    >>> undominated(np.array([0.9, 0.5, 0.7, 0.6]), np.array([0.2, 0.1, 0.3, 0.9]), [[0, 1, 2, 3]]).tolist()
    [True, True, False, False]
    """
    out = np.zeros(cover.shape[0], dtype=np.bool_)
    for group in members:
        rows = np.asarray(group, dtype=np.int64)
        order = rows[np.argsort(-cover[rows], kind="stable")]
        # The lowest prior among the members ahead of each one in coverage (ties are not ahead).
        lowest = np.minimum.accumulate(np.concatenate([[np.inf], spun[order]]))[:-1]
        first = np.searchsorted(-cover[order], -cover[order], side="left")
        out[order] = lowest[first] >= spun[order]
    return out


def named_sources(
    matrix: sp.csr_matrix,
    idf: npt.NDArray[np.floating],
    members: Sequence[Sequence[int]],
    margin: float,
    spun: npt.NDArray[np.float64] | None = None,
    published: npt.NDArray[np.float64] | None = None,
) -> tuple[list[int | None], npt.NDArray[np.bool_]]:
    """The rule of every engine: each cluster's source (a row of `matrix`) where its claim leads the next by
    `margin`, else None; and, per row, whether it may be its cluster's source (the likeliest, every member whose
    claim is within `margin` of it and, given `spun`, every member no other beats on both coverage and prior:
    `undominated`), which no spin signal may count against. `published[d]`, when given, is when document `d`
    was published (seconds, NaN where unknown): a cluster whose members all have one and one earliest by
    `DATE_MARGIN` has that one as its source, and as the only member that may be.

    >>> m = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [5, 5, 5, 5]], dtype=np.float32))
    >>> sources, unspun = named_sources(m, np.ones(4), [[0, 1, 2]], margin=0.1)
    >>> sources, unspun.tolist()
    ([0], [True, False, False, False])
    """
    cover = coverage(matrix, idf, members)
    claim = _claim(cover, spun)
    best, lead = _ranked(claim, members)
    sources = [int(row) if gap >= margin else None for row, gap in zip(best.tolist(), lead.tolist(), strict=True)]
    best_claim = np.full(claim.shape[0], np.inf)
    for c, group in enumerate(members):
        best_claim[np.asarray(group, dtype=np.int64)] = claim[best[c]]
    unspun: npt.NDArray[np.bool_] = claim >= best_claim - margin  # NaN outside clusters: False
    if spun is not None:
        unspun |= undominated(cover, spun, members)
    if published is not None:
        for c, group in enumerate(members):
            rows = np.asarray(group, dtype=np.int64)
            first = earliest(published[rows])
            if first is not None:
                sources[c] = int(rows[first])
                unspun[rows] = False
                unspun[rows[first]] = True
    return sources, unspun


def earliest(published: npt.NDArray[np.float64], margin: float = DATE_MARGIN) -> int | None:
    """The index of the date at least `margin` before all the others, or None when there is none or any date is
    unknown (NaN).

    >>> day = DATE_MARGIN
    >>> earliest(np.array([3, 1, 2]) * day), earliest(np.array([1, 1.5]) * day), earliest(np.array([np.nan, 1.0]))
    (1, None, None)
    """
    if published.shape[0] < 2 or np.isnan(published).any():
        return None
    order = np.argsort(published, kind="stable")
    return int(order[0]) if published[order[1]] - published[order[0]] >= margin else None
