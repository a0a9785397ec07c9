"""Confirmed pairs -> clusters: connected components by union-find (Tarjan 1975), each with a stable id.

A cluster's relation is `duplicate` when its duplicate pairs alone connect every member (all members share
copied text, directly or through each other), and `rewrite` otherwise. Every document is in at most one
cluster. Ids and member order depend only on document ids, never on input order or worker count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.config import ClusterConfig
from dedup.confirm import DUPLICATE, REWRITE, ConfirmedPairs

__all__ = ["Clusters", "cluster"]


@dataclass(frozen=True)
class Clusters:
    """Clusters over a batch: `label[d]` is the cluster index of document `d`, or -1 when it has none."""

    label: npt.NDArray[np.int64]
    ids: tuple[str, ...]
    relations: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    representatives: tuple[int, ...]


def _components(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    # Union-find with path halving; each root is its component's smallest index.
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(x) for x in range(n)], dtype=np.int64)


def cluster(
    confirmed: ConfirmedPairs, doc_ids: Sequence[str], words: npt.NDArray[np.int64], config: ClusterConfig
) -> Clusters:
    """Group documents connected by confirmed pairs; singletons get no cluster."""
    n = len(doc_ids)
    roots = _components(n, confirmed.pairs)
    dup_roots = _components(n, confirmed.pairs[confirmed.duplicate])
    in_pair = np.zeros(n, dtype=bool)
    in_pair[confirmed.pairs.ravel()] = True
    groups: dict[int, list[int]] = {}
    for d in np.flatnonzero(in_pair).tolist():
        groups.setdefault(int(roots[d]), []).append(d)
    found = []
    for members in groups.values():
        ordered = sorted(members, key=lambda d: doc_ids[d])
        relation = DUPLICATE if len({int(dup_roots[d]) for d in members}) == 1 else REWRITE
        if config.representative == "longest":
            representative = min(members, key=lambda d: (-int(words[d]), doc_ids[d]))
        else:
            representative = min(members)
        digest = hashlib.sha1("\n".join(doc_ids[d] for d in ordered).encode("utf-8")).hexdigest()[:12]
        found.append((doc_ids[ordered[0]], f"c{digest}", relation, tuple(ordered), representative))
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
