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

from dedup.jit import kernel
from dedup.text.ragged import offsets

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
    out = np.full(matrix.shape[0], np.nan)
    rows, ptr = _flat(members)
    if rows.size:
        csr = matrix.tocsr()
        _coverage(csr.indptr, csr.indices, np.asarray(idf, dtype=np.float64), rows, ptr, out)
    return out


def _flat(members: Sequence[Sequence[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    # Clusters as one array of rows and the offsets of each cluster's run in it.
    sizes = np.fromiter((len(m) for m in members), dtype=np.int64, count=len(members))
    rows = np.fromiter((d for m in members for d in m), dtype=np.int64, count=int(sizes.sum()))
    return rows, offsets(sizes)


@kernel
def _coverage(
    indptr: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    idf: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.float64],
) -> None:
    # One cluster at a time: the sum of its members' idf-normalised terms in a dense row (touched columns
    # cleared afterwards, so the work follows the members' terms, not the vocabulary), then each member's terms
    # looked up in it, less the member's own share (1, or 0 for a member with no terms). Two members with the
    # same terms add the same values in the same order, so copies get exactly equal coverage.
    summed = np.zeros(idf.shape[0], dtype=np.float64)
    widest = 0
    for c in range(ptr.shape[0] - 1):
        widest = max(widest, ptr[c + 1] - ptr[c])
    totals = np.empty(widest, dtype=np.float64)
    for c in range(ptr.shape[0] - 1):
        lo, hi = ptr[c], ptr[c + 1]
        for i in range(lo, hi):
            d = rows[i]
            total = 0.0
            for j in range(indptr[d], indptr[d + 1]):
                total += idf[indices[j]]
            totals[i - lo] = total
            if total > 0:
                for j in range(indptr[d], indptr[d + 1]):
                    summed[indices[j]] += idf[indices[j]] / total
        others = max(hi - lo - 1, 1)
        for i in range(lo, hi):
            d = rows[i]
            held = 0.0
            for j in range(indptr[d], indptr[d + 1]):
                held += summed[indices[j]]
            if totals[i - lo] > 0:
                held -= 1.0
            out[d] = held / others
        for i in range(lo, hi):
            d = rows[i]
            for j in range(indptr[d], indptr[d + 1]):
                summed[indices[j]] = 0.0


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
    # Each cluster's best claim (the first listed among equals: the sort is stable) and its lead over the next.
    _, ptr, order = _by_cluster(members, claim)
    sizes = np.diff(ptr)
    best = np.zeros(len(members), dtype=np.int64)
    lead = np.zeros(len(members), dtype=np.float64)
    some, pairs = sizes > 0, sizes > 1
    best[some] = order[ptr[:-1][some]]
    lead[pairs] = claim[best[pairs]] - claim[order[ptr[:-1][pairs] + 1]]
    return best, lead


def _by_cluster(
    members: Sequence[Sequence[int]], value: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    # `_flat`, and the rows again cluster by cluster, each cluster's by `value` descending (stable: equal
    # values keep the members' order).
    rows, ptr = _flat(members)
    label = np.repeat(np.arange(len(members), dtype=np.int64), np.diff(ptr))
    return rows, ptr, rows[np.lexsort((-value[rows], label))]


def undominated(
    cover: npt.NDArray[np.float64], spun: npt.NDArray[np.float64], members: Sequence[Sequence[int]]
) -> npt.NDArray[np.bool_]:
    """Per row, whether no other member of its cluster has both a higher coverage and a lower `spun` (False
    outside clusters): the members that are the likeliest source for some weight of the prior.

    >>> undominated(np.array([0.9, 0.5, 0.7, 0.6]), np.array([0.2, 0.1, 0.3, 0.9]), [[0, 1, 2, 3]]).tolist()
    [True, True, False, False]
    """
    out = np.zeros(cover.shape[0], dtype=np.bool_)
    _, ptr, order = _by_cluster(members, cover)
    _undominated(cover, spun, order, ptr, out)
    return out


@kernel
def _undominated(
    cover: npt.NDArray[np.float64],
    spun: npt.NDArray[np.float64],
    order: npt.NDArray[np.int64],
    ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.bool_],
) -> None:
    # `order`: each cluster's rows by coverage, descending. Walking down it, the lowest prior among the members
    # strictly ahead (ties are not ahead).
    for c in range(ptr.shape[0] - 1):
        lowest = np.inf
        i = ptr[c]
        while i < ptr[c + 1]:
            j = i
            while j < ptr[c + 1] and cover[order[j]] == cover[order[i]]:
                j += 1
            for x in range(i, j):
                out[order[x]] = lowest >= spun[order[x]]
            for x in range(i, j):
                lowest = min(lowest, spun[order[x]])
            i = j


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
    rows, ptr = _flat(members)
    best_claim[rows] = np.repeat(claim[best], np.diff(ptr))
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
