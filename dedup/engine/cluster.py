"""Confirmed pairs -> clusters: connected components of the pair graph, each with a stable id.

A cluster's relation is `duplicate` when its duplicate pairs alone connect every member (all members share
copied text, directly or through each other), and `rewrite` otherwise. Every document is in at most one
cluster. Ids and member order depend only on document ids, never on input order or worker count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from dedup.config import ClusterConfig
from dedup.engine.confirm import DUPLICATE, REWRITE, ConfirmedPairs
from dedup.jit import kernel

__all__ = ["Clusters", "cluster", "clusters_of", "components", "describe", "join"]


@dataclass(frozen=True)
class Clusters:
    """Clusters over a batch: `label[d]` is the cluster index of document `d`, or -1 when it has none."""

    label: npt.NDArray[np.int64]
    ids: tuple[str, ...]
    relations: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    representatives: tuple[int, ...]


@kernel
def _find(parent: npt.NDArray[np.int64], x: int) -> int:
    # The root of x, halving the path on the way (Tarjan and van Leeuwen 1984).
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@kernel
def _union_all(parent: npt.NDArray[np.int64], pairs: npt.NDArray[np.int64]) -> None:
    # The smaller root always wins, so each component's root is its smallest member.
    for p in range(pairs.shape[0]):
        a = _find(parent, pairs[p, 0])
        b = _find(parent, pairs[p, 1])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    for d in range(parent.shape[0]):
        parent[d] = parent[parent[d]]  # roots precede their members: one pass flattens every path


def components(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected components of `n` rows joined by `pairs`, each row labelled by its component's smallest row:
    union-find over one integer array, so memory is 8 bytes a row whatever the number of pairs.

    >>> components(5, np.array([[3, 1], [4, 3]])).tolist()
    [0, 1, 2, 1, 1]
    """
    parent = np.arange(n, dtype=np.int64)
    join(parent, pairs)
    return parent


def join(parent: npt.NDArray[np.int64], pairs: npt.NDArray[np.int64]) -> None:
    """`parent` (from `components`, or `np.arange(n)`) joined by more `pairs`, in place: `components` over pairs
    given a chunk at a time ends with what it gives over all of them at once.

    >>> parent = components(5, np.array([[3, 1]]))
    >>> join(parent, np.array([[4, 3]]))
    >>> parent.tolist()
    [0, 1, 2, 1, 1]
    """
    if pairs.shape[0]:
        _union_all(parent, np.ascontiguousarray(pairs, dtype=np.int64))


def describe(
    member_ids: Sequence[str], words: Sequence[int], order: Sequence[int], by_duplicates: bool, config: ClusterConfig
) -> tuple[str, str, int]:
    """One component's `(cluster id, relation, representative)`, its members given in id order.

    `words` and `order` (position in the input) are the members'; `by_duplicates` says whether duplicate pairs
    alone connect them. The representative is an index into the members. The rule of every engine's clusters:

    >>> describe(["a", "b"], [10, 30], [1, 0], True, ClusterConfig())
    ('cfcd127ffa101', 'duplicate', 1)
    """
    relation = DUPLICATE if by_duplicates else REWRITE
    members = range(len(member_ids))
    if config.representative == "longest":
        representative = min(members, key=lambda m: (-int(words[m]), member_ids[m]))
    else:
        representative = min(members, key=lambda m: order[m])
    digest = hashlib.sha1("\n".join(member_ids).encode("utf-8")).hexdigest()[:12]
    return f"c{digest}", relation, representative


def cluster(
    confirmed: ConfirmedPairs, doc_ids: Sequence[str], words: npt.NDArray[np.int64], config: ClusterConfig
) -> Clusters:
    """Group documents connected by confirmed pairs; singletons get no cluster."""
    n = len(doc_ids)
    roots = components(n, confirmed.pairs)
    dup_roots = components(n, confirmed.pairs[confirmed.duplicate])
    return clusters_of(roots, dup_roots, doc_ids, words, config)


def clusters_of(
    roots: npt.NDArray[np.int64],
    dup_roots: npt.NDArray[np.int64],
    doc_ids: Sequence[str],
    words: npt.NDArray[np.int64],
    config: ClusterConfig,
) -> Clusters:
    """`cluster` from the `components` of the confirmed pairs (`roots`) and of the duplicate pairs alone
    (`dup_roots`), however they were joined (all at once, or a chunk of pairs at a time)."""
    n = len(doc_ids)
    # The documents in some pair are those of the components with more than one member.
    members_idx = np.flatnonzero(np.bincount(roots, minlength=n)[roots] >= 2) if n else roots
    # Sort clustered documents by (component, document id) so each component is one contiguous run.
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(np.array(doc_ids, dtype=object), kind="stable")] = np.arange(n)
    order = members_idx[np.lexsort((id_rank[members_idx], roots[members_idx]))]
    starts = np.flatnonzero(np.r_[True, roots[order][1:] != roots[order][:-1]]) if order.size else order
    bounds = [*starts.tolist(), int(order.size)]
    found = []
    for lo, hi in pairwise(bounds):
        run = order[lo:hi]
        ordered = [int(d) for d in run]
        cid, relation, rep = describe(
            [doc_ids[d] for d in ordered], words[run].tolist(), ordered, np.unique(dup_roots[run]).size == 1, config
        )
        found.append((doc_ids[ordered[0]], cid, relation, tuple(ordered), ordered[rep]))
    found.sort()
    label = np.full(n, -1, dtype=np.int64)
    for index, (_, _, _, members_t, _) in enumerate(found):
        label[list(members_t)] = index
    return Clusters(
        label=label,
        ids=tuple(f[1] for f in found),
        relations=tuple(f[2] for f in found),
        members=tuple(f[3] for f in found),
        representatives=tuple(f[4] for f in found),
    )
