"""Connected components of a graph held as a Spark DataFrame of edges, by alternating large-star and small-star
operations (Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii, "Connecting the dots: connected components
in MapReduce and beyond", SoCC 2014): O(log^2 n) rounds, nothing on the driver but a count per round.

Each partition's edges are first contracted to stars by a local union-find (a common preprocessing step: a
component that lies within one partition needs no round at all). Edges are kept oriented from the larger node
to the smaller. Large-star links each node's larger neighbours to the smallest node of its neighbourhood;
small-star links a node and its smaller neighbours to the smallest of them. They end with every component a
star around its smallest node. Each operation is one shuffle (the edges grouped by node) and one pass over each
partition with NumPy; a round is one job, whose count of nodes that are not yet a star's leaf or centre says
whether to go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["components"]

# Edge rows, and one row per partition of a large-star pass counting the nodes that break the star shape.
_EDGES = "u long, v long, unsettled long"


def _edges(batches: Iterable[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    firsts, seconds = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for batch in batches:
        firsts.append(np.asarray(batch.column(0).to_numpy(zero_copy_only=False), dtype=np.int64))
        seconds.append(np.asarray(batch.column(1).to_numpy(zero_copy_only=False), dtype=np.int64))
    return np.concatenate(firsts), np.concatenate(seconds)


def _batch(u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], unsettled: int | None = None) -> Any:
    import pyarrow as pa

    if unsettled is None:
        return pa.RecordBatch.from_arrays(
            [pa.array(u), pa.array(v), pa.nulls(u.shape[0], pa.int64())], names=["u", "v", "unsettled"]
        )
    return pa.RecordBatch.from_arrays(
        [pa.nulls(1, pa.int64()), pa.nulls(1, pa.int64()), pa.array([unsettled], pa.int64())],
        names=["u", "v", "unsettled"],
    )


def _grouped(x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> tuple[Any, ...]:
    # Distinct (x, y) rows sorted by x, then y; the start of each x's run, and the smallest y of each run.
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    keep = np.ones(x.shape[0], dtype=np.bool_)
    keep[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    x, y = x[keep], y[keep]
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]]) if x.shape[0] else np.zeros(0, dtype=np.int64)
    return x, y, starts, y[starts]


def contract(batches: Iterable[Any]) -> Iterator[Any]:
    """A partition's edges `(u, v)` -> each node of them linked to the smallest node of its component within the
    partition (scipy's connected components), as edges in both directions `(x, y)` for `large_star`."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    u, v = _edges(batches)
    if u.shape[0] == 0:
        return
    nodes, index = np.unique(np.concatenate([u, v]), return_inverse=True)
    m = nodes.shape[0]
    graph = sp.coo_matrix((np.ones(u.shape[0], dtype=np.int8), (index[: u.shape[0]], index[u.shape[0] :])), (m, m))
    count, labels = connected_components(graph, directed=False)
    smallest = np.full(count, m, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(m, dtype=np.int64))
    root = nodes[smallest[labels]]
    keep = nodes != root
    yield _batch(np.concatenate([nodes[keep], root[keep]]), np.concatenate([root[keep], nodes[keep]]))


def large_star(batches: Iterable[Any]) -> Iterator[Any]:
    """Edges in both directions `(x, y)`, grouped by `x` -> for each node `x`, each larger neighbour linked to the
    smallest of `x` and its neighbours, oriented `(larger, smaller)`; and this partition's count of nodes
    that have a smaller neighbour and another one (none: the edges were already stars)."""
    x, y, starts, least = _grouped(*_edges(batches))
    if x.shape[0] == 0:
        yield _batch(x, y, 0)
        return
    sizes = np.diff(np.r_[starts, x.shape[0]])
    heads = x[starts]
    smallest = np.minimum(least, heads)
    unsettled = int(((least < heads) & (sizes > 1)).sum())
    link = np.repeat(smallest, sizes)
    larger = y > x
    yield _batch(y[larger], link[larger])
    yield _batch(x[:0], y[:0], unsettled)


def small_star(batches: Iterable[Any]) -> Iterator[Any]:
    """Oriented edges `(u, v)`, `u > v`, grouped by `u` -> `u` and each of its neighbours linked to the smallest
    of them, as edges in both directions `(x, y)` for `large_star`."""
    u, v, starts, least = _grouped(*_edges(batches))
    if u.shape[0] == 0:
        return
    sizes = np.diff(np.r_[starts, u.shape[0]])
    link = np.repeat(least, sizes)
    others = v != link
    first = np.concatenate([v[others], u[starts]])
    second = np.concatenate([link[others], least])
    yield _batch(np.concatenate([first, second]), np.concatenate([second, first]))


def components(edges: Any, parts: int, *, reliable: bool = False) -> Any:
    """`(node, root)` for every node of `edges` (columns `u`, `v`, long): `root` is the smallest node of its
    component. Edges are grouped into `parts` partitions; each round's edges are kept (a lazy checkpoint,
    computed by the round's one job), so the plan stays short: on the executors (a local checkpoint), or with
    `reliable` in the session's checkpoint folder (`SparkContext.setCheckpointDir`), which outlives an
    executor lost mid-scan."""
    from pyspark.sql import functions as sf

    both = edges.mapInArrow(contract, _EDGES).drop("unsettled")
    while True:
        grouped = both.select(sf.col("u").alias("x"), sf.col("v").alias("y")).repartition(parts, "x")
        stars = grouped.mapInArrow(large_star, _EDGES)
        # A local checkpoint lives in executors' storage: losing one fails the job, as no plan remains to
        # compute its blocks again. A reliable one is written to the checkpoint folder.
        stars = stars.checkpoint(eager=False) if reliable else stars.localCheckpoint(eager=False)
        unsettled = stars.agg(sf.sum("unsettled")).first()
        if not unsettled or not unsettled[0]:
            break
        oriented = stars.where("unsettled IS NULL").select("u", "v").repartition(parts, "u")
        both = oriented.mapInArrow(small_star, _EDGES).drop("unsettled")
    # Stars around their smallest node: each leaf points at its centre, and each centre at itself.
    leaves = stars.where("unsettled IS NULL").select(sf.col("u").alias("node"), sf.col("v").alias("root"))
    centres = leaves.select(sf.col("root").alias("node"), "root").distinct()
    return leaves.unionByName(centres)
